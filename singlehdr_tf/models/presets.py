"""The shipped models, keras-hub style: for each name, its architecture (a key of
:data:`~singlehdr_tf.models.MODEL_CONFIGS`), the weight-free settings its release chose on
held-out training scenes, where its weights are, their sha256, and the training runs they come
from. :func:`singlehdr_tf.load` reads a preset and refuses files that do not match it; the model
card (``tools/write_model_card.py``) is written from it.

The entries live in ``presets.json`` beside this module, data that ``tools/update_preset.py``
rewrites when ``tools/release_lite.sh`` exports a new release. ``build_model("lite")`` is the
untrained architecture; ``load("lite")`` is this preset: the same architecture with
:attr:`Preset.settings` applied and the trained weights.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from collections.abc import Mapping
from typing import Any

from singlehdr_tf.models.configs import MODEL_CONFIGS

PRESETS_FILE = pathlib.Path(__file__).with_name("presets.json")


@dataclasses.dataclass(frozen=True)
class Preset:
    """One shipped model."""

    name: str
    description: str
    architecture: str
    """The :data:`~singlehdr_tf.models.MODEL_CONFIGS` key it is built from."""
    settings: Mapping[str, Any]
    """Config values that hold no weights, set at release (``singlehdr export`` options, curve basis)."""
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

    def to_json(self) -> dict[str, Any]:
        fields = dataclasses.asdict(self)
        del fields["name"]
        return fields


def read_presets(path: pathlib.Path = PRESETS_FILE) -> dict[str, Preset]:
    """The presets of a ``presets.json`` file by name."""
    entries = json.loads(path.read_text())
    return {name: Preset(name=name, **{**entry, "training_runs": tuple(map(tuple, entry["training_runs"]))})
            for name, entry in entries.items()}


PRESETS: dict[str, Preset] = read_presets()
"""Every shipped model by name."""
