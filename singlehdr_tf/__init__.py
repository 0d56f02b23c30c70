"""singlehdr_tf: single-image HDR reconstruction by reversing the camera pipeline.

Liu, Lai et al., "Single-Image HDR Reconstruction by Learning to Reverse the Camera Pipeline",
CVPR 2020, in TensorFlow 2 / Keras 3.
"""

from singlehdr_tf.io import SingleHDRError

__version__ = "0.1.0"

__all__ = ["SingleHDRError", "__version__"]
