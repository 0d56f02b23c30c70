"""The training loop: stages in order, checkpoints, resume, validation, logs, signals.

Resuming is exact: the checkpoint holds the model, every stage's Adam state and the global step,
and batch ``i`` of the data stream is a pure function of ``(seed, i)``
(:func:`singlehdr_tf.data.make_dataset` with ``start_batch``), so a resumed run sees the batches
an uninterrupted one would have seen.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from singlehdr_tf import loading
from singlehdr_tf.data import list_hdr_files, make_dataset
from singlehdr_tf.errors import SingleHDRError
from singlehdr_tf.models import build_model, copy_matching_weights
from singlehdr_tf.models.precision import dtype_policy
from singlehdr_tf.training import losses, tensorboard
from singlehdr_tf.training import run_dir as layout
from singlehdr_tf.training.config import StageConfig, TrainConfig, load_config
from singlehdr_tf.training.stages import set_stage
from singlehdr_tf.training.steps import make_train_step
from singlehdr_tf.training.validation import Validator, validation_batches

StepCallback = Callable[[int, dict[str, float]], None]


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """How :func:`train` ended: at ``step`` of ``total_steps``; ``stopped_by`` is None when the run
    completed, ``"max_steps"``, or the name of the signal that stopped it (``"SIGTERM"``)."""

    run_dir: pathlib.Path
    step: int
    total_steps: int
    stopped_by: str | None

    @property
    def completed(self) -> bool:
        return self.step >= self.total_steps


def make_strategy(name: str = "default") -> tf.distribute.Strategy:
    """``"default"`` (``tf.distribute.get_strategy()``: one device), ``"mirrored"`` (every local
    GPU, or the CPU) or ``"multi_worker"`` (``MultiWorkerMirroredStrategy``, cluster from
    ``TF_CONFIG``)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise SingleHDRError(f"unknown strategy {name!r}; expected default, mirrored or multi_worker")


def _worker(strategy: tf.distribute.Strategy) -> tuple[bool, int]:
    """``(is_chief, task_id)``: the chief writes the run directory; other workers only compute."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True, 0
    task_type, task_id = resolver.task_type, resolver.task_id or 0
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "chief" or (not has_chief and task_type == "worker" and task_id == 0), task_id


def _learning_rate(config: TrainConfig, stage: StageConfig):
    """The stage's Adam learning rate: warm-up, then constant or cosine decay over the stage."""
    schedule = config.learning_rate
    peak = stage.learning_rate or schedule.initial
    alpha = 1.0 if schedule.schedule == "constant" else schedule.final_fraction
    decay_steps = max(1, stage.steps - schedule.warmup_steps)
    if schedule.warmup_steps:
        return keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps, alpha=alpha, warmup_target=peak, warmup_steps=schedule.warmup_steps
        )
    return keras.optimizers.schedules.CosineDecay(peak, decay_steps, alpha=alpha)


def _split_files(config: TrainConfig, data_dir, val_dir) -> tuple[list, list]:
    """Training files and validation files (see :class:`~singlehdr_tf.training.config.ValidationConfig`)."""
    train_files = list_hdr_files(data_dir)
    val_dir = val_dir or config.validation.data_dir
    if val_dir:
        return train_files, list_hdr_files(val_dir)
    held_out = config.validation.holdout_files
    if held_out:
        if held_out >= len(train_files):
            raise SingleHDRError(
                f"{os.fspath(data_dir)}: validation.holdout_files={held_out} leaves no training image "
                f"({len(train_files)} files)"
            )
        return train_files[:-held_out], train_files[-held_out:]
    return train_files, train_files


class _StopSignals:
    """Turns SIGTERM and SIGINT into a flag the loop checks after each step (a second SIGINT
    interrupts at once). Only installs handlers in the main thread."""

    def __init__(self):
        self.received: str | None = None
        self._previous: dict = {}

    def _handle(self, signum, frame):
        if self.received == "SIGINT" and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signal.Signals(signum).name
        print(f"{self.received} received: saving a checkpoint after this step", flush=True)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


