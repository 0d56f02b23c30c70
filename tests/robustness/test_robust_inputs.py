"""Awkward and broken inputs through the three surfaces: the Python API, the ``singlehdr`` CLI and
the SavedModel signatures. Each gets a clear error naming the input and the reason, or the
documented result (see :mod:`robust_cases`); never a crash inside TensorFlow."""

import os
import re
import threading

import numpy as np
import pytest
import tensorflow as tf
from robust_cases import CASES
from test_training import SUBPROCESS_TIMEOUT, finish, python

from singlehdr_tf import SingleHDRError, io

BY_NAME = {case.name: case for case in CASES}
NOT_AN_IMAGE = "cannot decode: not a JPEG, PNG, TIFF or WebP image Pillow can read"


def assert_hdr(hdr, shape):
    hdr = np.asarray(hdr)
    assert hdr.shape == shape and hdr.dtype == np.float32
    assert np.isfinite(hdr).all() and hdr.min() >= 0.0


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_python_api(reconstructor, case_dir, case):
    path = case_dir / case.name
    kind, expected = case.api
    if kind == "ok":
        assert_hdr(reconstructor.reconstruct(path), (*expected, 3))
        return
    with pytest.raises(SingleHDRError) as raised:
        reconstructor.reconstruct(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert re.search(expected, str(raised.value)), str(raised.value)


def test_a_fifo_named_jpg_is_refused_without_waiting_for_a_writer(reconstructor, tmp_path):
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    errors = []

    def read():
        try:
            reconstructor.reconstruct(fifo)
        except SingleHDRError as error:
            errors.append(str(error))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(SUBPROCESS_TIMEOUT)
    if reader.is_alive():  # it opened the FIFO and waits for data: end it before failing
        fifo.write_bytes(b"")
    assert errors == [f"{fifo}: not a regular file"]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_encoded_image_signature(signatures, case):
    encoded = signatures["encoded_image"]
    kind, expected = case.serving
    if kind == "ok":
        assert_hdr(encoded(image_bytes=tf.constant(case.make()))["hdr"], (1, *expected, 3))
        return
    with pytest.raises(tf.errors.InvalidArgumentError, match=expected):
        encoded(image_bytes=tf.constant(case.make()))


@pytest.mark.parametrize("name", ["good.png", "good_jpeg.jpg", "corrupt_scan.jpg", "16bit.png", "grey.png",
                                  "palette.png", "rgba.png", "cmyk.jpg"])
def test_encoded_image_signature_gives_the_api_result(signatures, reconstructor, case_dir, name):
    """The graph decodes the pixels Pillow gives (16 bits kept, JPEGs with the same DCT): the same HDR."""
    served = signatures["encoded_image"](image_bytes=tf.constant(BY_NAME[name].make()))["hdr"][0]
    np.testing.assert_allclose(served, reconstructor.reconstruct(case_dir / name), rtol=1e-5, atol=1e-6)


def test_exif_orientation_is_applied_by_the_api_not_by_the_signature(signatures, case_dir):
    """Both files hold the same JPEG data; one has EXIF orientation 6 (display rotated 90 degrees clockwise)."""
    np.testing.assert_array_equal(io.read_ldr(case_dir / "exif_rotated.jpg"),
                                  np.rot90(io.read_ldr(case_dir / "good_jpeg.jpg"), -1))
    encoded = signatures["encoded_image"]
    np.testing.assert_array_equal(encoded(image_bytes=tf.constant(BY_NAME["exif_rotated.jpg"].make()))["hdr"],
                                  encoded(image_bytes=tf.constant(BY_NAME["good_jpeg.jpg"].make()))["hdr"])


@pytest.mark.parametrize("image, message", [
    (np.zeros((1, 32, 32, 3), np.float64), "expected to be a float tensor but is a double tensor"),
    (np.zeros((1, 32, 32, 3), np.uint8), "expected to be a float tensor but is a uint8 tensor"),
    (np.zeros((32, 32, 3), np.float32), r"image.*not compatible with expected shape \[1,\?,\?,3\]"),
    (np.zeros((1, 32, 32, 4), np.float32), r"image.*not compatible with expected shape \[1,\?,\?,3\]"),
    (np.zeros((2, 32, 32, 3), np.float32), r"image.*not compatible with expected shape \[1,\?,\?,3\]"),
    (np.zeros((1, 0, 32, 3), np.float32), "image: empty"),
    (np.full((1, 32, 32, 3), np.nan, np.float32), "image: contains NaN or infinite values"),
    (np.full((1, 32, 32, 3), -np.inf, np.float32), "image: contains NaN or infinite values"),
], ids=["float64", "uint8", "rank3", "4-channels", "batch2", "empty", "nan", "inf"])
def test_serving_default_refuses_wrong_dtype_shape_and_values(signatures, image, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        signatures["serving_default"](image=tf.constant(image))


def test_serving_default_clips_values_outside_0_1(signatures):
    image = np.linspace(-1.0, 2.0, 32 * 32 * 3, dtype=np.float32).reshape(1, 32, 32, 3)
    serving = signatures["serving_default"]
    np.testing.assert_array_equal(serving(image=tf.constant(image))["hdr"],
                                  serving(image=tf.constant(np.clip(image, 0.0, 1.0)))["hdr"])


@pytest.mark.parametrize("image_bytes, message", [
    (tf.constant(3), "expected to be a string tensor but is a int32 tensor"),
    (tf.constant([[0.5]]), "expected to be a string tensor but is a float tensor"),
    (tf.constant([b"a", b"b"]), "image_bytes: expected one image"),
    (tf.zeros([0], tf.string), "image_bytes: expected one image"),
], ids=["int", "float", "batch2", "batch0"])
def test_encoded_image_refuses_wrong_dtype_and_batch(signatures, image_bytes, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        signatures["encoded_image"](image_bytes=image_bytes)


def test_cli_batch_writes_every_good_input_and_lists_every_bad_one(cli_run, case_dir, tmp_path):
    out = tmp_path / "out"
    status, _, err = cli_run("reconstruct", *(case_dir / case.name for case in CASES), "-o", out,
                             "--model", cli_run.model)
    assert status == 1
    good = [case for case in CASES if case.good]
    assert sorted(path.name for path in out.iterdir()) == sorted(f"{case.name.rsplit('.', 1)[0]}.exr" for case in good)
    for case in good:
        assert io.read_hdr(out / f"{case.name.rsplit('.', 1)[0]}.exr").shape == (*case.api[1], 3)
    errors = [line for line in err.splitlines() if line.startswith("singlehdr: ")]
    bad = [case for case in CASES if not case.good]
    assert len(errors) == len(bad), err
    for case, line in zip(bad, errors):
        assert line.startswith(f"singlehdr: {case_dir / case.name}: ") and re.search(case.api[1], line), line


def test_cli_subprocess_exits_non_zero_listing_the_bad_inputs(model_file, case_dir, tmp_path):
    out = tmp_path / "out"
    names = ["text.jpg", "good.png", "bomb.png"]
    process = python("-m", "singlehdr_tf.cli", "reconstruct", *(case_dir / name for name in names), "-o", out,
                     "--model", model_file)
    output = finish(process)
    assert process.returncode == 1, output
    assert sorted(path.name for path in out.iterdir()) == ["good.exr"]
    errors = [line for line in output.splitlines() if line.startswith("singlehdr: ")]
    assert len(errors) == 2, output
    assert errors[0] == f"singlehdr: {case_dir / 'text.jpg'}: " + NOT_AN_IMAGE
    assert errors[1].startswith(f"singlehdr: {case_dir / 'bomb.png'}: image too large"), output
    assert "Traceback" not in output
