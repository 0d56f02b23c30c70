"""The method's networks as Keras 3 models and the registry of named variants.

``build_model("lite")`` builds the shipped default; :class:`SingleHDR` chains
:class:`DequantizationNet`, :class:`LinearizationNet`, :class:`HallucinationNet` and
:class:`RefinementNet` and returns every intermediate.
"""

from singlehdr_tf.models.configs import (
    DEFAULT_MODEL,
    MODEL_CONFIGS,
    build_model,
    copy_matching_weights,
    rebuild_model,
    relative_path,
)
from singlehdr_tf.models.dequantization import DequantizationNet
from singlehdr_tf.models.hallucination import HallucinationNet
from singlehdr_tf.models.linearization import LinearizationNet
from singlehdr_tf.models.refinement import RefinementNet
from singlehdr_tf.models.single_hdr import SingleHDR
from singlehdr_tf.models.unet import UNet

__all__ = [
    "DEFAULT_MODEL",
    "MODEL_CONFIGS",
    "DequantizationNet",
    "HallucinationNet",
    "LinearizationNet",
    "RefinementNet",
    "SingleHDR",
    "UNet",
    "build_model",
    "copy_matching_weights",
    "rebuild_model",
    "relative_path",
]
