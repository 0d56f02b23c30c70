"""The soft over-exposure mask and the positive-residual blend of the Hallucination-Net."""

from __future__ import annotations

import keras
from keras import ops

DEFAULT_GAMMA = 0.88
"""Mask threshold on the *linear* image. The reference code uses 0.88 (``thr = 0.12``) on the
linearized image, the paper quotes 0.95; 0.88 linear is 0.94-0.95 after a typical gamma-2.2
response, so both mark the same pixels and 0.88 is the value for the linear domain the mask is
computed in (and the one the published results were trained with)."""


CHROMA_FLOOR = 1e-6
"""Smallest brightest-channel value divided by in the chroma (the mask is 0 there anyway)."""


def clip_mask(linear, gamma: float = DEFAULT_GAMMA):
    """Soft over-exposure mask ``alpha = clip((max_c I - gamma) / (1 - gamma), 0, 1)``,
    ``[B, H, W, C] -> [B, H, W, 1]``.

    The maximum over channels (as in the reference code and HDR-CNN) makes a pixel with one
    clipped channel a highlight in all channels, so the hue there can be corrected too.
    """
    brightest = ops.max(ops.cast(linear, "float32"), axis=-1, keepdims=True)
    return ops.clip((brightest - gamma) / (1.0 - gamma), 0.0, 1.0)


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class PositiveResidualBlend(keras.layers.Layer):
    """``hallucinated = linear + clip_mask(linear) * relu(gain) * chroma(linear)``: highlight
    detail is only ever added, only where the input is near clipping (``max_c linear >= gamma``),
    and only as a brightness gain on the colour that survived clipping.

    ``chroma = linear / max_c linear`` (1 in the brightest channel), so the added light has the
    hue of the pixel as recorded, and a pixel clipped in all channels gets neutral light: the net
    cannot invent a colour cast in clipped regions (a per-channel residual did: pink skies).

    ``call(linear [B, H, W, 3], gain [B, H, W, 1]) -> [B, H, W, 3]``, no weights.

    Example:
        >>> blend = PositiveResidualBlend(gamma=0.9)
        >>> [float(v) for v in blend(keras.ops.full((1, 1, 1, 3), 1.0), keras.ops.full((1, 1, 1, 1), 2.0))[0, 0, 0]]
        [3.0, 3.0, 3.0]
    """

    def __init__(self, gamma: float = DEFAULT_GAMMA, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= gamma < 1.0:
            raise ValueError(f"gamma must be in [0, 1), got {gamma}")
        self.gamma = float(gamma)

    def call(self, linear, gain):
        linear = ops.cast(linear, "float32")
        brightest = ops.max(linear, axis=-1, keepdims=True)
        chroma = linear / ops.maximum(brightest, CHROMA_FLOOR)
        return linear + clip_mask(linear, self.gamma) * ops.relu(ops.cast(gain, "float32")) * chroma

    def compute_output_shape(self, linear_shape, gain_shape):
        return tuple(linear_shape)

    def get_config(self):
        config = super().get_config()
        config.update(gamma=self.gamma)
        return config
