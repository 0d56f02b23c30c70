"""Tests of tools/profile_stages.py on the tiny model."""

import json

import keras
import numpy as np
import pytest
from tool_scripts import load_tool

from singlehdr_tf import models

PARTS = {"curve_estimator", "curve_lookup", "hallucination_gain", "hallucination_blend", "whole"}


@pytest.fixture(scope="module")
def profiler():
    return load_tool("profile_stages")


def test_the_hallucination_net_is_its_gain_blended_into_the_linear_image():
    keras.utils.set_random_seed(0)
    net = models.build_model("tiny").hallucination
    linear = np.random.default_rng(0).uniform(0.0, 1.0, (2, 20, 24, 3)).astype(np.float32)
    gain = net.gain(linear)
    assert tuple(gain.shape) == (2, 20, 24, 1)
    np.testing.assert_array_equal(np.asarray(net(linear)), np.asarray(net.blend(linear, gain)))


def test_every_part_is_timed_in_both_precisions(profiler, tmp_path, monkeypatch):
    keras.utils.set_random_seed(0)
    monkeypatch.setattr(profiler.loading, "load_model", lambda name: models.build_model("tiny"))
    out = tmp_path / "stages.json"
    profiler.main(["--model", "tiny", "--megapixels", "0.003", "--repeats", "1", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["size"] == "63x47"
    for precision in ("float32", "bfloat16"):
        assert set(result[precision]) == PARTS
        assert all(part["seconds"] > 0 for part in result[precision].values())
        assert result[precision]["whole"]["share_of_whole"] == 1.0
    assert set(result["bfloat16_over_float32"]) == PARTS
