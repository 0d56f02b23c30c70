"""The files of a training run directory (the layout is documented in ``singlehdr_tf.training``)."""

from __future__ import annotations

import json
import os
import pathlib
import secrets
from typing import Any

import keras
import yaml

from singlehdr_tf.data import DataConfig
from singlehdr_tf.errors import SingleHDRError
from singlehdr_tf.io import atomic_write
from singlehdr_tf.loading import MODEL_CONFIG_FILE
from singlehdr_tf.training.config import TrainConfig, changed_fields, load_config

CONFIG_FILE = "config.yaml"
BEST_LINEARIZATION_FILE = "best_linearization.weights.h5"
METRICS_FILE = "metrics.jsonl"
VALIDATION_FILE = "validation.jsonl"
TENSORBOARD_DIR = "tensorboard"


def held_out_of(config: dict[str, Any]) -> tuple[int, int]:
    """``(validation.holdout_files, data.held_out_dorf_curves)`` of a run's stored config (a
    ``config.yaml`` as loaded): the training scenes and DoRF curves the run never trained on."""
    return (int(config.get("validation", {}).get("holdout_files", 0)),
            DataConfig.from_dict(config.get("data", {})).held_out_dorf_curves)


def _resolved(config: TrainConfig) -> dict[str, Any]:
    """The config as stored in the run: the model and data sections resolved to every argument, so
    the run records what it trained even if a named config or a default changes later."""
    resolved = {**config.to_dict(), "model": config.model_config(), "data": config.data_config().to_dict()}
    return json.loads(json.dumps(resolved))  # plain lists, no shared objects (YAML aliases)


def prepare(run_dir: pathlib.Path, config: TrainConfig, check: bool, write: bool) -> list[str]:
    """Compare ``config`` with the run's stored one (if ``check``: the run has checkpoints) and
    store it (if ``write``: the chief).

    Raises :class:`SingleHDRError` naming the field when the model changed or the moving average
    was switched on or off (the checkpoints would not fit). Returns the other changed fields
    (allowed: more steps, another learning rate...).
    """
    stored_path = run_dir / CONFIG_FILE
    new = _resolved(config)
    changed: list[str] = []
    if check and stored_path.is_file():
        stored = _resolved(load_config(stored_path))
        model_changes = changed_fields(stored["model"], new["model"], "model")
        if model_changes:
            raise SingleHDRError(
                f"{os.fspath(stored_path)}: this run trained another model; changed: {'; '.join(model_changes)}. "
                "Resume with the original model config or start a new run directory."
            )
        if (stored["ema_momentum"] is None) != (new["ema_momentum"] is None):
            raise SingleHDRError(
                f"{os.fspath(stored_path)}: ema_momentum {stored['ema_momentum']} -> {new['ema_momentum']}: the moving "
                "average is part of the optimizer state in the checkpoints, so it cannot be switched on or off in a "
                "run; resume with it as it was or start a new run directory (init_from: this run)."
            )
        changed = changed_fields(stored, new)
    if write:
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            reason = error.strerror or error
            raise SingleHDRError(f"{os.fspath(run_dir)}: cannot create the run directory ({reason})") from None
        with atomic_write(stored_path) as temporary:
            temporary.write_text(yaml.safe_dump(new, sort_keys=False))
    return changed


def save_weights(layer: keras.layers.Layer, path: pathlib.Path) -> None:
    """``layer.save_weights`` atomically (Keras needs the ``.weights.h5`` suffix on the temporary)."""
    temporary = path.with_name(f".{secrets.token_hex(6)}.tmp.weights.h5")
    try:
        layer.save_weights(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def save_model_config(run_dir: pathlib.Path, model: keras.Model) -> None:
    """``model_config.json``: ``model.get_config()``, the ``SingleHDR`` constructor arguments."""
    with atomic_write(run_dir / MODEL_CONFIG_FILE) as temporary:
        temporary.write_text(json.dumps(model.get_config(), indent=2, sort_keys=True))


def append_jsonl(path: pathlib.Path, record: dict[str, Any]) -> None:
    """Append one JSON line and flush it to disk (a killed run keeps every line written)."""
    with open(path, "a", encoding="utf-8") as file:
        file.write(json.dumps(record) + "\n")
        file.flush()
        os.fsync(file.fileno())