class _Progress:
    """Means of the step metrics since the last log line, and the speed over that window."""

    def __init__(self, step: int, batch_size: int):
        self.batch_size = batch_size
        self._reset(step)

    def _reset(self, step: int) -> None:
        self.start_step, self.start_time, self.sums = step, time.perf_counter(), {}

    def add(self, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            self.sums[name] = self.sums.get(name, 0.0) + value

    def flush(self, step: int, stage: str, total: int, learning_rate: float) -> dict:
        count = max(1, step - self.start_step)
        seconds = max(time.perf_counter() - self.start_time, 1e-9)
        record = {
            "step": step,
            "stage": stage,
            **{name: value / count for name, value in self.sums.items()},
            "learning_rate": learning_rate,
            "steps_per_second": count / seconds,
            "images_per_second": count * self.batch_size / seconds,
            "time": time.time(),
        }
        eta = (total - step) * seconds / count
        terms = " ".join(
            f"{name} {record[name]:.3e}" for name in sorted(self.sums) if name not in ("loss", "grad_norm"))
        print(
            f"[{stage}] step {step}/{total} loss {record['loss']:.4e} ({terms}) "
            f"{record['steps_per_second']:.2f} steps/s {record['images_per_second']:.1f} img/s "
            f"ETA {time.strftime('%H:%M:%S', time.gmtime(eta)) if eta < 86400 else f'{eta / 3600:.0f}h'}",
            flush=True,
        )
        self._reset(step)
        return record


def _initialise_from(model: keras.Model, source: str, keep_fresh: tuple[str, ...] = ()) -> None:
    """Copy the weights of ``source`` (see ``TrainConfig.init_from`` and :func:`singlehdr_tf.loading.read_weights`)
    into ``model`` variable by variable (:func:`singlehdr_tf.models.copy_matching_weights`), except
    those under the networks or layers named in ``keep_fresh`` (``TrainConfig.reinitialize``). The
    two models may differ in weight-free settings (curve basis, shrinkage, switched-off stages) and
    in the parts named in ``keep_fresh``; any other variable without a match is an error."""
    missing = copy_matching_weights(loading.read_weights(source), model, skip=keep_fresh)
    if missing:
        raise SingleHDRError(f"init_from {source}: another model (no weights of this shape for "
                             f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}); "
                             "name changed parts in reinitialize")


