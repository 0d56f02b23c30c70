"""The training configuration: one YAML file, validated into dataclasses with clear errors.

Layout of a config file (every key but ``model`` and ``stages`` has a default)::

    model: lite                   # a name in singlehdr_tf.models.MODEL_CONFIGS, a dict of SingleHDR args,
                                  # or {preset: lite, curve_basis: camera_log}: a name with values changed
    data: {crop_size: 256}        # singlehdr_tf.data.DataConfig fields
    batch_size: 8                 # global batch, split over the replicas of the strategy
    seed: 0
    stages:                       # run in this order; steps count from the end of the previous stage
      - {stage: dequantization, steps: 20000}
      - {stage: joint, steps: 5000, learning_rate: 1.0e-5}
      - {stage: linearization, steps: 800, loss_weights: {inverse_crf_log: 0.001}}  # weights of some terms
    learning_rate: {initial: 1.0e-4, schedule: cosine, final_fraction: 0.1, warmup_steps: 0}
    checkpoint_every: 500
    keep_checkpoints: 3
    log_every: 50
    validation: {data_dir: null, holdout_files: 0, every: 500, batches: 4, batch_size: 8, seed: 0}
    perceptual_weights: null      # VGG16 (include_top=False) Keras weights file; null turns L_p off
    ema_momentum: null            # e.g. 0.995: each stage ends on an exponential moving average of its weights
    init_from: null               # start from these weights (e.g. saved_models/lite); null: random
    reinitialize: []              # networks (or network/layer) kept fresh under init_from (e.g. [refinement])
    precision: float32            # or mixed_bfloat16: bfloat16 convolutions, float32 variables and curves

Paths are relative to the working directory.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import pathlib
import types
import typing
from typing import Any

import yaml

from singlehdr_tf.errors import SingleHDRError
from singlehdr_tf.models.precision import POLICIES
from singlehdr_tf.models.single_hdr import NETWORKS
from singlehdr_tf.training.stages import STAGES, stage_weights

SCHEDULES = ("constant", "cosine")
PRECISIONS = tuple(POLICIES.values())
"""Keras dtype policies a run may train under (see :mod:`singlehdr_tf.models.precision`)."""


@dataclasses.dataclass(frozen=True)
class StageConfig:
    """One stage of the run: which networks train, for how many steps, at which peak learning rate
    (None: ``learning_rate.initial``), and which of its loss terms get other weights than
    :data:`singlehdr_tf.training.stages.STAGES` (e.g. ``{inverse_crf_log: 0.001}``)."""

    stage: str
    steps: int
    learning_rate: float | None = None
    loss_weights: dict[str, float] | None = None

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise SingleHDRError(
                f"training config: stages: unknown stage {self.stage!r}; expected one of {list(STAGES)}")
        if self.steps < 0:
            raise SingleHDRError(f"training config: stages: {self.stage} steps must be >= 0, got {self.steps}")
        if self.learning_rate is not None and self.learning_rate <= 0:
            raise SingleHDRError(f"training config: stages: {self.stage} learning_rate must be > 0")
        if self.loss_weights is not None:
            if any(value < 0 for value in self.loss_weights.values()):
                raise SingleHDRError(
                    f"training config: stages: {self.stage} loss_weights must be numbers >= 0, got {self.loss_weights}")
            try:
                stage_weights(self.stage, self.loss_weights)
            except ValueError as error:
                raise SingleHDRError(f"training config: stages: {self.stage} loss_weights: {error}") from None


@dataclasses.dataclass(frozen=True)
class LearningRateConfig:
    """Adam's learning rate within each stage: linear warm-up from 0 over ``warmup_steps``, then
    constant or a cosine decay to ``final_fraction`` of the peak at the stage's end."""

    initial: float = 1e-4
    schedule: str = "cosine"
    final_fraction: float = 0.1
    warmup_steps: int = 0

    def __post_init__(self) -> None:
        if self.initial <= 0:
            raise SingleHDRError(f"training config: learning_rate.initial must be > 0, got {self.initial}")
        if self.schedule not in SCHEDULES:
            raise SingleHDRError(
                f"training config: learning_rate.schedule must be one of {list(SCHEDULES)}, got {self.schedule!r}")
        if not 0.0 <= self.final_fraction <= 1.0:
            raise SingleHDRError("training config: learning_rate.final_fraction must be in [0, 1]")
        if self.warmup_steps < 0:
            raise SingleHDRError("training config: learning_rate.warmup_steps must be >= 0")


