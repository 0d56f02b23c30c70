"""``ResizeConv2D``: x2 upsampling followed by a convolution (no transposed convolution, so no
checkerboard artefacts)."""

from __future__ import annotations

import keras

from singlehdr_tf.layers.resampling import upsample2x


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class ResizeConv2D(keras.layers.Layer):
    """Upsample ``[B, H, W, C]`` x2 (nearest or bilinear), then a "same" convolution:
    ``[B, 2H, 2W, filters]``.

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

    def build(self, input_shape):
        self.conv.build(input_shape)

    def call(self, inputs):
        return self.conv(upsample2x(inputs, self.interpolation))

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        double = lambda size: None if size is None else 2 * size  # noqa: E731
        return (batch, double(height), double(width), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, interpolation=self.interpolation,
                      activation=keras.activations.serialize(self.activation))
        return config
