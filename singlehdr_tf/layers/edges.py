"""``SobelEdges``: Sobel derivatives of every channel (what ``tf.image.sobel_edges`` computes)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from singlehdr_tf.layers.resampling import reflect_pad

_SOBEL_Y = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], np.float32)


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class SobelEdges(keras.layers.Layer):
    """``[B, H, W, C] -> [B, H, W, 2C]``: vertical then horizontal Sobel response of each channel
    (``c0_dy, c0_dx, c1_dy, ...``), with reflect padding at the borders. No weights.

    Example:
        >>> tuple(SobelEdges()(keras.ops.zeros((1, 8, 8, 3))).shape)
        (1, 8, 8, 6)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def call(self, images):
        images = ops.cast(images, "float32")
        channels = images.shape[-1]
        kernel = np.stack([_SOBEL_Y, _SOBEL_Y.T], axis=-1)[:, :, None, :]  # [3, 3, 1, 2]
        kernel = np.tile(kernel, (1, 1, channels, 1))
        padded = reflect_pad(images, 1)
        return ops.depthwise_conv(padded, kernel, strides=1, padding="valid")

    def compute_output_shape(self, input_shape):
        return (*input_shape[:3], 2 * input_shape[3])
