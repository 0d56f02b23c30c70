"""singlehdr_tf: single-image HDR reconstruction by reversing the camera pipeline.

Liu, Lai et al., "Single-Image HDR Reconstruction by Learning to Reverse the Camera Pipeline",
CVPR 2020, in TensorFlow 2 / Keras 3.
"""

from singlehdr_tf.errors import SingleHDRError

__version__ = "0.1.0"

__all__ = ["Reconstructor", "SingleHDRError", "__version__", "load"]


def __getattr__(name: str):
    # `load` and `Reconstructor` come from singlehdr_tf.api on first use, so that importing a
    # TensorFlow-free module (singlehdr_tf.io) does not pull in TensorFlow through this package.
    if name in ("load", "Reconstructor"):
        from singlehdr_tf.api import Reconstructor, load

        return {"load": load, "Reconstructor": Reconstructor}[name]
    raise AttributeError(f"module 'singlehdr_tf' has no attribute {name!r}")
