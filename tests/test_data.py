"""The HDR-SYNTH data pipeline on tiny synthetic HDR files (no shared data)."""

import dataclasses
import logging
import math

import numpy as np
import OpenImageIO as oiio
import pytest
import tensorflow as tf

from singlehdr_tf import camera, crf
from singlehdr_tf.data import DataConfig, geometry, list_hdr_files, make_dataset, procedural
from singlehdr_tf.errors import SingleHDRError

CROP = 32
QUIET = DataConfig(crop_size=CROP, max_side=64, sensor_noise=False, jpeg=False)


def write_hdr(path, image):
    output = oiio.ImageOutput.create(str(path))
    output.open(str(path), oiio.ImageSpec(image.shape[1], image.shape[0], image.shape[2], "float"))
    output.write_image(np.ascontiguousarray(image, dtype=np.float32))
    output.close()


def scene(rng, height, width):
    """Log-normal radiance with a very bright spot, like a real scene (about 14 stops)."""
    image = np.exp(rng.normal(-1.0, 1.0, (height, width, 3))).astype(np.float32)
    image[height // 3 : height // 3 + 4, width // 2 : width // 2 + 4] = 500.0
    return image


@pytest.fixture
def hdr_dir(tmp_path, rng):
    """Two panoramas (64x32) and two photos (40x40), as .hdr and .exr."""
    write_hdr(tmp_path / "pano_a.hdr", scene(rng, 32, 64))
    write_hdr(tmp_path / "pano_b.exr", scene(rng, 32, 64))
    write_hdr(tmp_path / "photo_a.exr", scene(rng, 40, 40))
    write_hdr(tmp_path / "photo_b.hdr", scene(rng, 40, 40))
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def batches(dataset, count):
    return [{key: value.numpy() for key, value in batch.items()} for batch in dataset.take(count)]


def test_list_hdr_files_sorted_hdr_and_exr_only(hdr_dir):
    assert [path.name for path in list_hdr_files(hdr_dir)] == ["pano_a.hdr", "pano_b.exr", "photo_a.exr", "photo_b.hdr"]


def test_empty_or_missing_folder_raises(tmp_path):
    (tmp_path / "readme.txt").write_text("no images")
    with pytest.raises(SingleHDRError, match="no HDR images"):
        make_dataset(tmp_path, QUIET, batch_size=2, seed=0)
    with pytest.raises(SingleHDRError, match="not a folder"):
        list_hdr_files(tmp_path / "missing")


def test_batch_shapes_types_and_camera_invariants(hdr_dir):
    (batch,) = batches(make_dataset(hdr_dir, QUIET, batch_size=4, seed=0), 1)
    for key in ("ldr", "nonlinear", "clipped", "hdr"):
        assert batch[key].shape == (4, CROP, CROP, 3) and batch[key].dtype == np.float32
    assert batch["inverse_crf"].shape == (4, crf.CURVE_SAMPLES) and batch["inverse_crf"].dtype == np.float32
    for key in ("ldr", "nonlinear", "clipped"):
        assert batch[key].min() >= 0.0 and batch[key].max() <= 1.0
    np.testing.assert_array_equal(batch["ldr"], camera.quantize(batch["nonlinear"]).numpy())
    np.testing.assert_array_equal(batch["clipped"], np.minimum(batch["hdr"], 1.0))
    assert np.all(batch["hdr"] >= batch["clipped"]) and batch["hdr"].max() > 1.0
    inverse = batch["inverse_crf"]
    assert np.all(np.diff(inverse, axis=1) >= 0.0)
    np.testing.assert_array_equal(inverse[:, [0, -1]], np.tile([0.0, 1.0], (4, 1)))
    # The inverse curve undoes the curve that made "nonlinear" from "clipped".
    recovered = crf.apply_curve(batch["nonlinear"], inverse).numpy()
    assert np.abs(recovered - batch["clipped"]).mean() < 5e-3


def test_same_seed_same_batches_other_seed_differs(hdr_dir):
    first = batches(make_dataset(hdr_dir, DataConfig(crop_size=CROP, max_side=64), batch_size=3, seed=7), 2)
    again = batches(make_dataset(hdr_dir, DataConfig(crop_size=CROP, max_side=64), batch_size=3, seed=7), 2)
    other = batches(make_dataset(hdr_dir, DataConfig(crop_size=CROP, max_side=64), batch_size=3, seed=8), 1)
    for left, right in zip(first, again):
        for key in left:
            np.testing.assert_array_equal(left[key], right[key])
    assert not np.array_equal(first[0]["ldr"], other[0]["ldr"])


def test_start_batch_resumes_at_the_same_data(hdr_dir):
    full = batches(make_dataset(hdr_dir, QUIET, batch_size=2, seed=3), 4)
    resumed = batches(make_dataset(hdr_dir, QUIET, batch_size=2, seed=3, start_batch=3), 1)
    np.testing.assert_array_equal(full[3]["hdr"], resumed[0]["hdr"])


def test_noise_and_jpeg_change_the_input_not_the_targets(hdr_dir):
    (clean,) = batches(make_dataset(hdr_dir, QUIET, batch_size=4, seed=1), 1)
    noisy_config = DataConfig(crop_size=CROP, max_side=64, sensor_noise=True, jpeg=True)
    (noisy,) = batches(make_dataset(hdr_dir, noisy_config, batch_size=4, seed=1), 1)
    for key in ("nonlinear", "clipped", "hdr", "inverse_crf"):
        np.testing.assert_array_equal(clean[key], noisy[key])
    assert not np.array_equal(clean["ldr"], noisy["ldr"])
    assert np.abs(clean["ldr"] - noisy["ldr"]).mean() < 0.1


def test_exposure_ignores_the_scene_absolute_brightness(tmp_path, rng):
    image = scene(rng, 40, 40)
    write_hdr(tmp_path / "dim.exr", image)
    write_hdr(tmp_path / "bright.exr", image * 1000.0)
    dim, bright = (
        batches(make_dataset(None, QUIET, batch_size=2, seed=5, files=[tmp_path / name]), 1)[0]
        for name in ("dim.exr", "bright.exr")
    )
    np.testing.assert_allclose(dim["hdr"], bright["hdr"], rtol=1e-4, atol=1e-6)


def test_unusable_files_are_skipped_with_one_warning_each(hdr_dir, caplog):
    (hdr_dir / "corrupt.exr").write_bytes(b"this is not an OpenEXR file" * 10)
    write_hdr(hdr_dir / "black.hdr", np.zeros((40, 40, 3), np.float32))
    with caplog.at_level(logging.WARNING, logger="singlehdr_tf.data"):
        make_dataset(hdr_dir, QUIET, batch_size=2, seed=0)
        dataset = make_dataset(hdr_dir, QUIET, batch_size=2, seed=0, repeat=False)
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert sum("corrupt.exr" in message for message in messages) == 1
    assert sum("black.hdr" in message for message in messages) == 1
    assert sum(len(batch["ldr"]) for batch in batches(dataset, 10)) == 4  # one epoch of the 4 good files


def test_folder_of_only_unusable_files_raises(tmp_path):
    (tmp_path / "corrupt.hdr").write_bytes(b"#?RADIANCE\ngarbage")
    with pytest.raises(SingleHDRError, match="none of these"):
        make_dataset(tmp_path, QUIET, batch_size=1, seed=0)


def _rows_in(curves, bank):
    return np.array([np.abs(bank - curve).max(axis=1).min() < 1e-6 for curve in curves])


def test_test_curves_come_only_from_the_test_split(hdr_dir):
    test_bank = crf.invert_curve(crf.test_curves())
    config = DataConfig(crop_size=CROP, max_side=64, modern_curve_fraction=1.0)  # ignored for "test"
    for batch in batches(make_dataset(hdr_dir, config, batch_size=8, seed=2, curves="test"), 3):
        assert _rows_in(batch["inverse_crf"], test_bank).all()


def test_train_curves_mix_training_split_and_modern_curves(hdr_dir):
    train_bank = crf.invert_curve(crf.training_curves())
    test_bank = crf.invert_curve(crf.test_curves())
    config = DataConfig(crop_size=CROP, max_side=64, modern_curve_fraction=0.5, modern_curves=50)
    curves = np.concatenate([b["inverse_crf"] for b in batches(make_dataset(hdr_dir, config, batch_size=8, seed=2), 4)])
    from_dorf = _rows_in(curves, train_bank)
    assert 0 < from_dorf.sum() < len(curves)
    assert not _rows_in(curves, test_bank).any()


def test_held_out_dorf_curves_leave_training_and_form_their_own_set(hdr_dir):
    held_out_bank = crf.invert_curve(crf.held_out_training_curves(30))
    config = DataConfig(crop_size=CROP, max_side=64, modern_curve_fraction=0.0, held_out_dorf_curves=30)
    training = make_dataset(hdr_dir, config, batch_size=8, seed=2)
    trained = np.concatenate([batch["inverse_crf"] for batch in batches(training, 6)])
    assert not _rows_in(trained, held_out_bank).any()
    held_out = make_dataset(hdr_dir, config, batch_size=8, seed=2, curves="held_out")
    assert all(_rows_in(batch["inverse_crf"], held_out_bank).all() for batch in batches(held_out, 3))
    with pytest.raises(SingleHDRError, match="held_out_dorf_curves"):
        make_dataset(hdr_dir, QUIET, batch_size=1, seed=0, curves="held_out")


def test_unknown_curve_set_raises(hdr_dir):
    with pytest.raises(SingleHDRError, match="curves"):
        make_dataset(hdr_dir, QUIET, batch_size=1, seed=0, curves="val")


def test_procedural_scenes_are_seeded_hdr_and_join_the_training_images(tmp_path):
    scenes = procedural.dead_leaves_scenes(2, seed=4, max_side=64)
    again = procedural.dead_leaves_scenes(2, seed=4, max_side=64)
    np.testing.assert_array_equal(scenes[0], again[0])
    assert not np.array_equal(scenes[0], scenes[1])
    for image in scenes:
        assert image.shape == (51, 64, 3) and image.dtype == np.float32 and np.all(image >= 0)
        positive = image[image > 0]
        assert np.log2(np.percentile(positive, 99.9) / np.percentile(positive, 0.1)) > 8  # HDR
        assert len(np.unique(image[..., 0].round(4))) > 100  # disks, shading and texture, not flat
    # One flat real file and 3 procedural scenes: an epoch of 4 crops holds the flat one once.
    write_hdr(tmp_path / "flat.exr", np.full((40, 40, 3), 0.3, np.float32))
    config = DataConfig(crop_size=CROP, max_side=64, sensor_noise=False, jpeg=False, procedural_scenes=3)
    (batch,) = batches(make_dataset(None, config, batch_size=4, seed=0, files=[tmp_path / "flat.exr"]), 1)
    flat = [float(np.ptp(image, axis=(0, 1)).max()) < 1e-5 for image in batch["hdr"]]
    assert sum(flat) == 1
    (real_only,) = batches(make_dataset(None, dataclasses.replace(config, procedural_scenes=0), batch_size=4,
                                        seed=0, files=[tmp_path / "flat.exr"]), 1)
    assert all(float(np.ptp(image, axis=(0, 1)).max()) < 1e-5 for image in real_only["hdr"])


def test_config_round_trips_and_rejects_bad_values():
    config = DataConfig.from_dict({"crop_size": 128, "fov_range": [60, 90], "jpeg": True})
    assert config.fov_range == (60.0, 90.0) and config.jpeg
    assert DataConfig.from_dict(config.to_dict()) == config
    with pytest.raises(SingleHDRError, match="unknown keys"):
        DataConfig.from_dict({"crop": 128})
    with pytest.raises(SingleHDRError, match="crop_size must be an integer"):
        DataConfig.from_dict({"crop_size": "128"})
    with pytest.raises(SingleHDRError, match="low <= high"):
        DataConfig.from_dict({"power_range": [1.2, 0.8]})
    with pytest.raises(SingleHDRError, match="held_out_dorf_curves"):
        DataConfig.from_dict({"held_out_dorf_curves": -1})


def test_perspective_view_geometry():
    """Looking at the horizon with a 90-degree view: the middle rows sample latitude 0 and the
    top of the centre column latitude 45 degrees (a quarter of the panorama's height)."""
    size = 16
    grid, shrink = geometry.perspective_grid(tf.constant([0, 0]), 1024, size, (90.0, 90.0), max_pitch=0.0)
    grid = grid.numpy()
    half_pixel = math.degrees(math.atan(1.0 / size)) / 180.0  # 90-degree view: half a pixel at the centre
    np.testing.assert_allclose(grid[size // 2 - 1 : size // 2 + 1, :, 0], 0.5, atol=half_pixel + 1e-6)
    ray_y, ray_x, focal = size / 2 - 0.5, 0.5, size / 2  # pixel (0, size / 2): top row, right of centre
    top = 0.5 - math.degrees(math.atan2(ray_y, math.hypot(ray_x, focal))) / 180.0
    np.testing.assert_allclose(grid[0, size // 2, 0], top, atol=1e-5)
    assert float(shrink) == pytest.approx((math.pi / 2 / size) / (2 * math.pi / 1024))


def test_flat_crops_of_panoramas_stay_in_the_middle_band():
    for seed in range(20):
        grid, _ = geometry.flat_grid(tf.constant([seed, 1]), 512, 1024, 64, (0.5, 2.0), band=tf.constant(0.6))
        assert 0.2 <= grid[..., 0].numpy().min() and grid[..., 0].numpy().max() <= 0.8


def test_shrinking_samples_a_coarser_level_without_aliasing():
    checker = (np.indices((64, 64)).sum(axis=0) % 2).astype(np.float32)
    image = np.repeat(checker[..., None], 3, axis=-1)
    pyramid = [image, image.reshape(32, 2, 32, 2, 3).mean(axis=(1, 3))]
    images = geometry.ImagePyramids([pyramid])
    grid, shrink = geometry.flat_grid(tf.constant([0, 0]), 64, 64, 16, (2.0, 2.0), band=tf.constant(1.0))
    sampled = images.sample(tf.constant(0, tf.int64), grid, shrink, wrap=tf.constant(False)).numpy()
    np.testing.assert_allclose(sampled, 0.5, atol=1e-6)
    centres = (np.arange(16, dtype=np.float32) + 0.5) / 64  # the first 16x16 finest-level pixels
    same = tf.stack(tf.meshgrid(centres, centres, indexing="ij"), axis=-1)
    sharp = images.sample(tf.constant(0, tf.int64), same, tf.constant(1.0), wrap=tf.constant(False)).numpy()
    np.testing.assert_array_equal(sharp, image[:16, :16])
