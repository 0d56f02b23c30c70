"""The model that ships in saved_models/: it loads by default, runs on the bundled examples and its
TFLite file agrees with it; a checkout without it fails here. (Its quality is measured by
tools/release_lite.sh, not here.)"""

import json
import pathlib

import numpy as np
import pytest

import singlehdr_tf
from singlehdr_tf import export, io
from singlehdr_tf.models import presets

REPO = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "st_peters_ldr.png"

@pytest.fixture(scope="module")
def shipped():
    return singlehdr_tf.load()


def test_load_without_arguments_gives_the_lite_preset(shipped):
    config = json.loads(json.dumps(shipped.model.get_config()))
    expected = json.loads(json.dumps(presets.PRESETS["lite"].model_config()))
    assert {key: config[key] for key in expected} == expected


def test_the_shipped_settings_are_the_ones_chosen_on_held_out_scenes(shipped):
    logs = REPO / "release/logs"
    stages = json.loads((logs / "stage_settings.json").read_text())
    shrinkage = json.loads((logs / "curve_shrinkage.json").read_text())
    config = shipped.model.get_config()
    assert config["dequantization_max_step"] * 255 == pytest.approx(stages["dequantization_max_step_in_codes"])
    assert config["use_refinement"] == stages["use_refinement"]
    assert config["curve_shrinkage"] == pytest.approx(shrinkage["chosen_shrinkage"])
    assert config["fixed_curve"] == shrinkage["fixed_curve"]
    assert config["curve_shrink_toward"] == shrinkage["shrink_toward"]
    assert config["curve_shrink_toward_share"] == pytest.approx(shrinkage.get("shrink_toward_share", 1.0))


def test_a_neutral_clipped_highlight_comes_back_neutral(shipped):
    """Issue 14: a white blob clipped in all channels, in a coloured, textured scene, gets light
    added (it is a highlight) without a colour cast (within 5 %)."""
    rng = np.random.default_rng(0)
    image = (rng.uniform(0.1, 0.6, size=(128, 160, 3)) * [1.0, 0.8, 0.6]).astype(np.float32)
    image[40:90, 50:120] = 1.0
    hdr = shipped.reconstruct(image)
    blob = hdr[50:80, 60:110]
    assert blob.mean() > shipped.reconstruct(image, return_stages=True)["linear"][50:80, 60:110].mean()
    np.testing.assert_allclose(blob / blob[..., 1:2], 1.0, atol=0.05)


def test_the_shipped_model_reconstructs_the_bundled_example(shipped):
    ldr = io.read_ldr(EXAMPLE)
    stages = shipped.reconstruct(ldr, return_stages=True)
    hdr = stages["hdr"]
    assert hdr.shape == ldr.shape and hdr.dtype == np.float32
    assert np.all(np.isfinite(hdr)) and hdr.min() >= 0.0
    assert np.all(np.diff(stages["inverse_crf"]) >= 0.0)
    max_step = shipped.model.get_config()["dequantization_max_step"]
    assert np.abs(stages["dequantized"] - io.to_float(ldr)).max() <= max_step + 1e-6
    clipped = io.to_float(ldr).max(axis=-1) >= 254.5 / 255
    assert hdr[clipped].max() > stages["linear"][clipped].max()  # highlights are extended past the clip


def test_the_shipped_tflite_file_matches_the_keras_model(shipped):
    image = io.to_float(io.read_ldr(EXAMPLE))[:96, :128][None]
    expected = shipped.model(image, training=False)["hdr"].numpy()
    result = export.run_tflite(REPO / "saved_models" / "lite.tflite", image)["hdr"]
    assert np.abs(result - expected).max() / np.abs(expected).max() < 1e-4
