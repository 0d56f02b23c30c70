"""Training: configs, every stage's step, run directories, resume, robustness, tf.distribute.

Everything runs the "tiny" model on 16x16 crops of small synthetic HDR images made here. Runs that
need a fresh TensorFlow (op determinism, logical devices, signals, clusters) are subprocesses.
"""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml

from singlehdr_tf import SingleHDRError, api, camera, crf, io
from singlehdr_tf.loading import named_weights
from singlehdr_tf.models import build_model
from singlehdr_tf.training import STAGES, load_config, make_strategy, stages, steps, train
from singlehdr_tf.training.loop import _initialise_from, _split_files
from singlehdr_tf.training.steps import make_train_step

REPO = pathlib.Path(__file__).resolve().parents[1]
TINY = REPO / "configs" / "tiny.yaml"
SUBPROCESS_TIMEOUT = 240


def smooth_hdr(rng: np.random.Generator, height: int = 32, width: int = 64, sun_sigma: float = 8.0,
               sun_peak: float = 8.0) -> np.ndarray:
    """A smooth scene (slow sinusoidal shading) with one sun far above the clipping level."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.empty((height, width, 3), np.float32)
    for channel in range(3):
        fy, fx, phase = rng.uniform(0.2, 0.6), rng.uniform(0.2, 0.6), rng.uniform(0.0, 2 * np.pi)
        image[..., channel] = 0.3 + 0.2 * np.sin(2 * np.pi * (fy * y / height + fx * x / width) + phase)
    cy, cx = rng.uniform(0, height), rng.uniform(0, width)
    sun = np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * sun_sigma**2))
    return image + sun_peak * sun[..., None]


@pytest.fixture(scope="module")
def hdr_dir(tmp_path_factory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("hdr")
    rng = np.random.default_rng(0)
    for index in range(3):
        io.write_hdr(folder / f"scene{index}.hdr", smooth_hdr(rng))
    return folder


def tiny_config(**overrides) -> dict:
    config = yaml.safe_load(TINY.read_text())
    config.update(overrides)
    return config


def write_config(path: pathlib.Path, config: dict) -> pathlib.Path:
    path.write_text(yaml.safe_dump(config))
    return path


def python(*args, env: dict | None = None, **kwargs) -> subprocess.Popen:
    """A Python subprocess importing this checkout, with quiet TensorFlow logs."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.Popen([sys.executable, *map(str, args)], cwd=REPO, env=environment, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)


def finish(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=SUBPROCESS_TIMEOUT)
    return output


def checkpoint_values(path: str) -> dict[str, np.ndarray]:
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if not name.startswith("_CHECKPOINTABLE_OBJECT_GRAPH")}


# --- configs -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tiny", "lite", "paper"])
def test_shipped_configs_are_valid(name):
    config = load_config(REPO / "configs" / f"{name}.yaml")
    assert config.total_steps > 0
    assert {stage.stage for stage in config.stages} <= set(STAGES)
    build_model(config.model_config()) if name == "tiny" else config.model_config()
    config.data_config()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"epochs": 3}, r"unknown keys \['epochs'\]"),
        ({"batch_size": "8"}, "batch_size must be int"),
        ({"learning_rate": {"initial": 1e-3, "decay": 0.5}}, r"learning_rate.decay"),
        ({"learning_rate": {"schedule": "step"}}, "schedule must be one of"),
        ({"stages": [{"stage": "pretrain", "steps": 2}]}, "unknown stage 'pretrain'"),
        ({"stages": [{"stage": "joint", "steps": 1}, {"stage": "joint", "steps": 1}]}, "each stage may appear once"),
        ({"stages": [{"stage": "joint"}]}, r"missing required keys \['stages\[0\].steps'\]"),
        ({"data": {"crop": 16}}, "data config: unknown keys"),
        ({"validation": {"every": 0}}, "validation.every must be >= 1"),
        ({"model": 3}, "model must be one of"),
        ({"stages": [{"stage": "linearization", "steps": 1, "loss_weights": {"perceptual": 1.0}}]},
         r"linearization loss_weights: stage 'linearization' has no loss terms \['perceptual'\]"),
        ({"stages": [{"stage": "joint", "steps": 1, "loss_weights": {"linear": -1.0}}]}, "numbers >= 0"),
        ({"stages": [{"stage": "joint", "steps": 1, "loss_weights": {"linear": "high"}}]},
         r"loss_weights.linear must be a number"),
        ({"stages": [{"stage": "joint", "steps": 1, "loss_weights": [1.0]}]}, "loss_weights must be a mapping"),
    ],
)
def test_bad_configs_are_refused_naming_the_key(change, message):
    with pytest.raises(SingleHDRError, match=message):
        load_config(tiny_config(**change))


