"""TensorBoard scalars and images written with TensorFlow's own ``tf.summary.write``, so training
logs them without the ``tensorboard`` package installed (view them wherever TensorBoard is)."""

from __future__ import annotations

import tensorflow as tf
from tensorflow.core.framework import summary_pb2

_SCALAR = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
    data_class=summary_pb2.DATA_CLASS_SCALAR,
)
_IMAGES = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="images"),
    data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
)


def scalar(tag: str, value: float) -> None:
    """One scalar at the default writer's step."""
    tf.summary.write(tag, tf.constant(value, tf.float32), metadata=_SCALAR)


def images(tag: str, batch: tf.Tensor) -> None:
    """Images ``[N, H, W, 3]`` in [0, 1] as PNGs, in the images plugin's format
    ``[width, height, png_1, ..., png_N]``."""
    batch = tf.image.convert_image_dtype(tf.clip_by_value(batch, 0.0, 1.0), tf.uint8, saturate=True)
    pngs = tf.map_fn(tf.io.encode_png, batch, fn_output_signature=tf.string)
    size = tf.strings.as_string(tf.shape(batch)[2:0:-1])
    tf.summary.write(tag, tf.concat([size, pngs], axis=0), metadata=_IMAGES)
