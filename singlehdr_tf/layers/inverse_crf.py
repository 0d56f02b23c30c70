"""``InverseCRF``: inverse-EMoR weights to a monotone inverse response curve, applied to an image."""

from __future__ import annotations

import keras
from keras import ops

from singlehdr_tf import crf


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class InverseCRF(keras.layers.Layer):
    """``g = P(g0 + w @ H)`` from weights ``w`` ``[B, K]``, with the inverse-EMoR mean curve ``g0``
    and first ``K`` components ``H`` (constants, not weights) and the monotonic projection ``P``
    (:func:`singlehdr_tf.crf.monotonic_projection`); then ``linear = g(image)`` by linear
    interpolation (:func:`singlehdr_tf.crf.apply_curve`).

    ``call(crf_weights [B, K], images [B, H, W, C]) -> (inverse_crf [B, 1024], linear [B, H, W, C])``.
    The curve is non-decreasing with ``g(0) = 0`` and ``g(1) = 1`` for any finite weights.

    ``shrinkage`` in [0, 1] scales the weights, pulling the curve toward the prior ``g0``:
    ``g = P(g0 + shrinkage * w @ H)``. Training uses 1; a shipped model whose learned curves do not
    beat ``g0`` on held-out scenes is exported with the strength measured there (see
    ``tools/choose_curve_shrinkage.py``), so it can never be much worse than the prior.

    Example:
        >>> curve, linear = InverseCRF(11)(keras.ops.zeros((1, 11)), keras.ops.ones((1, 4, 4, 3)))
        >>> tuple(curve.shape), tuple(linear.shape)
        ((1, 1024), (1, 4, 4, 3))
    """

    def __init__(self, crf_weights: int = 11, shrinkage: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.crf_weights = int(crf_weights)
        self.shrinkage = float(shrinkage)
        self._g0, self._basis = crf.load_inverse_emor(self.crf_weights)

    def inverse_crf(self, crf_weights):
        """``[B, K] -> [B, 1024]``: the projected inverse curve."""
        curves = self._g0 + ops.matmul(self.shrinkage * ops.cast(crf_weights, "float32"), self._basis)
        return crf.monotonic_projection(curves)

    def call(self, crf_weights, images):
        inverse_crf = self.inverse_crf(crf_weights)
        return inverse_crf, crf.apply_curve(images, inverse_crf)

    def compute_output_shape(self, crf_weights_shape, images_shape):
        return (crf_weights_shape[0], crf.CURVE_SAMPLES), tuple(images_shape)

    def get_config(self):
        config = super().get_config()
        config.update(crf_weights=self.crf_weights, shrinkage=self.shrinkage)
        return config
