"""The Refinement-Net: jointly refines the hallucinated HDR with the intermediate images."""

from __future__ import annotations

import math

import keras
from keras import ops

from singlehdr_tf.layers import DEFAULT_GAMMA, clip_mask
from singlehdr_tf.metrics import LOG_FLOOR
from singlehdr_tf.models.unet import UNet

LOG_OFFSET = LOG_FLOOR
"""``e`` of the Refinement-Net's domain ``log(e + x)``: the evaluation's log floor 2^-10, exact in float16."""

MAX_LOG_HDR = math.log(LOG_OFFSET + 65504.0)
"""Upper bound of ``log(e + refined)``: keeps the output finite and within float16 (half EXR)."""


def to_log_hdr(hdr):
    """``log(e + max(hdr, 0))`` with ``e`` = :data:`LOG_OFFSET`."""
    return ops.log(LOG_OFFSET + ops.relu(hdr))


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class RefinementNet(keras.layers.Layer):
    """``call(hallucinated, linear, dequantized) -> refined``, all ``[B, H, W, 3]``.

    Works in the ``log(e + x)`` domain, ``e = 2^-10``: HDR values span many orders of magnitude,
    and a U-Net on linear values would see inputs of 1e3 next to 1e-3 (unstable and dominated by
    the highlights). In this domain the residual is a *relative* correction at every brightness
    down to ``e``, so ``refined = exp(clip(log(e + hallucinated) + UNet(...), log(e), log(e + 65504))) - e``
    is >= 0 and finite by construction. (In ``log(1 + x)`` the residual would be an *absolute*
    correction below ~0.1: a residual of 0.002 is nothing there but two stops at a value of 0.001.)
    ``e`` is the evaluation's log floor: darker values are all "black" to it. The U-Net sees
    ``[log(e + hallucinated), log(e + linear), dequantized]``.

    Where the input clipped (the soft mask of :func:`singlehdr_tf.layers.clip_mask` on ``linear``,
    threshold ``gamma``) the residual is blended to its mean over the channels: a brightness
    correction only, so the hue the Hallucination-Net gave the restored light is kept (a clipped
    neutral highlight stays neutral; a per-channel correction there would tint it).

    A ``keras.layers.Layer``, not a ``keras.Model``: Keras 3 gives every Model a one-input default
    SavedModel signature, which fails for this three-input call when the whole model is exported.

    Example:
        >>> net = RefinementNet(filters=(4, 8), kernel_sizes=(3, 3))
        >>> x = keras.ops.ones((1, 5, 6, 3))
        >>> tuple(net(x, x, x).shape)
        (1, 5, 6, 3)
    """

    def __init__(self, filters=(16, 32, 64, 128, 128), kernel_sizes=(7, 5, 3, 3, 3), gamma: float = DEFAULT_GAMMA,
                 **kwargs):
        super().__init__(**kwargs)
        self.filters = tuple(int(f) for f in filters)
        self.kernel_sizes = tuple(int(k) for k in kernel_sizes)
        self.gamma = float(gamma)
        self.unet = UNet(self.filters, self.kernel_sizes, output_channels=3, name="unet")

    def call(self, hallucinated, linear, dequantized):
        log_hallucinated = to_log_hdr(ops.cast(hallucinated, "float32"))
        features = ops.concatenate(
            [log_hallucinated, to_log_hdr(ops.cast(linear, "float32")), ops.cast(dequantized, "float32")], axis=-1)
        residual = self.unet(features)
        mask = clip_mask(linear, self.gamma)
        residual = residual + mask * (ops.mean(residual, axis=-1, keepdims=True) - residual)
        log_refined = ops.clip(log_hallucinated + residual, math.log(LOG_OFFSET), MAX_LOG_HDR)
        return ops.relu(ops.exp(log_refined) - LOG_OFFSET)

    def get_config(self):
        config = super().get_config()
        config.update(filters=list(self.filters), kernel_sizes=list(self.kernel_sizes), gamma=self.gamma)
        return config