class _Run:
    """State of one :func:`train` call (model, optimizers, checkpoint, logs) and its loop."""

    def __init__(self, config: TrainConfig, data_dir, run_dir, resume: bool, val_dir, strategy):
        self.config = config
        self.strategy = strategy
        self.chief, task_id = _worker(strategy)
        self.run_dir = pathlib.Path(run_dir)
        self.data_config = config.data_config()
        replicas = strategy.num_replicas_in_sync
        if config.batch_size % replicas:
            raise SingleHDRError(f"training config: batch_size {config.batch_size} is not a multiple of the "
                                 f"{replicas} replicas of the distribution strategy")
        self.train_files, val_files = _split_files(config, data_dir, val_dir)
        checkpoint_dir = self.run_dir / loading.CHECKPOINT_DIR
        has_checkpoint = tf.train.latest_checkpoint(checkpoint_dir) is not None
        if has_checkpoint and not resume:
            raise SingleHDRError(
                f"{os.fspath(self.run_dir)}: already holds checkpoints; resume it or choose a new run directory")
        changed = layout.prepare(self.run_dir, config, check=has_checkpoint, write=self.chief)
        if changed:
            self._say("resuming with a changed config: " + "; ".join(changed))

        keras.utils.set_random_seed(config.seed)
        crop = self.data_config.crop_size
        with strategy.scope():
            with dtype_policy(config.precision):
                self.model = build_model(config.model_config())
            self.model(tf.zeros([1, crop, crop, 3]))
            if config.init_from and not has_checkpoint:
                _initialise_from(self.model, config.init_from, config.reinitialize)
                fresh = f" (fresh: {', '.join(config.reinitialize)})" if config.reinitialize else ""
                self._say(f"initialised the weights from {config.init_from}{fresh}")
            self.optimizers = {}
            averaging = {} if config.ema_momentum is None else {"use_ema": True, "ema_momentum": config.ema_momentum}
            for stage in config.stages:
                optimizer = keras.optimizers.Adam(_learning_rate(config, stage), **averaging)
                optimizer.build(set_stage(self.model, stage.stage))
                self.optimizers[stage.stage] = optimizer
            self.perceptual = None
            if config.perceptual_weights and config.uses_perceptual():
                self.perceptual = losses.PerceptualLoss(config.perceptual_weights)
        if config.uses_perceptual() and self.perceptual is None:
            self._say("perceptual loss off: no VGG16 weights file (config key perceptual_weights)")
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.best_curve_l2 = tf.Variable(math.inf, dtype=tf.float64, trainable=False, name="best_curve_l2")
        self.checkpoint = tf.train.Checkpoint(
            weights=loading.named_weights(self.model), step=self.step, best_curve_l2=self.best_curve_l2,
            **{f"{name}_optimizer": optimizer for name, optimizer in self.optimizers.items()},
        )
        # Workers other than the chief write their (identical) checkpoints to a scratch folder.
        self._scratch = None if self.chief else tempfile.mkdtemp(prefix=f"singlehdr-worker{task_id}-")
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, self._scratch or checkpoint_dir, max_to_keep=config.keep_checkpoints,
            checkpoint_name="ckpt", step_counter=self.step,
        )
        if has_checkpoint:
            self.checkpoint.restore(tf.train.latest_checkpoint(checkpoint_dir)).assert_existing_objects_matched()
            self._say(f"resumed {os.fspath(self.run_dir)} at step {int(self.step)}")
        if self.chief:
            layout.save_model_config(self.run_dir, self.model)
            self.validator = Validator(self.model, validation_batches(
                val_files, self.data_config, batches=config.validation.batches,
                batch_size=config.validation.batch_size, seed=config.validation.seed))
            self.writer = tf.summary.create_file_writer(os.fspath(self.run_dir / layout.TENSORBOARD_DIR))

    def _say(self, message: str) -> None:
        """Print a progress message (from the chief only, so a cluster prints each message once)."""
        if self.chief:
            print(message, flush=True)

    def _iterator(self, step: int):
        """The distributed data stream positioned at global step ``step``."""
        config, files = self.config, self.train_files

        def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
            per_replica = context.get_per_replica_batch_size(config.batch_size)
            replicas_here = context.num_replicas_in_sync // context.num_input_pipelines
            seed = config.seed
            if context.num_input_pipelines > 1:  # each worker draws its own share of the stream
                seed = int(np.random.SeedSequence([config.seed, context.input_pipeline_id]).generate_state(1)[0] >> 1)
            return make_dataset(None, self.data_config, batch_size=per_replica, seed=seed, curves="train",
                                files=files, start_batch=step * replicas_here)

        return iter(self.strategy.distribute_datasets_from_function(dataset_fn))

    def _save(self) -> None:
        self.manager.save(checkpoint_number=int(self.step))
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def _validate(self, step: int, stage: str) -> None:
        metrics = self.validator()
        best = metrics["curve_l2"] < float(self.best_curve_l2)
        if best:
            self.best_curve_l2.assign(metrics["curve_l2"])
            layout.save_weights(self.model.linearization, self.run_dir / layout.BEST_LINEARIZATION_FILE)
        record = {"step": step, "stage": stage, **metrics, "best_curve_l2": float(self.best_curve_l2),
                  "time": time.time()}
        layout.append_jsonl(self.run_dir / layout.VALIDATION_FILE, record)
        print(
            f"[{stage}] validation at step {step}: curve L2 {metrics['curve_l2']:.3e} "
            f"(g0 {metrics['curve_l2_g0']:.3e}, gamma 2.2 {metrics['curve_l2_gamma22']:.3e}){' best' if best else ''}, "
            f"in stops {metrics['curve_log_l2']:.3f} (g0 {metrics['curve_log_l2_g0']:.3f}); "
            f"PSNR dequantized {metrics['dequantized_psnr']:.2f} (input {metrics['ldr_psnr']:.2f}) "
            f"linear {metrics['linear_psnr']:.2f} refined(tm) {metrics['refined_psnr_tm']:.2f}",
            flush=True,
        )
        with self.writer.as_default(step=step):
            for name, value in metrics.items():
                tensorboard.scalar(f"validation/{name}", value)
            for name, images in self.validator.sample_images().items():
                tensorboard.images(f"validation/{name}", images)

    def _log(self, record: dict) -> None:
        layout.append_jsonl(self.run_dir / layout.METRICS_FILE, record)
        with self.writer.as_default(step=record["step"]):
            for name in ("loss", "grad_norm", "learning_rate", "steps_per_second", *losses.TERMS):
                if name in record:
                    tensorboard.scalar(f"train/{name}", record[name])

    def run(self, max_steps: int | None, step_callback: StepCallback | None) -> TrainResult:
        config = self.config
        total = config.total_steps
        stop = total if max_steps is None else min(total, max_steps)
        step = int(self.step)
        progress = _Progress(step, config.batch_size)
        iterator = train_step = stage = None
        stopped_by = None
        with _StopSignals() as signals:
            while step < stop and stopped_by is None:
                stage_config, _ = config.stage_at(step)
                if stage_config.stage != stage:
                    stage = stage_config.stage
                    train_step = make_train_step(self.model, stage, self.optimizers[stage], self.strategy,
                                                 config.batch_size, self.perceptual, stage_config.loss_weights)
                    self._say(f"[{stage}] training {stage_config.steps} steps from step {step}")
                iterator = iterator or self._iterator(step)
                metrics = {name: float(value) for name, value in train_step(next(iterator)).items()}
                if not all(math.isfinite(value) for value in metrics.values()):
                    last = self.manager.latest_checkpoint if self.chief else None
                    raise SingleHDRError(
                        f"{os.fspath(self.run_dir)}: training diverged at step {step + 1} ({stage}): "
                        f"{', '.join(f'{k}={v}' for k, v in metrics.items())}. Nothing was saved from this state; "
                        f"the last good checkpoint is {last}. Lower the learning rate and resume."
                    )
                self.step.assign_add(1)
                step += 1
                progress.add(metrics)
                learning_rate = float(self.optimizers[stage].learning_rate)
                averaged_stage_ends = config.ema_momentum is not None and (
                    step == total or config.stage_at(step)[0].stage != stage)
                if averaged_stage_ends:
                    self.optimizers[stage].finalize_variable_values(set_stage(self.model, stage))
                    self._say(f"[{stage}] stage ends: its networks take the moving average of their weights")
                if self.chief and (step % config.log_every == 0 or step == stop):
                    self._log(progress.flush(step, stage, total, learning_rate))
                if self.chief and (step % config.validation.every == 0 or step == total):
                    self._validate(step, stage)
                if step % config.checkpoint_every == 0 or averaged_stage_ends:
                    self._save()
                if step_callback is not None:
                    step_callback(step, {**metrics, "learning_rate": learning_rate})
                stopped_by = signals.received
        if self.manager.latest_checkpoint is None or int(self.step) != self._latest_step():
            self._save()
        if stopped_by is None and step < total:
            stopped_by = "max_steps"
        if self.chief:
            set_stage(self.model, "joint")
            layout.save_weights(self.model, self.run_dir / loading.WEIGHTS_FILE)
            self.writer.flush()
            print(f"{'finished' if step >= total else f'stopped ({stopped_by})'} at step {step}/{total}; "
                  f"weights in {os.fspath(self.run_dir / loading.WEIGHTS_FILE)}", flush=True)
        return TrainResult(self.run_dir, step, total, stopped_by)

    def _latest_step(self) -> int:
        return int(self.manager.latest_checkpoint.rsplit("-", 1)[1])


