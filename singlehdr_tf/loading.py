"""Find and read models: shipped names, SavedModels, ``.keras`` files and training run folders.

The one place that reads a model from disk, so inference (:mod:`singlehdr_tf.api`), training
(``init_from``) and tools agree on what a name or a path means; :mod:`singlehdr_tf.export` and
:mod:`singlehdr_tf.training.run_dir` write what this module reads.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pathlib

import keras
import numpy as np
import tensorflow as tf

from singlehdr_tf import models
from singlehdr_tf.errors import SingleHDRError
from singlehdr_tf.models import presets, relative_path


def _shipped_models_folder() -> pathlib.Path:
    package = pathlib.Path(__file__).resolve().parent
    installed = package / "resources" / "saved_models"  # where the wheel's build puts them (setup.py)
    return installed if installed.is_dir() else package.parent / "saved_models"  # a source checkout


SHIPPED_MODELS = _shipped_models_folder()
"""Models that ship with the package, ``<name>/<version>/`` SavedModels (TF Serving's layout): in
an installed wheel ``singlehdr_tf/resources/saved_models``, in a source checkout (and an editable
install) the repository's ``saved_models/``, the one copy the wheel is built from."""

METADATA_FILE = pathlib.Path("assets.extra") / "singlehdr.json"
"""Inside a version folder: the model config and variable list. ``assets.extra`` is TF Serving's
folder for files the graph does not load."""

METADATA_FORMAT = 2
"""2: each variable is ``[path, shape, checkpoint key]`` (1 had no key; its weights were stored twice)."""

CHECKPOINT_DIR = "checkpoints"
WEIGHTS_FILE = "model.weights.h5"
MODEL_CONFIG_FILE = "model_config.json"
"""The files of a training run folder that hold its model (see :mod:`singlehdr_tf.training`)."""

MIN_SIZE = 32
"""The smallest input every stage accepts (builds a model's variables)."""

def shipped_model_names() -> list[str]:
    """Names of the presets (:data:`singlehdr_tf.models.presets.PRESETS`) installed in
    :data:`SHIPPED_MODELS`, sorted."""
    return sorted(name for name, preset in presets.PRESETS.items()
                  if (SHIPPED_MODELS / name / str(preset.version) / "saved_model.pb").is_file())


def file_sha256(path: pathlib.Path) -> str:
    """The sha256 of a file's bytes, in hex (what a preset records of each shipped file)."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_preset(name: str) -> keras.Model:
    """The shipped model ``name``: its SavedModel, checked against its preset (the files' sha256 and
    the model config, so a stale or partial install fails here rather than giving other results)."""
    preset = presets.PRESETS[name]
    folder = SHIPPED_MODELS / name / str(preset.version)
    for file, digest in preset.sha256.items():
        if not (folder / file).is_file() or file_sha256(folder / file) != digest:
            raise SingleHDRError(f"{os.fspath(folder / file)}: missing or not the file of the shipped model {name!r} "
                                 "(its sha256 differs from singlehdr_tf/models/presets.json); reinstall the package")
    model = load_saved_model(folder)
    config = json.loads(json.dumps(model.get_config()))
    expected = json.loads(json.dumps(preset.model_config()))
    differing = sorted(key for key, value in expected.items() if config.get(key) != value)
    if differing:
        raise SingleHDRError(f"{os.fspath(folder)}: the model config differs from preset {name!r} in "
                             f"{', '.join(differing)} (singlehdr_tf/models/presets.json)")
    return model


def load_model(name_or_path: str | os.PathLike = models.DEFAULT_MODEL) -> keras.Model:
    """The Keras :class:`~singlehdr_tf.models.SingleHDR` behind :func:`load` (same arguments and
    errors), for training, export and analysis tools that need the networks themselves."""
    path = pathlib.Path(name_or_path)
    if path.is_file() and path.suffix == ".keras":
        return _load_keras_file(path)
    if path.is_dir():
        if (path / "saved_model.pb").is_file():
            return load_saved_model(path)
        version = latest_version(path)
        if version is not None:
            return load_saved_model(path / str(version))
        return _load_run_dir(path)
    if path.exists():
        raise SingleHDRError(f"{os.fspath(path)}: not a model (expected a SavedModel folder, a .keras file "
                             "or a training run folder)")
    name = os.fspath(name_or_path)
    known = shipped_model_names()
    if name in known:
        return load_preset(name)
    listing = ", ".join(known) if known else "none installed yet"
    if name in models.MODEL_CONFIGS:
        raise SingleHDRError(f"no shipped model {name!r}: no trained weights of this configuration are installed "
                             f"(shipped models: {listing}); pass a SavedModel, .keras file or training run path")
    raise SingleHDRError(f"{name}: no such file or folder, and not a shipped model (shipped models: {listing})")


def _load_keras_file(path: pathlib.Path) -> keras.Model:
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # noqa: BLE001 - Keras raises many types for a bad or foreign file
        raise SingleHDRError(f"{os.fspath(path)}: cannot load the model ({_first_line(error)})") from None
    if not isinstance(model, models.SingleHDR):
        raise SingleHDRError(f"{os.fspath(path)}: holds a {type(model).__name__}, not a SingleHDR model")
    return model


def _load_run_dir(run_dir: pathlib.Path) -> keras.Model:
    """The model of a training run: its ``model_config.json`` with the newer of ``model.weights.h5``
    and the latest checkpoint."""
    config_path = run_dir / MODEL_CONFIG_FILE
    if not config_path.is_file():
        raise SingleHDRError(f"{os.fspath(run_dir)}: not a model (expected a SavedModel folder, a .keras file or "
                             f"a training run folder with {MODEL_CONFIG_FILE})")
    try:
        config = json.loads(config_path.read_text())
        model = models.build_model(config)
    except (OSError, ValueError, TypeError) as error:
        raise SingleHDRError(f"{os.fspath(config_path)}: not a model config ({_first_line(error)})") from None
    weights = run_dir / WEIGHTS_FILE
    checkpoint = tf.train.latest_checkpoint(os.fspath(run_dir / CHECKPOINT_DIR))
    checkpoint_time = os.path.getmtime(checkpoint + ".index") if checkpoint else -math.inf
    weights_time = weights.stat().st_mtime if weights.is_file() else -math.inf
    if checkpoint is None and not weights.is_file():
        raise SingleHDRError(f"{os.fspath(run_dir)}: the run has no weights yet (no {WEIGHTS_FILE}, "
                             f"no checkpoint in {CHECKPOINT_DIR}/)")
    build_variables(model)
    source = os.fspath(weights) if weights_time >= checkpoint_time else checkpoint
    try:
        if source == os.fspath(weights):
            model.load_weights(weights)
        else:
            _restore_checkpoint(model, checkpoint, named_weights(model))
    except SingleHDRError:
        raise
    except Exception as error:  # noqa: BLE001 - Keras and tf.train raise many types on a mismatch
        raise SingleHDRError(f"{source}: the weights do not fit the model config in {os.fspath(config_path)} "
                             f"(trained with another config? {_first_line(error)})") from None
    return model


def _restore_checkpoint(model: keras.Model, checkpoint: str, named_weights: dict) -> None:
    """Restore ``model`` from a training checkpoint (``tf.train.Checkpoint(weights=named_weights)``,
    see :func:`singlehdr_tf.training.run_dir.named_weights`), refusing one that does not hold every
    variable of the model."""
    stored = checkpoint_weight_keys(checkpoint)
    if len(stored) != len(model.variables):
        raise SingleHDRError(f"{checkpoint}: an incomplete checkpoint, it holds {len(stored)} of the model's "
                             f"{len(model.variables)} variables")
    tf.train.Checkpoint(weights=named_weights).restore(checkpoint).expect_partial().assert_existing_objects_matched()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"


def build_variables(model: keras.Model) -> None:
    """Create the model's variables if it was never called (on the smallest input every stage accepts)."""
    if not model.built or not model.variables:
        model(np.zeros((1, MIN_SIZE, MIN_SIZE, 3), np.float32), training=False)


def latest_version(model_dir: str | os.PathLike) -> int | None:
    """The highest integer-named SavedModel version in ``model_dir`` (TF Serving's choice), or None."""
    model_dir = pathlib.Path(model_dir)
    if not model_dir.is_dir():
        return None
    versions = [int(path.name) for path in model_dir.iterdir()
                if path.name.isdigit() and (path / "saved_model.pb").is_file()]
    return max(versions, default=None)


def load_saved_model(version_dir: str | os.PathLike) -> keras.Model:
    """Rebuild the Keras model of a SavedModel written by :func:`write_saved_model`: the config
    from its metadata file, the weights read from its variables checkpoint (no graph is loaded)."""
    version_dir = pathlib.Path(version_dir)
    where = os.fspath(version_dir)
    try:
        metadata = json.loads((version_dir / METADATA_FILE).read_text())
    except FileNotFoundError:
        raise SingleHDRError(f"{where}: not a singlehdr_tf SavedModel (no {METADATA_FILE})") from None
    except (OSError, ValueError) as error:
        raise SingleHDRError(f"{where}: unreadable {METADATA_FILE} ({error})") from None
    if metadata.get("format") != METADATA_FORMAT:
        raise SingleHDRError(f"{where}: unsupported metadata format {metadata.get('format')!r} "
                             f"(this version of singlehdr_tf reads {METADATA_FORMAT}; export the model again)")
    model = models.build_model(metadata["model_config"])
    build_variables(model)
    expected = [[models.relative_path(variable), list(variable.shape)] for variable in model.variables]
    if expected != [entry[:2] for entry in metadata["variables"]]:
        raise SingleHDRError(f"{where}: the stored variables do not match its model config "
                             "(written by another version of singlehdr_tf?)")
    try:
        reader = tf.train.load_checkpoint(os.fspath(version_dir / "variables" / "variables"))
        values = [reader.get_tensor(key) for _, _, key in metadata["variables"]]
    except (tf.errors.OpError, ValueError) as error:
        raise SingleHDRError(f"{where}: cannot read the variables ({str(error).splitlines()[0]})") from None
    for variable, value in zip(model.variables, values):
        if tuple(value.shape) != tuple(variable.shape):
            raise SingleHDRError(f"{where}: variable {variable.path} has shape {value.shape}, "
                                 f"the model config needs {tuple(variable.shape)}")
        variable.assign(value)
    return model


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
    some layers (named in ``reinitialize``); otherwise the model :func:`load_model`
    loads (a shipped name, SavedModel, ``.keras`` file or a run without checkpoints)."""
    checkpoint = tf.train.latest_checkpoint(os.fspath(pathlib.Path(source) / CHECKPOINT_DIR))
    if checkpoint is None:
        return load_model(source)
    reader = tf.train.load_checkpoint(checkpoint)
    return {path: reader.get_tensor(key) for path, key in checkpoint_weight_keys(checkpoint).items()}