@dataclasses.dataclass(frozen=True)
class ValidationConfig:
    """The fixed validation set: ``batches`` batches cut from ``data_dir`` with the held-out DoRF
    test curves. Without ``data_dir``, the last ``holdout_files`` training files (sorted by name)
    are held out of training and used; with neither, the training scenes are used (then only the
    curves are unseen)."""

    data_dir: str | None = None
    holdout_files: int = 0
    every: int = 500
    batches: int = 4
    batch_size: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("every", "batches", "batch_size"):
            if getattr(self, name) < 1:
                raise SingleHDRError(f"training config: validation.{name} must be >= 1")
        if self.holdout_files < 0 or self.seed < 0:
            raise SingleHDRError("training config: validation.holdout_files and validation.seed must be >= 0")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """A whole training run (see the module docstring for the YAML layout)."""

    model: str | dict
    stages: tuple[StageConfig, ...]
    data: dict = dataclasses.field(default_factory=dict)
    batch_size: int = 8
    seed: int = 0
    learning_rate: LearningRateConfig = LearningRateConfig()
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    log_every: int = 50
    validation: ValidationConfig = ValidationConfig()
    perceptual_weights: str | None = None
    ema_momentum: float | None = None
    """With a momentum ``m``, Adam keeps ``average = m * average + (1 - m) * weights`` after each
    step of a stage, and the stage's networks take the average when the stage ends (a checkpoint is
    saved then): less of the step-to-step noise of the last updates in the result (a window of about
    ``1 / (1 - m)`` steps). A run stopped inside a stage keeps the raw weights in its
    ``model.weights.h5``. None: the last step's weights."""
    init_from: str | None = None
    """Start a new run from these weights (a shipped model name, a SavedModel, a ``.keras`` file
    or another run folder: anything :func:`singlehdr_tf.loading.load_model` takes; the model configs
    must match). Ignored when the run resumes from its own checkpoints. This is how training
    continues on a new machine from the weights committed to ``saved_models/``."""
    reinitialize: tuple[str, ...] = ()
    """Networks (of :data:`NETWORKS`), or layers of them (``network/layer``, e.g.
    ``linearization/to_weights``), that keep their fresh random weights instead of those of
    ``init_from``: for a part whose design changed, so its old weights mean something else."""
    precision: str = "float32"
    """``float32`` or ``mixed_bfloat16`` (Keras' mixed policy: bfloat16 compute on CPUs with
    AVX512-BF16, float32 variables; the curve, its application, the residual sums and the losses
    stay float32, see :data:`singlehdr_tf.models.FLOAT32_PARTS`)."""

    def __post_init__(self) -> None:
        if not self.stages:
            raise SingleHDRError("training config: stages is empty; list at least one {stage, steps}")
        names = [stage.stage for stage in self.stages]
        if len(set(names)) != len(names):
            raise SingleHDRError(f"training config: stages: each stage may appear once, got {names}")
        for name in ("batch_size", "checkpoint_every", "keep_checkpoints", "log_every"):
            if getattr(self, name) < 1:
                raise SingleHDRError(f"training config: {name} must be >= 1, got {getattr(self, name)}")
        if self.seed < 0:
            raise SingleHDRError("training config: seed must be >= 0")
        if self.ema_momentum is not None and not 0.0 <= self.ema_momentum < 1.0:
            raise SingleHDRError(f"training config: ema_momentum must be in [0, 1), got {self.ema_momentum}")
        unknown = [name for name in self.reinitialize if name.split("/")[0] not in NETWORKS]
        if unknown:
            raise SingleHDRError(f"training config: reinitialize: unknown networks {unknown}; known: {list(NETWORKS)}")
        if self.precision not in PRECISIONS:
            raise SingleHDRError(f"training config: precision must be one of {list(PRECISIONS)}, got {self.precision!r}")
        if self.reinitialize and not self.init_from:
            raise SingleHDRError("training config: reinitialize needs init_from (without it every network is fresh)")
        # DataConfig validates its own keys and values.
        self.data_config()

    def data_config(self):
        """The data section as a :class:`singlehdr_tf.data.DataConfig`."""
        from singlehdr_tf.data import DataConfig

        return DataConfig.from_dict(self.data)

    def model_config(self) -> dict:
        """The model section resolved to the ``SingleHDR`` constructor arguments."""
        from singlehdr_tf.models import MODEL_CONFIGS

        if isinstance(self.model, dict) and "preset" in self.model:  # a named config with some values changed
            preset = self.model["preset"]
            if preset not in MODEL_CONFIGS:
                raise SingleHDRError(f"training config: model preset {preset!r} is not one of {sorted(MODEL_CONFIGS)}")
            changes = {key: value for key, value in self.model.items() if key != "preset"}
            return copy.deepcopy({**MODEL_CONFIGS[preset], **changes})
        if isinstance(self.model, dict):
            return copy.deepcopy(self.model)
        if self.model not in MODEL_CONFIGS:
            raise SingleHDRError(f"training config: model {self.model!r} is not one of {sorted(MODEL_CONFIGS)}")
        return copy.deepcopy(MODEL_CONFIGS[self.model])

    @property
    def total_steps(self) -> int:
        return sum(stage.steps for stage in self.stages)

    def stage_at(self, step: int) -> tuple[StageConfig, int]:
        """The stage that trains global step ``step`` (0-based) and the step's index within it."""
        start = 0
        for stage in self.stages:
            if step < start + stage.steps:
                return stage, step - start
            start += stage.steps
        raise ValueError(f"step {step} is past the last stage ({self.total_steps} steps)")

    def uses_perceptual(self) -> bool:
        return any(stage_weights(stage.stage, stage.loss_weights).get("perceptual") and stage.steps
                   for stage in self.stages)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (the YAML form); :func:`from_dict` of this gives an equal config."""
        values = dataclasses.asdict(self)
        values["stages"] = [
            {key: value for key, value in stage.items() if value is not None} for stage in values["stages"]
        ]
        values["reinitialize"] = list(values["reinitialize"])
        return values


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind))


def _check(where: str, value: Any, kind: Any) -> Any:
    """Check ``value`` against the annotation ``kind``; dataclasses recurse through :func:`_build`."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _check(where, value, option)
            except SingleHDRError as error:
                errors.append(error)
        raise errors[-1] if len(errors) == 1 else SingleHDRError(
            f"training config: {where} must be one of {[_type_name(o) for o in options]}, got {value!r}"
        )
    if origin is tuple:  # tuple[StageConfig, ...]
        if not isinstance(value, (list, tuple)):
            raise SingleHDRError(f"training config: {where} must be a list, got {value!r}")
        item = typing.get_args(kind)[0]
        return tuple(_check(f"{where}[{index}]", entry, item) for index, entry in enumerate(value))
    if origin is dict:  # dict[str, float]
        if not isinstance(value, dict):
            raise SingleHDRError(f"training config: {where} must be a mapping, got {value!r}")
        key_kind, value_kind = typing.get_args(kind)
        return {_check(f"{where} key", key, key_kind): _check(f"{where}.{key}", entry, value_kind)
                for key, entry in value.items()}
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, where)
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SingleHDRError(f"training config: {where} must be a number, got {value!r}")
        return float(value)
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise SingleHDRError(f"training config: {where} must be {_type_name(kind)}, got {value!r}")
    return value


