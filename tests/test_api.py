"""Tests of singlehdr_tf.api: loading models, reconstruction at any size (tiling), input checks."""

import json
import os
import pathlib
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

import singlehdr_tf
from singlehdr_tf import SingleHDRError, api, crf, export, io, loading, models, tiling
from singlehdr_tf.loading import named_weights
from singlehdr_tf.models import precision, presets


@pytest.fixture(scope="module")
def whole(tiny_model):
    """A reconstructor that never tiles the test images."""
    return api.Reconstructor(tiny_model, max_pixels=1 << 22)


def photo(rng, height, width):
    """A smooth uint8 test photo with noise and a saturated highlight."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([0.5 + 0.4 * np.sin(6 * x + c) * np.cos(4 * y - c) for c in range(3)], axis=-1)
    base += 0.05 * rng.standard_normal(base.shape)
    base[height // 4 : height // 2, width // 3 : width // 2] = 1.0
    return np.clip(np.round(base * 255), 0, 255).astype(np.uint8)


def max_relative_difference(value, reference):
    """max |value - reference| relative to the reference's peak magnitude."""
    return float(np.abs(np.asarray(value) - reference).max() / np.abs(reference).max())


# --- tiling geometry ---------------------------------------------------------------------------

@pytest.mark.parametrize("length, tile, overlap, multiple", [
    (100, 32, 8, 4), (1000, 256, 64, 32), (257, 128, 32, 32), (33, 32, 8, 4), (6000, 1024, 128, 32), (161, 64, 16, 16),
])
def test_tile_spans_cover_the_axis_aligned_and_overlapping(length, tile, overlap, multiple):
    spans = tiling.tile_spans(length, tile, overlap, multiple)
    assert spans[0][0] == 0 and spans[-1][1] == length
    for start, end in spans:
        assert start % multiple == 0
    for (start, end), (next_start, next_end) in zip(spans, spans[1:]):
        assert end - start == tile
        assert next_start > start and end - next_start >= overlap
    if length > tile + multiple:
        assert len(spans) > 1 and tile <= spans[-1][1] - spans[-1][0] < tile + multiple


def test_blend_weights_are_a_partition_of_unity_that_ignores_inner_tile_borders():
    spans = tiling.tile_spans(300, 64, 16, 4)
    margin = 4
    total = np.zeros(300)
    for (start, end), weight in zip(spans, tiling.blend_weights(spans, margin)):
        total[start:end] += weight
        assert weight.min() >= 0 and weight.max() <= 1
    np.testing.assert_allclose(total, 1.0, atol=1e-6)
    weights = tiling.blend_weights(spans, margin)
    assert np.all(weights[1][:margin] == 0) and np.all(weights[0][-margin:] == 0)  # inner borders unused
    assert weights[0][0] == 1 and weights[-1][-1] == 1  # the image's own borders are kept


# --- reconstruction ----------------------------------------------------------------------------

def test_reconstruct_returns_linear_hdr_and_stages_of_the_input_size(whole, tiny_model, rng):
    image = photo(rng, 37, 53)
    hdr = whole.reconstruct(image)
    assert hdr.shape == (37, 53, 3) and hdr.dtype == np.float32
    assert np.isfinite(hdr).all() and hdr.min() >= 0
    stages = whole.reconstruct(image, return_stages=True)
    assert set(stages) == {"hdr", "dequantized", "inverse_crf", "linear"}
    assert stages["inverse_crf"].shape == (crf.CURVE_SAMPLES,)
    assert np.all(np.diff(stages["inverse_crf"]) >= 0)
    for name in ("hdr", "dequantized", "linear"):
        assert stages[name].shape == (37, 53, 3) and stages[name].dtype == np.float32
    np.testing.assert_array_equal(stages["hdr"], hdr)
    expected = tiny_model(io.to_float(image)[None], training=False)
    np.testing.assert_allclose(hdr, expected["hdr"][0], rtol=1e-5, atol=1e-6)