def test_yaml_errors_name_the_file(tmp_path):
    path = write_config(tmp_path / "bad.yaml", tiny_config(batch_size=0))
    with pytest.raises(SingleHDRError, match="bad.yaml: training config: batch_size must be >= 1"):
        load_config(path)
    with pytest.raises(SingleHDRError, match="missing.yaml: cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_stage_at_maps_global_steps_to_stages():
    config = load_config(tiny_config(stages=[{"stage": "dequantization", "steps": 3},
                                             {"stage": "joint", "steps": 2, "learning_rate": 1e-5}]))
    assert [(config.stage_at(step)[0].stage, config.stage_at(step)[1]) for step in range(5)] == [
        ("dequantization", 0), ("dequantization", 1), ("dequantization", 2), ("joint", 0), ("joint", 1)]
    with pytest.raises(ValueError):
        config.stage_at(5)


def test_unknown_strategy_is_refused():
    with pytest.raises(SingleHDRError, match="unknown strategy"):
        make_strategy("tpu")


# --- one step of each stage ----------------------------------------------------------------


@pytest.fixture(scope="module")
def fixed_batch():
    """Two 16x16 scenes through the camera model with two DoRF training curves: every input and
    target a stage needs, made without the data pipeline's random augmentations."""
    rng = np.random.default_rng(0)
    hdr = tf.constant(np.stack([smooth_hdr(rng, 16, 16, sun_sigma=2.0, sun_peak=30.0) for _ in range(2)]))
    curves = crf.training_curves()[[5, 50]]
    stages = camera.forward(hdr, curves)
    return {"ldr": stages.ldr, "nonlinear": stages.nonlinear, "clipped": stages.clipped,
            "inverse_crf": tf.constant(crf.invert_curve(curves)), "hdr": hdr}


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_overfits_a_fixed_batch(fixed_batch, stage):
    keras.utils.set_random_seed(0)
    model = build_model("tiny")
    model(fixed_batch["ldr"])
    step = make_train_step(model, stage, keras.optimizers.Adam(5e-3), tf.distribute.get_strategy(), 2)
    # The curve's error in stops (inverse_crf_log) needs the toe fitted too, which takes the tiny
    # model ~350 steps (it gets there: the basis fits these curves to 1e-4 stops^2).
    history = [float(step(fixed_batch)["loss"]) for _ in range({"linearization": 400, "joint": 200}.get(stage, 120))]
    assert np.isfinite(history).all()
    assert history[0] > 0.0
    # Joint: on two images the Dequantization-Net and the curve bend to the 10x linear term instead
    # of their own targets, so the curve terms stay near their start and the total drops ~7x.
    # Linearization reads the 8-bit input, as at inference: its quantization leaves the linear
    # term a floor (the loss drops ~9x in these steps).
    factor = {"joint": 5, "linearization": 7}.get(stage, 10)
    assert np.mean(history[-5:]) < history[0] / factor, f"{stage}: loss {history[0]:.3g} -> {history[-5:]}"


def test_a_stage_trains_only_its_networks(fixed_batch):
    model = build_model("tiny")
    model(fixed_batch["ldr"])
    before = {name: [w.numpy() for w in getattr(model, name).weights] for name in ("dequantization", "refinement")}
    step = make_train_step(model, "refinement", keras.optimizers.Adam(1e-2), tf.distribute.get_strategy(), 2)
    step(fixed_batch)
    unchanged = [np.array_equal(a, b.numpy()) for a, b in zip(before["dequantization"], model.dequantization.weights)]
    changed = [not np.array_equal(a, b.numpy()) for a, b in zip(before["refinement"], model.refinement.weights)]
    assert all(unchanged) and any(changed)


# --- runs ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_run(hdr_dir, tmp_path_factory):
    """The tiny config (every stage) with the perceptual term on a random VGG16 and the curve's log
    term off in the linearization stage, stopped at max_steps, then resumed to the end; returns
    (run_dir, config, outputs of both calls)."""
    folder = tmp_path_factory.mktemp("run")
    vgg = folder / "vgg16_random.weights.h5"
    keras.applications.VGG16(weights=None, include_top=False, input_shape=(None, None, 3)).save_weights(vgg)
    config = tiny_config(perceptual_weights=str(vgg))
    config["stages"][1]["loss_weights"] = {"inverse_crf_log": 0.0}
    run_dir = folder / "run"
    first = train(config, hdr_dir, run_dir, max_steps=5)
    second = train(config, hdr_dir, run_dir)
    return run_dir, config, first, second


def test_run_stops_at_max_steps_and_resumes_to_the_end(finished_run):
    run_dir, config, first, second = finished_run
    assert (first.step, first.stopped_by, first.completed) == (5, "max_steps", False)
    assert (second.step, second.stopped_by, second.completed) == (10, None, True)
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 11))


