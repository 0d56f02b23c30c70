"""tools/assemble_ensemble.py on tiny run folders: one model whose estimators are the runs'."""

import json

import keras
import numpy as np
import pytest
import yaml
from tool_scripts import load_tool

from singlehdr_tf import loading
from singlehdr_tf.models import MODEL_CONFIGS, build_model
from singlehdr_tf.training import run_dir as layout


@pytest.fixture(scope="module")
def assembler():
    return load_tool("assemble_ensemble")


def write_run(run_dir, seed, holdout_files=2, **changes):
    """A tiny run folder as training leaves it (config, model config, weights)."""
    keras.utils.set_random_seed(seed)
    model = build_model({**MODEL_CONFIGS["tiny"], **changes})
    loading.build_variables(model)
    run_dir.mkdir()
    layout.save_weights(model, run_dir / loading.WEIGHTS_FILE)
    layout.save_model_config(run_dir, model)
    (run_dir / layout.CONFIG_FILE).write_text(yaml.safe_dump({"validation": {"holdout_files": holdout_files}}))
    return model


def test_the_ensemble_averages_each_runs_curve_with_the_first_runs_other_networks(assembler, tmp_path):
    runs = [write_run(tmp_path / f"run{seed}", seed) for seed in range(3)]
    out = tmp_path / "ensemble"
    assembler.main([str(tmp_path / f"run{seed}") for seed in range(3)] + ["--out", str(out)])
    ensemble = loading.load_model(out)
    assert ensemble.get_config()["linearization_ensemble_size"] == 3
    ldr = np.random.default_rng(0).random((1, 20, 24, 3)).astype(np.float32)
    dequantized = runs[0].dequantization(ldr)  # the first run's, as every member sees in the ensemble
    curves = [run.linearization(dequantized)["inverse_crf"].numpy() for run in runs]
    outputs = ensemble(ldr)
    np.testing.assert_allclose(outputs["inverse_crf"].numpy(), np.mean(curves, axis=0), atol=1e-6)
    np.testing.assert_allclose(outputs["hallucinated"].numpy(),
                               runs[0].hallucination(outputs["linear"]).numpy(), atol=1e-6)
    stored = yaml.safe_load((out / layout.CONFIG_FILE).read_text())
    assert stored["validation"] == {"holdout_files": 2}
    assert stored["ensemble_members"] == [str(tmp_path / f"run{seed}") for seed in range(3)]
    assert json.loads((out / loading.MODEL_CONFIG_FILE).read_text())["linearization_ensemble_size"] == 3


def test_runs_that_held_out_other_scenes_or_another_estimator_are_refused(assembler, tmp_path, capsys):
    write_run(tmp_path / "first", 0)
    write_run(tmp_path / "other_scenes", 1, holdout_files=3)
    write_run(tmp_path / "other_net", 2, linearization_stem_filters=8)
    for other, problem in (("other_scenes", "holds out other scenes"), ("other_net", "stem_filters")):
        with pytest.raises(SystemExit) as exit_info:
            assembler.main([str(tmp_path / "first"), str(tmp_path / other), "--out", str(tmp_path / other) + "_out"])
        assert problem in str(exit_info.value) and other in str(exit_info.value)
        assert not (tmp_path / f"{other}_out").exists()
