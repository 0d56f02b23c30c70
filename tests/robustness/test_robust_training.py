"""Training and loading under bad data and mismatched files. The NaN loss, SIGTERM, SIGKILL and
changed-model-on-resume cases are tested in tests/test_training.py; this adds what it does not
cover: unusable files in the data folder, an uncreatable run directory, and loading a run or a
SavedModel whose weights belong to another model config."""

import json
import logging
import re
import shutil

import numpy as np
import pytest
from test_training import smooth_hdr, tiny_config

from singlehdr_tf import SingleHDRError, api, io, loading, models
from singlehdr_tf.training import train

OTHER_CONFIG = {**models.MODEL_CONFIGS["tiny"], "refinement_filters": (6, 8)}
"""The tiny config with a wider Refinement-Net: the same variables, other shapes."""


def _truncated_hdr(path, rng):
    io.write_hdr(path, smooth_hdr(rng))
    path.write_bytes(path.read_bytes()[:200])


NOTHING = "no positive finite pixel"
UNUSABLE = {
    "corrupt.exr": (lambda path, rng: path.write_bytes(b"not an OpenEXR file" * 20), "cannot open"),
    "truncated.hdr": (_truncated_hdr, "cannot decode"),
    "nan.exr": (lambda path, rng: io.write_hdr(path, np.full((32, 32, 3), np.nan, np.float32)), NOTHING),
    "inf.exr": (lambda path, rng: io.write_hdr(path, np.full((32, 32, 3), np.inf, np.float32)), NOTHING),
    "zero.hdr": (lambda path, rng: io.write_hdr(path, np.zeros((32, 32, 3), np.float32)), NOTHING),
}
"""Data-folder files that training reports and skips, with the reason it gives."""


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """Two good scenes, one with NaN pixels (they count as 0), and every unusable kind of file."""
    folder = tmp_path_factory.mktemp("hdr")
    rng = np.random.default_rng(0)
    io.write_hdr(folder / "good.hdr", smooth_hdr(rng))
    partly_nan = smooth_hdr(rng)
    partly_nan[:8] = np.nan
    io.write_hdr(folder / "partly_nan.exr", partly_nan)
    for name, (make, _) in UNUSABLE.items():
        make(folder / name, rng)
    return folder


@pytest.fixture(scope="module")
def run(data_dir, tmp_path_factory):
    """One training step of the tiny model on ``data_dir``: (run folder, warnings logged)."""
    records = _Records()
    logger = logging.getLogger("singlehdr_tf.data")
    logger.addHandler(records)
    try:  # stopped after step 1 of 2: no validation pass, a checkpoint and the weights file saved
        result = train(tiny_config(stages=[{"stage": "dequantization", "steps": 2}]), data_dir,
                       tmp_path_factory.mktemp("run") / "run", max_steps=1)
    finally:
        logger.removeHandler(records)
    assert (result.step, result.stopped_by) == (1, "max_steps")
    return result.run_dir, records.messages


def test_unusable_hdr_files_are_reported_once_and_skipped(run, data_dir):
    run_dir, messages = run
    assert len(messages) == len(UNUSABLE), messages
    for name, (_, reason) in UNUSABLE.items():
        (message,) = [message for message in messages if f"{data_dir / name}: " in message]
        assert reason in message, message
    loss = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])["loss"]
    assert np.isfinite(loss)


def test_an_uncreatable_run_directory_fails_naming_it(data_dir, tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    run_dir = tmp_path / "a_file" / "run"
    with pytest.raises(SingleHDRError, match=re.escape(f"{run_dir}: cannot create the run directory")):
        train(tiny_config(), data_dir, run_dir)


def _copy_run(run_dir, target, model_config=None, weights_file=True):
    shutil.copytree(run_dir, target)
    if model_config is not None:
        (target / "model_config.json").write_text(json.dumps(model_config))
    if not weights_file:
        (target / "model.weights.h5").unlink()  # as a killed run leaves it: checkpoints only
    return target


def test_a_killed_run_loads_from_its_last_checkpoint(run, tmp_path):
    run_dir, _ = run
    model = api.load_model(_copy_run(run_dir, tmp_path / "killed", weights_file=False))
    restored = [variable.numpy() for variable in model.variables]
    model.load_weights(run_dir / "model.weights.h5")  # saved at the same step as the checkpoint
    for variable, value in zip(model.variables, restored, strict=True):
        np.testing.assert_array_equal(value, variable.numpy(), err_msg=variable.path)


def test_a_checkpoint_of_another_config_fails_naming_the_config(run, tmp_path):
    """(Weights files of another config: tests/test_api.py.)"""
    run_dir, _ = run
    other = models.build_model(OTHER_CONFIG).get_config()
    copy = _copy_run(run_dir, tmp_path / "copy", model_config=other, weights_file=False)
    with pytest.raises(SingleHDRError, match=re.escape(f"ckpt-1: the weights do not fit the model config in "
                                                       f"{copy / 'model_config.json'}")):
        api.load_model(copy)


def test_a_saved_model_with_the_weights_of_another_config_fails_naming_the_variable(saved_model_dir, tmp_path):
    copy = shutil.copytree(saved_model_dir, tmp_path / "1")
    other = models.build_model(OTHER_CONFIG)
    other(np.zeros((1, 32, 32, 3), np.float32))
    metadata = json.loads((copy / loading.METADATA_FILE).read_text())
    metadata.update(model_config=other.get_config(),
                    variables=[[models.relative_path(variable), list(variable.shape), stored[2]]
                               for variable, stored in zip(other.variables, metadata["variables"], strict=True)])
    (copy / loading.METADATA_FILE).write_text(json.dumps(metadata))
    message = re.escape(f"{copy}: variable ") + r"\S+ has shape .*, the model config needs"
    with pytest.raises(SingleHDRError, match=message):
        api.load_model(copy)

