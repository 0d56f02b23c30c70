"""The soft over-exposure mask and the positive-residual blend of the Hallucination-Net."""

from __future__ import annotations

import keras
from keras import ops

DEFAULT_GAMMA = 0.88
"""Mask threshold on the *linear* image. The reference code uses 0.88 (``thr = 0.12``) on the
linearized image, the paper quotes 0.95; 0.88 linear is 0.94-0.95 after a typical gamma-2.2
response, so both mark the same pixels and 0.88 is the value for the linear domain the mask is
computed in (and the one the published results were trained with)."""


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
    """``hallucinated = linear + clip_mask(linear) * relu(residual)``: highlight detail is only
    ever added, and only where the input is near clipping (``max_c linear >= gamma``).

    ``call(linear [B, H, W, 3], residual [B, H, W, 3]) -> [B, H, W, 3]``, no weights.

    Example:
        >>> blend = PositiveResidualBlend(gamma=0.9)
        >>> float(blend(keras.ops.full((1, 1, 1, 3), 1.0), keras.ops.full((1, 1, 1, 3), 2.0))[0, 0, 0, 0])
        3.0
    """

    def __init__(self, gamma: float = DEFAULT_GAMMA, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= gamma < 1.0:
            raise ValueError(f"gamma must be in [0, 1), got {gamma}")
        self.gamma = float(gamma)

    def call(self, linear, residual):
        linear = ops.cast(linear, "float32")
        return linear + clip_mask(linear, self.gamma) * ops.relu(residual)

    def compute_output_shape(self, linear_shape, residual_shape):
        return tuple(linear_shape)

    def get_config(self):
        config = super().get_config()
        config.update(gamma=self.gamma)
        return config
