"""The files of a training run directory (the layout is documented in ``singlehdr_tf.training``)."""

from __future__ import annotations

import json
import os
import pathlib
import secrets
from typing import Any

import keras
import tensorflow as tf
import yaml

from singlehdr_tf.io import SingleHDRError, atomic_write
from singlehdr_tf.models import relative_path
from singlehdr_tf.training.config import TrainConfig, changed_fields, load_config

CONFIG_FILE = "config.yaml"
CHECKPOINT_DIR = "checkpoints"
WEIGHTS_FILE = "model.weights.h5"
MODEL_CONFIG_FILE = "model_config.json"
BEST_LINEARIZATION_FILE = "best_linearization.weights.h5"
METRICS_FILE = "metrics.jsonl"
VALIDATION_FILE = "validation.jsonl"
TENSORBOARD_DIR = "tensorboard"


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


def named_weights(model: keras.Model) -> dict[str, keras.Variable]:
    """Every weight of ``model`` keyed by its path inside the model
    (``"dequantization/unet/encoder0/conv1/kernel"``): how checkpoints hold the model.

    Keras 3 layers kept in Python lists are invisible to ``tf.train.Checkpoint``'s object graph,
    so checkpointing ``model`` itself would miss most of its weights. To read the weights of a
    checkpoint into a model built from ``model_config.json``::

        tf.train.Checkpoint(weights=named_weights(model)).restore(path).expect_partial()
    """
    weights = {relative_path(variable): variable for variable in model.weights}
    if len(weights) != len(model.weights):
        raise ValueError(f"{model.name}: two weights share a path; checkpoints could not tell them apart")
    return weights


def checkpoint_weight_keys(checkpoint: str) -> dict[str, str]:
    """``{path inside the model: checkpoint key}`` of every weight a training checkpoint holds
    (saved as ``tf.train.Checkpoint(weights=named_weights(model))``)."""
    prefix, suffix = "weights/", "/.ATTRIBUTES/VARIABLE_VALUE"
    return {key[len(prefix):-len(suffix)].replace(".S", "/"): key  # the object graph escapes "/" as ".S"
            for key in tf.train.load_checkpoint(checkpoint).get_variable_to_shape_map()
            if key.startswith(prefix) and key.endswith(suffix)}


def read_weights(source: str):
    """The weights ``init_from`` names: a run folder's latest checkpoint read tensor by tensor
    (``{path inside the model: array}``), so that a run can start from one whose model differs in
    some layers (named in ``reinitialize``); otherwise the model :func:`singlehdr_tf.api.load_model`
    loads (a shipped name, SavedModel, ``.keras`` file or a run without checkpoints)."""
    from singlehdr_tf import api  # api reads run folders through this module

    checkpoint = tf.train.latest_checkpoint(os.fspath(pathlib.Path(source) / CHECKPOINT_DIR))
    if checkpoint is None:
        return api.load_model(source)
    reader = tf.train.load_checkpoint(checkpoint)
    return {path: reader.get_tensor(key) for path, key in checkpoint_weight_keys(checkpoint).items()}


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
