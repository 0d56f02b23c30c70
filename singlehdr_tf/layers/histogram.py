"""``SoftHistogram``: the paper's spatially-aware soft histogram, eq. (2)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class SoftHistogram(keras.layers.Layer):
    """Per pixel, channel and bin, the soft (triangular) bin membership
    ``h_b(I) = max(0, 1 - |I - c_b| * B)`` with ``B + 1`` centres ``c_b = linspace(0, 1, B + 1)``,
    for each ``B`` in ``bins`` (the reference stacks B = 4, 8, 16).

    ``[B, H, W, C] -> [B, H, W, C * sum(B + 1)]``, ordered channel-major (all bins of channel 0,
    then channel 1, ...). Memberships of one ``B`` sum to 1 for values in [0, 1].

    Example:
        >>> tuple(SoftHistogram(bins=(4,))(keras.ops.full((1, 2, 2, 3), 0.5)).shape)
        (1, 2, 2, 15)
    """

    def __init__(self, bins=(4, 8, 16), **kwargs):
        super().__init__(**kwargs)
        self.bins = tuple(int(b) for b in bins)
        if not self.bins or min(self.bins) < 1:
            raise ValueError(f"bins must be positive bin counts, got {bins!r}")
        self._centers = np.concatenate([np.linspace(0.0, 1.0, b + 1) for b in self.bins]).astype(np.float32)
        self._scales = np.concatenate([np.full(b + 1, b) for b in self.bins]).astype(np.float32)

    @property
    def bins_per_channel(self) -> int:
        return len(self._centers)

    def call(self, images):
        images = ops.cast(images, "float32")
        distance = ops.abs(ops.expand_dims(images, -1) - self._centers)  # a reshape, not TFLite's new-axis slice
        membership = ops.relu(1.0 - distance * self._scales)
        shape = ops.shape(images)
        return ops.reshape(membership, (shape[0], shape[1], shape[2], shape[3] * self.bins_per_channel))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:3], input_shape[3] * self.bins_per_channel)

    def get_config(self):
        config = super().get_config()
        config.update(bins=list(self.bins))
        return config
