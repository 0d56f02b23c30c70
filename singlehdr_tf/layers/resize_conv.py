"""``ResizeConv2D``: x2 upsampling followed by a convolution (no transposed convolution, so no
checkerboard artefacts)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from singlehdr_tf.layers.resampling import upsample2x


def phase_matrices(kernel_size: int) -> np.ndarray:
    """``[2, 2q + 1, k]``: for output phase ``i`` (even or odd row), which tap ``l`` of a kernel at
    the input's resolution each tap ``d`` of a ``k``-tap kernel at twice the resolution reads,
    after nearest x2 upsampling (``q = ceil((k // 2) / 2)``). Output row ``2h + i`` at offset ``d - k // 2``
    reads upsampled row ``2h + i + d - k // 2``, which is input row ``h + floor((i + d - k // 2) / 2)``."""
    radius = kernel_size // 2
    reach = -(-radius // 2)
    matrices = np.zeros((2, 2 * reach + 1, kernel_size), np.float32)
    for phase in range(2):
        for tap in range(kernel_size):
            matrices[phase, (phase + tap - radius) // 2 + reach, tap] = 1.0
    return matrices


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class ResizeConv2D(keras.layers.Layer):
    """Upsample ``[B, H, W, C]`` x2 (nearest or bilinear), then a "same" convolution:
    ``[B, 2H, 2W, filters]``.

    Nearest upsampling is not materialised: each of the four output phases (even/odd row and
    column) is a convolution of the input itself with the taps of the kernel summed by
    :func:`phase_matrices`, so one convolution at the input's resolution gives all four (``4 *
    filters`` channels) and ``depth_to_space`` interleaves them. The result is the same (zero
    padding at the upsampled border is zero padding at the input's); no ``4 C``-channel upsampled
    input is written, and TFLite gets CONV_2D and DEPTH_TO_SPACE, which XNNPACK runs for any size.

    Example:
        >>> layer = ResizeConv2D(8, 3, activation="relu")
        >>> tuple(layer(keras.ops.zeros((1, 4, 5, 3))).shape)
        (1, 8, 10, 8)
    """

    def __init__(self, filters: int, kernel_size: int = 3, interpolation: str = "nearest",
                 activation=None, **kwargs):
        super().__init__(**kwargs)
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"interpolation must be 'nearest' or 'bilinear', not {interpolation!r}")
        self.filters = filters
        self.kernel_size = kernel_size
        self.interpolation = interpolation
        self.activation = keras.activations.get(activation)
        self.conv = keras.layers.Conv2D(filters, kernel_size, padding="same", activation=self.activation,
                                        name="conv")
        self._phase_matrices = phase_matrices(kernel_size)

    def build(self, input_shape):
        self.conv.build(input_shape)

    def call(self, inputs):
        if self.interpolation != "nearest":
            return self.conv(upsample2x(inputs, self.interpolation))
        matrices = ops.convert_to_tensor(self._phase_matrices, dtype=inputs.dtype)
        kernel = ops.cast(self.conv.kernel, inputs.dtype)  # [k, k, C, F]
        # [a, b, C, i, j, F]: tap (a, b) of output phase (i, j), in depth_to_space's channel order.
        phases = ops.einsum("iay,jbx,yxcf->abcijf", matrices, matrices, kernel)
        size, channels = phases.shape[0], kernel.shape[2]
        phases = ops.reshape(phases, (size, size, channels, 4 * self.filters))
        outputs = ops.conv(inputs, phases, strides=1, padding="same")
        outputs = outputs + ops.tile(ops.cast(self.conv.bias, inputs.dtype), 4)
        return ops.depth_to_space(self.activation(outputs), 2)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        double = lambda size: None if size is None else 2 * size  # noqa: E731
        return (batch, double(height), double(width), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, interpolation=self.interpolation,
                      activation=keras.activations.serialize(self.activation))
        return config
