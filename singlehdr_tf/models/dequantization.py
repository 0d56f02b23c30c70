"""The Dequantization-Net: removes quantization (and JPEG) artefacts from the 8-bit input."""

from __future__ import annotations

import keras
from keras import ops

from singlehdr_tf.models.unet import UNet


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class DequantizationNet(keras.Model):
    """``dequantized = clip(ldr + tanh(UNet(ldr)), 0, 1)``: ``[B, H, W, 3] -> [B, H, W, 3]``.

    The tanh residual keeps the correction small and the clip keeps the result a valid
    display-referred image (the reference clips it before linearization too).

    Example:
        >>> net = DequantizationNet(filters=(4, 8), kernel_sizes=(3, 3))
        >>> tuple(net(keras.ops.zeros((1, 5, 6, 3))).shape)
        (1, 5, 6, 3)
    """

    def __init__(self, filters=(16, 32, 64, 128, 256), kernel_sizes=(7, 5, 3, 3, 3), **kwargs):
        super().__init__(**kwargs)
        self.filters = tuple(int(f) for f in filters)
        self.kernel_sizes = tuple(int(k) for k in kernel_sizes)
        self.unet = UNet(self.filters, self.kernel_sizes, output_channels=3, name="unet")

    def call(self, ldr):
        ldr = ops.cast(ldr, "float32")
        return ops.clip(ldr + ops.tanh(self.unet(ldr)), 0.0, 1.0)

    def get_config(self):
        config = super().get_config()
        config.update(filters=list(self.filters), kernel_sizes=list(self.kernel_sizes))
        return config
