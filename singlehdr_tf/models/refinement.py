"""The Refinement-Net: jointly refines the hallucinated HDR with the intermediate images."""

from __future__ import annotations

import math

import keras
from keras import ops

from singlehdr_tf.models.unet import UNet

MAX_LOG_HDR = math.log1p(65504.0)
"""Upper bound of ``log(1 + refined)``: keeps the output finite and within float16 (half EXR)."""


def to_log_hdr(hdr):
    """``log(1 + max(hdr, 0))``: linear below 1, logarithmic above (written as log(1 + x), which
    converts to a TFLite builtin where log1p does not)."""
    return ops.log(1.0 + ops.relu(hdr))


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class RefinementNet(keras.layers.Layer):
    """``call(hallucinated, linear, dequantized) -> refined``, all ``[B, H, W, 3]``.

    Works in the ``log(1 + x)`` domain: HDR values span several orders of magnitude, and a U-Net on
    linear values would see inputs of 1e3 next to 1e-3 (unstable and dominated by the highlights);
    in ``log(1 + x)`` they span [0, ~7], the residual becomes a relative correction, and
    ``refined = exp(clip(log(1 + hallucinated) + UNet(...), 0, log(1 + 65504))) - 1`` is >= 0 and
    finite by construction. The U-Net sees ``[log(1 + hallucinated), log(1 + linear), dequantized]``.

    A ``keras.layers.Layer``, not a ``keras.Model``: Keras 3 gives every Model a one-input default
    SavedModel signature, which fails for this three-input call when the whole model is exported.

    Example:
        >>> net = RefinementNet(filters=(4, 8), kernel_sizes=(3, 3))
        >>> x = keras.ops.ones((1, 5, 6, 3))
        >>> tuple(net(x, x, x).shape)
        (1, 5, 6, 3)
    """

    def __init__(self, filters=(16, 32, 64, 128, 128), kernel_sizes=(7, 5, 3, 3, 3), **kwargs):
        super().__init__(**kwargs)
        self.filters = tuple(int(f) for f in filters)
        self.kernel_sizes = tuple(int(k) for k in kernel_sizes)
        self.unet = UNet(self.filters, self.kernel_sizes, output_channels=3, name="unet")

    def call(self, hallucinated, linear, dequantized):
        log_hallucinated = to_log_hdr(ops.cast(hallucinated, "float32"))
        features = ops.concatenate(
            [log_hallucinated, to_log_hdr(ops.cast(linear, "float32")), ops.cast(dequantized, "float32")], axis=-1)
        log_refined = ops.clip(log_hallucinated + self.unet(features), 0.0, MAX_LOG_HDR)
        return ops.exp(log_refined) - 1.0

    def get_config(self):
        config = super().get_config()
        config.update(filters=list(self.filters), kernel_sizes=list(self.kernel_sizes))
        return config
