"""Custom Keras layers of the method, written with ``keras.ops`` so they run under any backend and
convert to TFLite builtins: the soft histogram, Sobel edges, the inverse CRF, resize-convolutions,
the over-exposure mask and positive-residual blend, and dynamic-size resampling helpers."""

from singlehdr_tf.layers.edges import SobelEdges
from singlehdr_tf.layers.highlight import DEFAULT_GAMMA, PositiveResidualBlend, clip_mask
from singlehdr_tf.layers.histogram import SoftHistogram
from singlehdr_tf.layers.inverse_crf import InverseCRF
from singlehdr_tf.layers.resampling import area_resize, native_windows, reflect_pad, reflect_pad_to_multiple, upsample2x
from singlehdr_tf.layers.resize_conv import ResizeConv2D

__all__ = [
    "DEFAULT_GAMMA",
    "InverseCRF",
    "PositiveResidualBlend",
    "ResizeConv2D",
    "SobelEdges",
    "SoftHistogram",
    "area_resize",
    "native_windows",
    "clip_mask",
    "reflect_pad",
    "reflect_pad_to_multiple",
    "upsample2x",
]