def test_uint8_uint16_float_and_path_inputs_agree(whole, rng, tmp_path):
    image = photo(rng, 40, 48)
    reference = whole.reconstruct(image)
    as_uint16 = image.astype(np.uint16) * 257
    np.testing.assert_allclose(whole.reconstruct(as_uint16), reference, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(whole.reconstruct(image / 255.0), reference, rtol=1e-5, atol=1e-6)
    io.write_ldr(tmp_path / "photo.png", image)
    np.testing.assert_allclose(whole.reconstruct(tmp_path / "photo.png"), reference, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(whole.reconstruct(str(tmp_path / "photo.png")), reference, rtol=1e-5, atol=1e-6)


def test_tiled_reconstruction_matches_the_whole_image(tiny_model, whole, rng):
    image = photo(rng, 150, 230)
    reference = whole.reconstruct(image, return_stages=True)
    tiled = api.Reconstructor(tiny_model, max_pixels=64 * 64, tile_size=96, tile_overlap=32)
    calls = []
    dequantize = tiled._dequantize
    tiled._dequantize = lambda tile: calls.append(tile.shape) or dequantize(tile)
    result = tiled.reconstruct(image, return_stages=True)
    rows, columns = (tiling.tile_spans(length, 96, 32, tiled.multiple) for length in image.shape[:2])
    assert len(calls) == len(rows) * len(columns) == 8  # 2 x 4 tiles
    assert all(shape[1] < 96 + tiled.multiple and shape[2] < 96 + tiled.multiple for shape in calls)
    for name in ("hdr", "dequantized", "linear", "inverse_crf"):
        assert result[name].shape == reference[name].shape
        assert max_relative_difference(result[name], reference[name]) < 1e-3, name


def test_tiled_reconstruction_without_dequantization_feeds_the_photo_itself(tiny_model, rng):
    model = models.rebuild_model(tiny_model, dequantization_max_step=0.0)
    image = photo(rng, 150, 230)
    whole = api.Reconstructor(model, max_pixels=1 << 22).reconstruct(image, return_stages=True)
    tiled = api.Reconstructor(model, max_pixels=64 * 64, tile_size=96, tile_overlap=32)
    tiled._dequantize = lambda tile: pytest.fail("a switched-off Dequantization-Net ran")
    result = tiled.reconstruct(image, return_stages=True)
    np.testing.assert_array_equal(result["dequantized"], image.astype(np.float32) / 255.0)
    for name in ("hdr", "linear", "inverse_crf"):
        assert max_relative_difference(result[name], whole[name]) < 1e-3, name


def test_tiled_reconstruction_of_a_megapixel_image_matches_the_whole_image(tiny_model, whole, rng):
    image = photo(rng, 1000, 1000)
    reference = whole.reconstruct(image)
    tiled = api.Reconstructor(tiny_model, max_pixels=256 * 256, tile_size=512, tile_overlap=64)
    assert max_relative_difference(tiled.reconstruct(image), reference) < 1e-3


def test_camera_curve_is_the_inverse_of_the_estimated_inverse_curve(whole, tiny_model, rng):
    image = photo(rng, 48, 64)
    response = whole.camera_curve(image)
    assert response.shape == (crf.CURVE_SAMPLES,) and response.dtype == np.float32
    assert response[0] == 0 and response[-1] == 1 and np.all(np.diff(response) >= 0)
    inverse_crf = whole.reconstruct(image, return_stages=True)["inverse_crf"]
    np.testing.assert_allclose(response, crf.invert_curve(inverse_crf), atol=1e-6)
    tiled = api.Reconstructor(tiny_model, max_pixels=32 * 32, tile_size=32, tile_overlap=16)
    assert np.abs(tiled.camera_curve(image) - response).max() < 1e-2  # estimated on a downscaled copy


@pytest.mark.parametrize("image, message", [
    (np.full((40, 40, 3), np.nan, np.float32), "NaN or infinite"),
    (np.full((40, 40, 3), np.inf, np.float32), "NaN or infinite"),
    (np.zeros((40, 40), np.uint8), r"expected an \[H, W, 3\]"),
    (np.zeros((40, 40, 4), np.uint8), r"expected an \[H, W, 3\]"),
    (np.zeros((1, 40, 40, 3), np.uint8), r"expected an \[H, W, 3\]"),
    (np.zeros((31, 64, 3), np.uint8), "too small"),
    (np.full((40, 40, 3), 200.0, np.float32), r"must be in \[0, 1\]"),
    (np.full((40, 40, 3), -0.5, np.float64), r"must be in \[0, 1\]"),
    (np.zeros((40, 40, 3), bool), "unsupported dtype"),
    (np.zeros((40, 40, 3), np.int32), "unsupported dtype"),
])
def test_bad_inputs_raise_a_clear_error(whole, image, message):
    with pytest.raises(SingleHDRError, match=message):
        whole.reconstruct(image)


def test_a_missing_or_corrupt_file_names_the_path(whole, tmp_path):
    with pytest.raises(SingleHDRError, match="missing.png"):
        whole.reconstruct(tmp_path / "missing.png")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.raises(SingleHDRError, match="broken.jpg"):
        whole.camera_curve(tmp_path / "broken.jpg")


def test_bad_tiling_options_are_refused(tiny_model):
    with pytest.raises(SingleHDRError, match="tile_overlap"):
        api.Reconstructor(tiny_model, tile_size=64, tile_overlap=48)
    with pytest.raises(SingleHDRError, match="max_pixels"):
        api.Reconstructor(tiny_model, max_pixels=10)


# --- loading -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def saved_model_dir(tiny_model, tmp_path_factory):
    """The tiny model exported once as a SavedModel version folder."""
    return export.write_saved_model(tiny_model, tmp_path_factory.mktemp("export") / "tiny" / "1")


def assert_same_weights(model, reference):
    assert model.get_config() | {"name": None} == reference.get_config() | {"name": None}
    assert len(model.variables) == len(reference.variables)
    for variable, expected in zip(model.variables, reference.variables):
        np.testing.assert_array_equal(variable.numpy(), expected.numpy(), err_msg=variable.path)


def test_package_exports_load_and_reconstructor():
    assert singlehdr_tf.load is api.load and singlehdr_tf.Reconstructor is api.Reconstructor


def test_shipped_models_are_the_repository_saved_models_folder():
    repository = pathlib.Path(__file__).resolve().parent.parent
    if pathlib.Path(loading.__file__).resolve().parent != repository / "singlehdr_tf":
        pytest.skip("testing an installed package")
    assert loading.SHIPPED_MODELS == repository / "saved_models"


def _mini_preset(saved_model_dir, tiny_model, **changes) -> presets.Preset:
    """A preset of the tiny test model, shipped as version 3 (what a release would list)."""
    files = ("variables/variables.data-00000-of-00001", str(loading.METADATA_FILE))
    config = tiny_model.get_config()
    fields = dict(name="mini", description="test", architecture="tiny", version=3, training_runs=(),
                  settings={key: config[key] for key in ("curve_shrinkage", "use_refinement")},
                  sha256={file: loading.file_sha256(saved_model_dir / file) for file in files})
    return presets.Preset(**{**fields, **changes})


def test_shipped_names_load_their_preset_and_unknown_names_list_them(tiny_model, whole, saved_model_dir, rng,
                                                                     tmp_path, monkeypatch):
    monkeypatch.setattr(loading, "SHIPPED_MODELS", tmp_path)
    monkeypatch.setattr(presets, "PRESETS", {"mini": _mini_preset(saved_model_dir, tiny_model)})
    with pytest.raises(SingleHDRError, match="no shipped model 'tiny'.*none installed"):
        api.load("tiny")
    shutil.copytree(saved_model_dir, tmp_path / "mini" / "1")  # not the preset's version: ignored
    assert loading.shipped_model_names() == []
    shutil.copytree(saved_model_dir, tmp_path / "mini" / "3")
    assert loading.shipped_model_names() == ["mini"]
    image = photo(rng, 40, 40)
    loaded = api.load("mini", max_pixels=1 << 20)
    assert loaded.max_pixels == 1 << 20
    np.testing.assert_allclose(loaded.reconstruct(image), whole.reconstruct(image), rtol=1e-6)
    with pytest.raises(SingleHDRError, match="not a shipped model.*shipped models: mini"):
        api.load("no_such_model")
    with pytest.raises(SingleHDRError, match="no shipped model 'tiny'.*shipped models: mini"):
        api.load("tiny")


def test_a_shipped_model_that_does_not_match_its_preset_is_refused(tiny_model, saved_model_dir, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setattr(loading, "SHIPPED_MODELS", tmp_path)
    shutil.copytree(saved_model_dir, tmp_path / "mini" / "3")
    stale = _mini_preset(saved_model_dir, tiny_model, sha256={"assets.extra/singlehdr.json": "0" * 64})
    monkeypatch.setattr(presets, "PRESETS", {"mini": stale})
    with pytest.raises(SingleHDRError, match="singlehdr.json: missing or not the file of the shipped model 'mini'"):
        api.load("mini")
    other = _mini_preset(saved_model_dir, tiny_model, settings={"curve_shrinkage": 0.25})
    monkeypatch.setattr(presets, "PRESETS", {"mini": other})
    with pytest.raises(SingleHDRError, match="differs from preset 'mini' in curve_shrinkage"):
        api.load("mini")


def test_bfloat16_precision_runs_the_convolutions_in_bfloat16_and_keeps_outputs_float32(
        tiny_model, whole, saved_model_dir, rng, monkeypatch):
    bf16 = api.load(saved_model_dir, precision="bfloat16", max_pixels=1 << 22)
    policies = {layer.dtype_policy.name for layer in bf16.model._flatten_layers()
                if isinstance(layer, keras.layers.Conv2D)}
    assert "mixed_bfloat16" in policies
    assert keras.config.dtype_policy().name == "float32"  # the process keeps its policy
    assert_same_weights(bf16.model, tiny_model)
    image = photo(rng, 48, 64)
    hdr, reference = bf16.reconstruct(image), whole.reconstruct(image)
    assert hdr.dtype == np.float32
    assert 0 < max_relative_difference(hdr, reference) < 0.1  # bfloat16 rounding, not another model
    monkeypatch.setattr(precision, "cpu_has_bfloat16", lambda: False)
    assert precision.resolve_precision("auto") == "float32"
    monkeypatch.setattr(precision, "cpu_has_bfloat16", lambda: True)
    assert precision.resolve_precision("auto") == "bfloat16"
    with pytest.raises(SingleHDRError, match="precision 'half'"):
        api.load(saved_model_dir, precision="half")


def test_load_paths_of_saved_models_keras_files_and_training_runs(tiny_model, saved_model_dir, tmp_path):
    tiny_model.save(tmp_path / "model.keras")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "model_config.json").write_text(json.dumps(tiny_model.get_config()))
    tiny_model.save_weights(run_dir / "model.weights.h5")
    for path in (saved_model_dir.parent, saved_model_dir, tmp_path / "model.keras", run_dir, str(run_dir)):
        assert_same_weights(api.load(path).model, tiny_model)


def _run_with_checkpoint(tiny_model, run_dir, checkpointed_weights):
    """A run folder with ``tiny_model``'s weights file (old) and a training checkpoint (the format
    of :mod:`singlehdr_tf.training`) holding ``checkpointed_weights``."""
    run_dir.mkdir()
    (run_dir / "model_config.json").write_text(json.dumps(tiny_model.get_config()))
    tiny_model.save_weights(run_dir / "model.weights.h5")
    os.utime(run_dir / "model.weights.h5", (1e9, 1e9))  # older than the checkpoint
    checkpoint = tf.train.Checkpoint(weights=checkpointed_weights)
    tf.train.CheckpointManager(checkpoint, run_dir / "checkpoints", max_to_keep=2).save()


def test_a_training_run_uses_its_latest_checkpoint_when_newer_than_the_weights_file(tiny_model, tmp_path):
    keras.utils.set_random_seed(1)
    later = models.build_model(tiny_model.get_config())
    later(np.zeros((1, 32, 32, 3), np.float32))
    _run_with_checkpoint(tiny_model, tmp_path / "run", named_weights(later))
    assert_same_weights(api.load(tmp_path / "run").model, later)


def test_an_incomplete_checkpoint_is_refused(tiny_model, tmp_path):
    weights = named_weights(tiny_model)
    partial = {key: value for key, value in weights.items() if key.startswith("dequantization/")}
    _run_with_checkpoint(tiny_model, tmp_path / "run", partial)
    with pytest.raises(SingleHDRError, match=r"ckpt-1: an incomplete checkpoint, it holds \d+ of the model's"):
        api.load(tmp_path / "run")


def test_weights_of_another_config_fail_naming_the_config(tiny_model, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    other = models.build_model({**tiny_model.get_config(), "refinement_filters": [6, 8]})
    other(np.zeros((1, 32, 32, 3), np.float32))
    other.save_weights(run_dir / "model.weights.h5")
    (run_dir / "model_config.json").write_text(json.dumps(tiny_model.get_config()))
    with pytest.raises(SingleHDRError, match="do not fit the model config in .*model_config.json"):
        api.load(run_dir)


def test_folders_and_files_without_a_model_are_refused(tmp_path):
    with pytest.raises(SingleHDRError, match="training run folder with model_config.json"):
        api.load(tmp_path)
    (tmp_path / "model_config.json").write_text(json.dumps(models.build_model("tiny").get_config()))
    with pytest.raises(SingleHDRError, match="no weights yet"):
        api.load(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SingleHDRError, match="not a model"):
        api.load(tmp_path / "notes.txt")
    (tmp_path / "broken.keras").write_text("hello")
    with pytest.raises(SingleHDRError, match="broken.keras: cannot load the model"):
        api.load(tmp_path / "broken.keras")