def _build(cls: type, values: Any, where: str = ""):
    """``cls(**values)`` with unknown keys, missing keys and wrong types reported by name."""
    prefix = f"{where}." if where else ""
    if not isinstance(values, dict):
        raise SingleHDRError(f"training config: {where or 'the file'} must be a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    fields = {field.name: field for field in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise SingleHDRError(
            f"training config: unknown keys {[prefix + key for key in unknown]}; known: {sorted(fields)}")
    missing = [
        name
        for name, field in fields.items()
        if name not in values and field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise SingleHDRError(f"training config: missing required keys {[prefix + key for key in missing]}")
    return cls(**{name: _check(prefix + name, value, hints[name]) for name, value in values.items()})


def from_dict(values: dict[str, Any]) -> TrainConfig:
    """Validate a plain dict (a parsed YAML file) into a :class:`TrainConfig`."""
    return _build(TrainConfig, values)


def load_config(config: str | os.PathLike | dict | TrainConfig) -> TrainConfig:
    """A :class:`TrainConfig` from a YAML path, a dict, or a config (returned as is)."""
    if isinstance(config, TrainConfig):
        return config
    if isinstance(config, dict):
        return from_dict(config)
    path = pathlib.Path(config)
    try:
        values = yaml.safe_load(path.read_text())
    except OSError as error:
        raise SingleHDRError(f"{os.fspath(path)}: cannot read the training config ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise SingleHDRError(f"{os.fspath(path)}: not valid YAML ({error})") from None
    try:
        return from_dict(values)
    except SingleHDRError as error:
        raise SingleHDRError(f"{os.fspath(path)}: {error}") from None


def changed_fields(old: Any, new: Any, where: str = "") -> list[str]:
    """``"name: old -> new"`` for each entry that differs between two plain (YAML-like) values,
    names dotted (``model.filters``, ``stages[1].steps``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        names = []
        for key in sorted(set(old) | set(new), key=str):
            names += changed_fields(old.get(key), new.get(key), f"{where}.{key}" if where else str(key))
        return names
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)) and len(old) == len(new):
        names = []
        for index, (a, b) in enumerate(zip(old, new)):
            names += changed_fields(a, b, f"{where}[{index}]")
        return names
    return [] if old == new else [f"{where or '(whole value)'}: {old!r} -> {new!r}"]