def test_run_directory_layout(finished_run, fixed_batch):
    run_dir, config, *_ = finished_run
    stored = load_config(run_dir / "config.yaml")
    assert stored.model_config() == json.loads(json.dumps(load_config(config).model_config()))
    checkpoints = tf.train.get_checkpoint_state(run_dir / "checkpoints").all_model_checkpoint_paths
    assert [path.rsplit("-", 1)[1] for path in checkpoints] == ["6", "8", "10"]  # keep_checkpoints: 3
    model = build_model(json.loads((run_dir / "model_config.json").read_text()))
    model(fixed_batch["ldr"])
    model.load_weights(run_dir / "model.weights.h5")
    restored = build_model(json.loads((run_dir / "model_config.json").read_text()))
    restored(fixed_batch["ldr"])
    tf.train.Checkpoint(weights=named_weights(restored)).restore(checkpoints[-1]).expect_partial()
    assert len(model.weights) == len(restored.weights)
    for exported, checkpointed in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(exported.numpy(), checkpointed.numpy(), err_msg=exported.path)
    model.linearization.load_weights(run_dir / "best_linearization.weights.h5")
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))


def test_metrics_and_validation_logs(finished_run):
    run_dir, *_ = finished_run
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    by_stage = {record["stage"]: record for record in records}
    assert set(by_stage) == set(STAGES)
    assert "perceptual" in by_stage["hallucination"] and "perceptual" in by_stage["joint"]
    assert set(by_stage["linearization"]) >= {"loss", "linear", "inverse_crf", "grad_norm", "learning_rate",
                                              "steps_per_second", "images_per_second"}
    assert "inverse_crf_log" not in by_stage["linearization"] and "inverse_crf_log" in by_stage["joint"]
    validations = [json.loads(line) for line in (run_dir / "validation.jsonl").read_text().splitlines()]
    assert [v["step"] for v in validations] == [5, 10]
    for record in validations:
        assert 0 < record["curve_l2_g0"] < 1 and 0 < record["curve_l2_gamma22"] < 1
        assert record["curve_log_l2"] > 0 and record["curve_log_l2_g0"] > 0
        assert record["best_curve_l2"] == min(v["curve_l2"] for v in validations if v["step"] <= record["step"])
        assert all(np.isfinite(value) for key, value in record.items() if key != "stage")


def test_resume_refuses_a_changed_model(finished_run, hdr_dir):
    run_dir, config, *_ = finished_run
    stored = (run_dir / "config.yaml").read_text()
    model = {**load_config(config).model_config(), "hallucination_filters": [4, 12]}
    with pytest.raises(SingleHDRError, match=r"model.hallucination_filters\[1\]: 8 -> 12"):
        train({**config, "model": model}, hdr_dir, run_dir)
    with pytest.raises(SingleHDRError, match="already holds checkpoints"):
        train(config, hdr_dir, run_dir, resume=False)
    with pytest.raises(SingleHDRError, match="ema_momentum None -> 0.9: the moving average is part of the optimizer"):
        train({**config, "ema_momentum": 0.9}, hdr_dir, run_dir)
    assert (run_dir / "config.yaml").read_text() == stored


