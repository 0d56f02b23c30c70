"""The U-Net shared by the Dequantization-Net and the Refinement-Net (reference: average-pool
encoder, bilinear-upsampling decoder with concatenated skips, leaky ReLU 0.1)."""

from __future__ import annotations

import keras
from keras import ops

from singlehdr_tf.layers import ResizeConv2D, reflect_pad_to_multiple

LEAKY_SLOPE = 0.1


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class UNetEncoderLevel(keras.layers.Layer):
    """Optional 2x2 average pooling, then two ``kernel_size`` convolutions with leaky ReLU 0.1:
    ``[B, H, W, C] -> [B, H/2, W/2, filters]`` (or ``[B, H, W, filters]`` without pooling)."""

    def __init__(self, filters: int, kernel_size: int, downsample: bool, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.downsample = downsample
        self.pool = keras.layers.AveragePooling2D(2, name="pool") if downsample else None
        self.conv1 = keras.layers.Conv2D(filters, kernel_size, padding="same", name="conv1")
        self.conv2 = keras.layers.Conv2D(filters, kernel_size, padding="same", name="conv2")

    def call(self, inputs):
        x = self.pool(inputs) if self.downsample else inputs
        x = ops.leaky_relu(self.conv1(x), LEAKY_SLOPE)
        return ops.leaky_relu(self.conv2(x), LEAKY_SLOPE)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, downsample=self.downsample)
        return config


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class UNetDecoderLevel(keras.layers.Layer):
    """Bilinear x2 upsampling and a 3x3 convolution, concatenation with the encoder's skip, and a
    3x3 convolution, both with leaky ReLU 0.1: ``call(x [B, H, W, C], skip [B, 2H, 2W, S])
    -> [B, 2H, 2W, filters]``."""

    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.upsample = ResizeConv2D(filters, 3, interpolation="bilinear", name="upsample")
        self.fuse = keras.layers.Conv2D(filters, 3, padding="same", name="fuse")

    def call(self, inputs, skip):
        x = ops.leaky_relu(self.upsample(inputs), LEAKY_SLOPE)
        return ops.leaky_relu(self.fuse(ops.concatenate([x, skip], axis=-1)), LEAKY_SLOPE)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters)
        return config


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class UNet(keras.layers.Layer):
    """U-Net with ``len(filters)`` levels (level 0 at full resolution, each next one at half the
    size) and a linear 3x3 output convolution: ``[B, H, W, C] -> [B, H, W, output_channels]``.

    Any ``H, W``: the input is reflect-padded to a multiple of ``2 ** (levels - 1)`` inside the
    graph and the output cropped back.

    Example:
        >>> tuple(UNet(filters=(4, 8), kernel_sizes=(3, 3))(keras.ops.zeros((1, 7, 9, 3))).shape)
        (1, 7, 9, 3)
    """

    def __init__(self, filters, kernel_sizes, output_channels: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.filters = tuple(int(f) for f in filters)
        self.kernel_sizes = tuple(int(k) for k in kernel_sizes)
        if len(self.filters) != len(self.kernel_sizes) or len(self.filters) < 2:
            raise ValueError(f"U-Net needs >= 2 levels and one kernel size per level: "
                             f"filters={filters}, kernel_sizes={kernel_sizes}")
        self.output_channels = output_channels
        self.encoder_levels = [
            UNetEncoderLevel(f, k, downsample=level > 0, name=f"encoder{level}")
            for level, (f, k) in enumerate(zip(self.filters, self.kernel_sizes))
        ]
        self.decoder_levels = [
            UNetDecoderLevel(self.filters[level], name=f"decoder{level}")
            for level in reversed(range(len(self.filters) - 1))
        ]
        # float32 under any policy (see SingleHDR): the residual is added to float32 images.
        self.output_conv = keras.layers.Conv2D(output_channels, 3, padding="same", dtype="float32", name="output")

    @property
    def multiple(self) -> int:
        """Input sizes the levels need: ``2 ** (levels - 1)``."""
        return 2 ** (len(self.filters) - 1)

    def call(self, inputs):
        shape = ops.shape(inputs)
        x = reflect_pad_to_multiple(inputs, self.multiple)
        skips = []
        for level in self.encoder_levels:
            x = level(x)
            skips.append(x)
        for level, skip in zip(self.decoder_levels, reversed(skips[:-1])):
            x = level(x, skip)
        return self.output_conv(x)[:, : shape[1], : shape[2], :]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:3], self.output_channels)

    def get_config(self):
        config = super().get_config()
        config.update(filters=list(self.filters), kernel_sizes=list(self.kernel_sizes),
                      output_channels=self.output_channels)
        return config
