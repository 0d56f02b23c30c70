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

    ``max_step`` (None: off, as in the paper) also keeps each value within ``max_step`` of its
    8-bit input. Under the camera model ``L = Q(F(C(H)))`` the signal ``F(C(H))`` lies within half
    a code value (0.5/255) of ``L``, so clipping to that bin is a projection onto the set the truth
    lies in and can only bring an output closer to it. A net trained with sensor noise and JPEG
    also "corrects" clean values, and in the darkest codes a fraction of a code is a large relative
    error that the inverse curve carries into the HDR output, so a release chooses the step on
    held-out training scenes (``tools/choose_stage_settings.py``); 0 switches the stage off, and then
    the U-Net is not computed at all (its weights are still built and saved).

    Example:
        >>> net = DequantizationNet(filters=(4, 8), kernel_sizes=(3, 3))
        >>> tuple(net(keras.ops.zeros((1, 5, 6, 3))).shape)
        (1, 5, 6, 3)
    """

    def __init__(self, filters=(16, 32, 64, 128, 256), kernel_sizes=(7, 5, 3, 3, 3), max_step: float | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.filters = tuple(int(f) for f in filters)
        self.kernel_sizes = tuple(int(k) for k in kernel_sizes)
        self.max_step = None if max_step is None else float(max_step)
        self.unet = UNet(self.filters, self.kernel_sizes, output_channels=3, name="unet")

    @property
    def switched_off(self) -> bool:
        """``max_step`` 0: the output is the input and the U-Net is not computed."""
        return self.max_step == 0.0

    def build(self, input_shape):
        # The U-Net's weights exist whether or not it runs, so one checkpoint loads at any max_step.
        if not self.unet.built:
            self.unet(keras.KerasTensor(tuple(input_shape), dtype="float32"))
        super().build(input_shape)

    def call(self, ldr):
        ldr = ops.cast(ldr, "float32")
        if self.switched_off:  # the clip below would return ldr; skip the U-Net
            return ldr
        dequantized = ops.clip(ldr + ops.tanh(self.unet(ldr)), 0.0, 1.0)
        if self.max_step is None:
            return dequantized
        return ops.clip(dequantized, ldr - self.max_step, ldr + self.max_step)

    def get_config(self):
        config = super().get_config()
        config.update(filters=list(self.filters), kernel_sizes=list(self.kernel_sizes), max_step=self.max_step)
        return config