def test_validation_files_held_out_of_training(hdr_dir):
    files = sorted(hdr_dir.iterdir())
    config = load_config(tiny_config(validation={"holdout_files": 1}))
    assert _split_files(config, hdr_dir, None) == (files[:-1], files[-1:])
    assert _split_files(config, hdr_dir, hdr_dir) == (files, files)  # a validation folder wins
    with pytest.raises(SingleHDRError, match="leaves no training image"):
        _split_files(load_config(tiny_config(validation={"holdout_files": 3})), hdr_dir, None)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(hdr_dir, tmp_path, monkeypatch):
    calls = tf.Variable(0)
    stage_loss = stages.stage_loss

    def poisoned(stage, outputs, batch, perceptual=None, weight_overrides=None):  # the 4th step's loss is NaN
        total, terms = stage_loss(stage, outputs, batch, perceptual, weight_overrides)
        calls.assign_add(1)
        return total + tf.where(calls >= 4, np.nan, 0.0), terms

    monkeypatch.setattr(steps, "stage_loss", poisoned)
    config = tiny_config(stages=[{"stage": "dequantization", "steps": 8}])
    with pytest.raises(SingleHDRError, match="diverged at step 4"):
        train(config, hdr_dir, tmp_path / "run")
    state = tf.train.get_checkpoint_state(tmp_path / "run" / "checkpoints")
    assert state.model_checkpoint_path.endswith("ckpt-2")
    assert not (tmp_path / "run" / "model.weights.h5").exists()
    values = checkpoint_values(state.model_checkpoint_path)
    assert all(np.isfinite(value).all() for value in values.values() if np.issubdtype(value.dtype, np.floating)
               and value.dtype != np.float64)  # best_curve_l2 is inf before the first validation


def test_sigterm_saves_a_checkpoint_and_exits_cleanly(hdr_dir, tmp_path):
    config = tiny_config(stages=[{"stage": "hallucination", "steps": 100000}], checkpoint_every=100000,
                         validation={"every": 100000, "batches": 1, "batch_size": 2})
    run_dir = tmp_path / "run"
    process = python("-m", "singlehdr_tf.training", write_config(tmp_path / "c.yaml", config),
                     "--data", hdr_dir, "--out", run_dir)
    metrics = run_dir / "metrics.jsonl"
    deadline = time.monotonic() + SUBPROCESS_TIMEOUT
    while not (metrics.exists() and len(metrics.read_text().splitlines()) >= 3):
        assert process.poll() is None and time.monotonic() < deadline, finish(process)
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    output = finish(process)
    assert process.returncode == 0, output
    last_step = json.loads(metrics.read_text().splitlines()[-1])["step"]
    assert tf.train.latest_checkpoint(run_dir / "checkpoints").endswith(f"ckpt-{last_step}")
    assert f"stopped (SIGTERM) at step {last_step}/100000" in output
    assert (run_dir / "model.weights.h5").exists()
    assert output.count("perceptual loss off") == 1


KILLABLE_RUN = """
import os, signal, sys
import tensorflow as tf
tf.config.experimental.enable_op_determinism()
from singlehdr_tf.training import train
config, data, out, kill_at = sys.argv[1:5]

def die(step, metrics):
    if step == int(kill_at):
        os.kill(os.getpid(), signal.SIGKILL)

train(config, data, out, step_callback=die)
"""


def test_sigkill_and_resume_give_the_weights_of_an_uninterrupted_run(hdr_dir, tmp_path):
    script = tmp_path / "run.py"
    script.write_text(KILLABLE_RUN)
    # Checkpoints at steps 2 (dequantization) and 4 (linearization, one step in), validations at 5
    # and 6: the kill falls in the second stage, after a stage change (its optimizer state) and
    # before a validation (the best curve error it keeps).
    config = write_config(tmp_path / "c.yaml", tiny_config(
        stages=[{"stage": "dequantization", "steps": 3}, {"stage": "linearization", "steps": 3}]))
    straight = python(script, config, hdr_dir, tmp_path / "straight", 0)
    killed = python(script, config, hdr_dir, tmp_path / "killed", 5)  # after its second checkpoint
    output = finish(killed)
    assert killed.returncode == -signal.SIGKILL, output
    assert tf.train.latest_checkpoint(tmp_path / "killed" / "checkpoints").endswith("ckpt-4")
    resumed = python(script, config, hdr_dir, tmp_path / "killed", 0)
    outputs = finish(resumed), finish(straight)
    assert resumed.returncode == 0 and straight.returncode == 0, outputs
    assert "resumed" in outputs[0] and "at step 4" in outputs[0]
    a = checkpoint_values(tf.train.latest_checkpoint(tmp_path / "straight" / "checkpoints"))
    b = checkpoint_values(tf.train.latest_checkpoint(tmp_path / "killed" / "checkpoints"))
    assert a.keys() == b.keys() and any("optimizer" in name for name in a)
    different = [name for name in a if not np.array_equal(a[name], b[name])]
    assert not different, different


