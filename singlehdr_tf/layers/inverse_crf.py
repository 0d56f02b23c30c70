"""``InverseCRF``: inverse-EMoR weights to a monotone inverse response curve, applied to an image."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from singlehdr_tf import crf


def float16_split(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` (float32, within float16's range) as ``(high, low)``: ``high + low == values``
    exactly in float32, ``high`` is exact in float16 and ``|low| <= 2**-11 * |values|`` (``2**-25``
    below float16's normal range). Storing both as float16 keeps ``values`` to about ``2**-22``
    relative (``6e-8`` for values up to 1, float32's own rounding) where storing ``values`` itself
    loses up to ``2**-11``."""
    values = np.asarray(values, np.float32)
    high = values.astype(np.float16).astype(np.float32)
    return high, values - high


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class InverseCRF(keras.layers.Layer):
    """``g = P(g0 + w @ H)`` from weights ``w`` ``[B, K]``, with the prior curve ``g0`` and first
    ``K`` components ``H`` of the curve basis ``basis`` (constants, not weights;
    :func:`singlehdr_tf.crf.load_curve_basis`: the paper's inverse-EMoR model, or ``camera``,
    refitted on DoRF and modern encodings) and the monotonic projection ``P``
    (:func:`singlehdr_tf.crf.monotonic_projection`); then ``linear = g(image)`` by linear
    interpolation (:func:`singlehdr_tf.crf.apply_curve`).

    ``call(crf_weights [B, K], images [B, H, W, C]) -> (inverse_crf [B, 1024], linear [B, H, W, C])``.
    The curve is non-decreasing with ``g(0) = 0`` and ``g(1) = 1`` for any finite weights.

    ``shrinkage`` ``s`` in [0, 1] blends the curve with a fallback curve ``f``:
    ``g = s P(g0 + w @ H) + (1 - s) f``, ``f`` the prior ``g0`` or, with ``shrink_toward`` (a name
    of :data:`singlehdr_tf.crf.FIXED_INVERSE_CURVES`), a fixed curve ``F`` such as inverse sRGB, the
    standard encoding most modern cameras start from, or with ``shrink_toward_share`` ``t`` < 1 the
    mix ``f = t F + (1 - t) P(g0)`` (modern encodings sit near ``F``, film-era camera curves near
    ``g0``; a fallback between them can serve both). Training uses ``s = 1``; a shipped model is exported
    with the fallback and strength measured on held-out scenes (``tools/choose_curve_shrinkage.py``),
    so it can never be much worse than its fallback. The blend
    is of the two curves, not of the weights: a blend of two non-decreasing curves from 0 to 1 is
    one, and its squared error to any true curve is convex in ``s`` (scaling the weights before
    ``P``, ``P(g0 + s w @ H)``, gives curves that need not lie between the two).

    The constants are kept as float16-exact high parts plus small low parts
    (:func:`float16_split`), the curve being ``g0_high + (w @ H_high + (g0_low + w @ H_low))``:
    float16 TFLite files store every float constant as float16, and rounding ``g0`` and ``H``
    themselves (up to ``2.4e-4`` near ``g = 1``, the size of a step between two samples) would bend
    the projected curve by up to 1e-2 after the Hallucination-Net. Split, the float16 file computes
    the curve as accurately as float32; in Keras it differs from ``g0 + w @ H`` by float32 rounding.

    Example:
        >>> curve, linear = InverseCRF(11)(keras.ops.zeros((1, 11)), keras.ops.ones((1, 4, 4, 3)))
        >>> tuple(curve.shape), tuple(linear.shape)
        ((1, 1024), (1, 4, 4, 3))
    """

    def __init__(self, crf_weights: int = 11, shrinkage: float = 1.0, basis: str = "emor",
                 shrink_toward: str | None = None, shrink_toward_share: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.crf_weights = int(crf_weights)
        self.shrinkage = float(shrinkage)
        self.basis = str(basis)
        self.shrink_toward = None if shrink_toward is None else str(shrink_toward)
        self.shrink_toward_share = float(shrink_toward_share)
        if not 0.0 <= self.shrink_toward_share <= 1.0:
            raise ValueError(f"shrink_toward_share must lie in [0, 1], got {shrink_toward_share}")
        g0, basis = crf.load_curve_basis(self.basis, self.crf_weights)
        (self._g0_high, self._g0_low), (self._basis_high, self._basis_low) = float16_split(g0), float16_split(basis)
        self._fallback = (None if self.shrink_toward is None
                          else float16_split(crf.fixed_inverse_curve(self.shrink_toward)))

    def inverse_crf(self, crf_weights):
        """``[B, K] -> [B, 1024]``: the projected inverse curve."""
        weights = ops.cast(crf_weights, "float32")
        # The small terms first: this order rounds like g0 + w @ H (checked against float64).
        curves = crf.monotonic_projection(self._g0_high + (ops.matmul(weights, self._basis_high)
                                                           + (self._g0_low + ops.matmul(weights, self._basis_low))))
        if self.shrinkage == 1.0:
            return curves
        return self.shrinkage * curves + (1.0 - self.shrinkage) * self._fallback_curve()

    def _fallback_curve(self):
        """``[1, 1024]``: ``f`` (see the class docstring)."""
        if self._fallback is None:
            return self._prior_curve()
        named = self._fallback[0][None] + self._fallback[1][None]  # non-decreasing from 0 to 1 already
        if self.shrink_toward_share == 1.0:
            return named
        return self.shrink_toward_share * named + (1.0 - self.shrink_toward_share) * self._prior_curve()

    def _prior_curve(self):
        """``[1, 1024]``: ``g0`` from its split parts, projected as the network's curves are."""
        return crf.monotonic_projection(self._g0_high[None] + self._g0_low[None])

    def call(self, crf_weights, images):
        inverse_crf = self.inverse_crf(crf_weights)
        return inverse_crf, crf.apply_curve(images, inverse_crf)

    def compute_output_shape(self, crf_weights_shape, images_shape):
        return (crf_weights_shape[0], crf.CURVE_SAMPLES), tuple(images_shape)

    def get_config(self):
        config = super().get_config()
        config.update(crf_weights=self.crf_weights, shrinkage=self.shrinkage, basis=self.basis,
                      shrink_toward=self.shrink_toward, shrink_toward_share=self.shrink_toward_share)
        return config