def train(
    config: str | os.PathLike | dict | TrainConfig,
    data_dir: str | os.PathLike,
    run_dir: str | os.PathLike,
    *,
    resume: bool = True,
    max_steps: int | None = None,
    val_dir: str | os.PathLike | None = None,
    strategy: tf.distribute.Strategy | None = None,
    step_callback: StepCallback | None = None,
) -> TrainResult:
    """Train a SingleHDR model through the stages of ``config`` on the HDR images in ``data_dir``.

    Args:
        config: a YAML path, a dict or a :class:`TrainConfig`.
        data_dir: folder of training ``.hdr``/``.exr`` images.
        run_dir: where checkpoints, logs and the final weights go (layout in
            :mod:`singlehdr_tf.training`); created if missing.
        resume: continue from the run's latest checkpoint if it has one (otherwise such a run
            directory is refused).
        max_steps: stop at this global step (a checkpoint is saved), even if the stages go further.
        val_dir: validation images; overrides ``validation.data_dir`` of the config.
        strategy: a ``tf.distribute.Strategy``; default ``tf.distribute.get_strategy()``.
        step_callback: called after every step with the step number (1-based) and its metrics.

    Returns:
        A :class:`TrainResult`. SIGTERM or SIGINT stop the run after the current step with a
        checkpoint saved (``stopped_by`` names the signal).

    Raises:
        SingleHDRError: bad config, data or run directory (a resumed run whose model config changed
            is refused, naming the field), or a non-finite loss (the run stops; checkpoints keep the
            last good state).

    Example::

        result = train("configs/lite.yaml", "/data/hdr/train", "runs/lite")
    """
    run = _Run(load_config(config), data_dir, run_dir, resume, val_dir, strategy or tf.distribute.get_strategy())
    return run.run(max_steps, step_callback)
