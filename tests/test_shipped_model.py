"""The model that ships in saved_models/: it loads by default, runs on the bundled examples and its
TFLite file agrees with it. (Its quality is measured by tools/release_lite.sh, not here.)"""

import json
import pathlib

import numpy as np
import pytest

import singlehdr_tf
from singlehdr_tf import api, export, io, models

REPO = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "st_peters_ldr.png"

pytestmark = pytest.mark.skipif("lite" not in api.shipped_model_names(), reason="no shipped lite model")


@pytest.fixture(scope="module")
def shipped():
    return singlehdr_tf.load()


def test_load_without_arguments_gives_the_shipped_lite_model(shipped):
    config = json.loads(json.dumps(shipped.model.get_config()))
    for key, value in json.loads(json.dumps(models.MODEL_CONFIGS["lite"])).items():
        assert config[key] == pytest.approx(value) if isinstance(value, float) else config[key] == value, key


def test_the_shipped_model_reconstructs_the_bundled_example(shipped):
    ldr = io.read_ldr(EXAMPLE)
    stages = shipped.reconstruct(ldr, return_stages=True)
    hdr = stages["hdr"]
    assert hdr.shape == ldr.shape and hdr.dtype == np.float32
    assert np.all(np.isfinite(hdr)) and hdr.min() >= 0.0
    assert np.all(np.diff(stages["inverse_crf"]) >= 0.0)
    max_step = models.MODEL_CONFIGS["lite"]["dequantization_max_step"]
    assert np.abs(stages["dequantized"] - io.to_float(ldr)).max() <= max_step + 1e-6
    clipped = io.to_float(ldr).max(axis=-1) >= 254.5 / 255
    assert hdr[clipped].max() > stages["linear"][clipped].max()  # highlights are extended past the clip


def test_the_shipped_tflite_file_matches_the_keras_model(shipped):
    image = io.to_float(io.read_ldr(EXAMPLE))[:96, :128][None]
    expected = shipped.model(image, training=False)["refined"].numpy()
    result = export.run_tflite(REPO / "saved_models" / "lite.tflite", image)["hdr"]
    assert np.abs(result - expected).max() / np.abs(expected).max() < 1e-4
