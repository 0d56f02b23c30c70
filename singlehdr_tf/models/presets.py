"""The shipped models, keras-hub style: for each name, its architecture (a key of
:data:`~singlehdr_tf.models.MODEL_CONFIGS`), the weight-free settings its release chose on
held-out training scenes, where its weights are, their sha256, and the training runs they come
from. :func:`singlehdr_tf.load` reads a preset and refuses files that do not match it; the model
card (``tools/write_model_card.py``) is written from it.

``build_model("lite")`` is the untrained architecture; ``load("lite")`` is this preset: the same
architecture with :attr:`Preset.settings` applied and the trained weights.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from singlehdr_tf.models.configs import MODEL_CONFIGS


@dataclasses.dataclass(frozen=True)
class Preset:
    """One shipped model."""

    name: str
    description: str
    architecture: str
    """The :data:`~singlehdr_tf.models.MODEL_CONFIGS` key it is built from."""
    settings: Mapping[str, Any]
    """Config values that hold no weights, set at release (``singlehdr export`` options, basis)."""
    version: int
    """The SavedModel version folder: ``saved_models/<name>/<version>/``."""
    sha256: Mapping[str, str]
    """sha256 of the files inside the version folder that hold the weights and the config."""
    training_runs: tuple[tuple[str, str], ...]
    """``(log folder in release/logs/, config file)`` of every run the weights come from, in order:
    the first starts from scratch, each later one from the weights of the one before."""

    def model_config(self) -> dict[str, Any]:
        """The ``SingleHDR`` arguments of this preset: the architecture with the settings applied."""
        return {**MODEL_CONFIGS[self.architecture], **self.settings}


PRESETS: dict[str, Preset] = {preset.name: preset for preset in (
    Preset(
        name="lite",
        description="3.2M parameters, 93 GFLOP per megapixel: CPUs and phones (the default).",
        architecture="lite",
        settings={"curve_basis": "camera", "curve_shrinkage": 0.1, "dequantization_max_step": 0.0,
                  "use_refinement": True},
        version=1,
        sha256={
            "variables/variables.data-00000-of-00001": "56daf01719e2279c429183540c87c2787aea862be5dc2a0c95479bd1ede9c938",
            "assets.extra/singlehdr.json": "ca112810f46d6e582eb67207e5a1d3a250718a78b771e6d6d21052533bf30847",
        },
        training_runs=(
            ("base", "configs/lite.yaml"),
            ("curve_log", "release/configs/lite_curve_log.yaml"),
            ("log_refinement", "release/configs/lite_log_refinement.yaml"),
            ("curve_balance", "release/configs/lite_curve_balance.yaml"),
            ("modern_bank1", "release/configs/lite_modern_bank1.yaml"),
            ("modern", "release/configs/lite_modern.yaml"),
            ("modern_highlights", "release/configs/lite_modern_highlights.yaml"),
        ),
    ),
)}
"""Every shipped model by name."""