MIRRORED_RUN = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from singlehdr_tf.training import train
config, data, out = sys.argv[1:4]
losses = {}
for name, strategy in [("default", tf.distribute.get_strategy()),
                       ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))]:
    losses[name] = []
    train(config, data, f"{out}/{name}", strategy=strategy,
          step_callback=lambda step, metrics: losses[name].append(metrics["loss"]))
    losses[name + "_replicas"] = strategy.num_replicas_in_sync
print("RESULT " + json.dumps(losses))
"""


def test_mirrored_strategy_on_two_cpu_devices_matches_one_device(hdr_dir, tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED_RUN)
    config = tiny_config(stages=[{"stage": "dequantization", "steps": 2}, {"stage": "linearization", "steps": 1}])
    process = python(script, write_config(tmp_path / "c.yaml", config), hdr_dir, tmp_path)
    output = finish(process)
    assert process.returncode == 0, output
    result = json.loads(output.split("RESULT ", 1)[1].splitlines()[0])
    assert result["default_replicas"] == 1 and result["mirrored_replicas"] == 2
    assert len(result["mirrored"]) == 3 and np.isfinite(result["mirrored"]).all()
    # The same batches split over two replicas: the dequantization steps (no batch norm) match.
    np.testing.assert_allclose(result["mirrored"][:2], result["default"][:2], rtol=1e-4)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def test_multi_worker_mirrored_strategy_on_two_local_workers(hdr_dir, tmp_path):
    config = write_config(tmp_path / "c.yaml", tiny_config(stages=[{"stage": "dequantization", "steps": 3}]))
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = [
        python("-m", "singlehdr_tf.training", config, "--data", hdr_dir, "--out", tmp_path / "run",
               "--strategy", "multi_worker",
               env={"TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})})
        for i in range(2)
    ]
    outputs = [finish(process) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert "finished at step 3/3" in outputs[0] and "step 1/3" not in outputs[1]  # the chief logs
    assert tf.train.latest_checkpoint(tmp_path / "run" / "checkpoints").endswith("ckpt-3")
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3] and all(np.isfinite(r["loss"]) for r in records)


def test_ema_stages_end_on_the_moving_average_and_resume_with_it(hdr_dir, tmp_path):
    config = tiny_config(stages=[{"stage": "linearization", "steps": 4}, {"stage": "refinement", "steps": 1}],
                         ema_momentum=0.5, checkpoint_every=100)

    def linearization_weights(run_dir):
        return [weight.numpy() for weight in api.load_model(run_dir).linearization.weights]

    train(config, hdr_dir, tmp_path / "ema")
    train(config, hdr_dir, tmp_path / "ema_resumed", max_steps=2)
    train(config, hdr_dir, tmp_path / "ema_resumed")
    train({**config, "ema_momentum": None}, hdr_dir, tmp_path / "last_step")
    checkpoints = tf.train.get_checkpoint_state(tmp_path / "ema" / "checkpoints").all_model_checkpoint_paths
    assert [path.rsplit("-", 1)[1] for path in checkpoints] == ["4", "5"]  # each stage's end
    averaged, resumed, last = (linearization_weights(tmp_path / name) for name in ("ema", "ema_resumed", "last_step"))
    for mine, theirs in zip(averaged, resumed):
        np.testing.assert_allclose(mine, theirs, atol=1e-6)
    assert max(np.abs(mine - theirs).max() for mine, theirs in zip(averaged, last)) > 1e-4
    with pytest.raises(SingleHDRError, match=r"ema_momentum must be in \[0, 1\)"):
        load_config({**config, "ema_momentum": 1.0})


def test_a_new_run_can_start_from_trained_weights(finished_run, fixed_batch):
    run_dir, config, *_ = finished_run
    trained = api.load_model(run_dir)
    fresh = build_model(load_config(config).model_config())
    fresh(fixed_batch["ldr"])
    _initialise_from(fresh, str(run_dir))
    for mine, theirs in zip(fresh.weights, trained.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy(), err_msg=mine.path)
    other = build_model({**load_config(config).model_config(), "hallucination_filters": [4, 12]})
    other(fixed_batch["ldr"])
    with pytest.raises(SingleHDRError, match="another model .*hallucination/encoder1"):
        _initialise_from(other, str(run_dir))
    _initialise_from(other, str(run_dir), ("hallucination",))  # the changed network kept fresh


def test_reinitialize_can_name_one_layer(finished_run, fixed_batch):
    run_dir, config, *_ = finished_run
    trained = {v.path.split("/", 1)[1]: v.numpy() for v in api.load_model(run_dir).weights}
    fresh = build_model(load_config(config).model_config())
    fresh(fixed_batch["ldr"])
    before = fresh.linearization.to_weights.kernel.numpy()
    _initialise_from(fresh, str(run_dir), ("linearization/to_weights",))
    np.testing.assert_array_equal(fresh.linearization.to_weights.kernel.numpy(), before)
    np.testing.assert_array_equal(fresh.linearization.stem.kernel.numpy(), trained["linearization/stem/kernel"])


def test_mixed_bfloat16_runs_bfloat16_convolutions_and_keeps_float32_stages(hdr_dir, tmp_path):
    config = tiny_config(precision="mixed_bfloat16", stages=[{"stage": "joint", "steps": 2}])
    train(load_config(config), hdr_dir, tmp_path / "run")
    model = api.load_model(tmp_path / "run")
    assert all(v.dtype == "float32" for v in model.weights)
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        mixed = build_model("tiny")
    finally:
        keras.config.set_dtype_policy("float32")
    assert mixed.hallucination.encoder_blocks[0].conv_layers[0].compute_dtype == "bfloat16"
    outputs = mixed(np.random.default_rng(0).random((1, 16, 16, 3)).astype(np.float32))
    assert {str(value.dtype) for value in outputs.values()} == {"<dtype: 'float32'>"}
    assert keras.config.dtype_policy().name == "float32"  # training set the policy for its model only
    with pytest.raises(SingleHDRError, match="precision must be one of"):
        load_config(tiny_config(precision="float16"))


def test_a_new_run_can_keep_some_networks_fresh(finished_run, fixed_batch):
    run_dir, config, *_ = finished_run
    trained = api.load_model(run_dir)
    fresh = build_model(load_config(config).model_config())
    fresh(fixed_batch["ldr"])
    before = [w.numpy() for w in fresh.refinement.weights]
    _initialise_from(fresh, str(run_dir), ("refinement",))
    for mine, theirs in zip(fresh.linearization.weights, trained.linearization.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy(), err_msg=mine.path)
    for mine, kept in zip(fresh.refinement.weights, before):
        np.testing.assert_array_equal(mine.numpy(), kept, err_msg=mine.path)
    assert not all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(fresh.refinement.weights,
                                                                        trained.refinement.weights))


@pytest.mark.parametrize("overrides, message", [
    ({"init_from": "saved_models/lite", "reinitialize": ["refiner"]}, "unknown networks"),
    ({"reinitialize": ["refinement"]}, "reinitialize needs init_from"),
])
def test_reinitialize_is_checked(overrides, message):
    with pytest.raises(SingleHDRError, match=message):
        load_config(tiny_config(**overrides))


def test_a_model_preset_with_changed_values_resolves_to_the_preset_config():
    from singlehdr_tf.models import MODEL_CONFIGS
    from singlehdr_tf.training.config import from_dict

    config = from_dict({"model": {"preset": "tiny", "curve_basis": "camera_log"},
                        "stages": [{"stage": "linearization", "steps": 1}]})
    assert config.model_config() == {**MODEL_CONFIGS["tiny"], "curve_basis": "camera_log"}
    with pytest.raises(SingleHDRError, match="preset 'nano'"):
        from_dict({"model": {"preset": "nano"}, "stages": [{"stage": "linearization", "steps": 1}]}).model_config()


def test_validation_uses_the_dorf_curves_a_run_left_out_instead_of_the_test_curves(hdr_dir):
    from singlehdr_tf.data import DataConfig
    from singlehdr_tf.training.validation import validation_batches

    files = sorted(hdr_dir.iterdir())
    for held_out, bank in ((0, crf.test_curves()), (12, crf.held_out_training_curves(12))):
        config = DataConfig(crop_size=16, max_side=64, held_out_dorf_curves=held_out)
        (batch,) = validation_batches(files, config, batches=1, batch_size=4, seed=0)
        inverse_bank = crf.invert_curve(bank)
        assert all(np.abs(inverse_bank - curve).max(axis=1).min() < 1e-6 for curve in batch["inverse_crf"])
