"""Image I/O: HDR and LDR round trips, conversions, orientation, bad files, atomic writes, previews."""

import json
import os
import struct
import zlib

import numpy as np
import OpenImageIO as oiio
import pytest
from PIL import Image, ImageOps

import singlehdr_tf
from singlehdr_tf import io
from singlehdr_tf.errors import SingleHDRError


def _hdr_image(rng, height=24, width=40):
    """Radiance over five decades, [H, W, 3] float32."""
    return (10.0 ** rng.uniform(-3, 2, size=(height, width, 3))).astype(np.float32)


def _write_oiio(path, pixels, sample_type, **attributes):
    """Write any channel count / sample type with OpenImageIO directly (files io itself never writes)."""
    height, width, channels = pixels.shape
    spec = oiio.ImageSpec(width, height, channels, sample_type)
    for name, value in attributes.items():
        spec.attribute(name, value)
    output = oiio.ImageOutput.create(str(path))
    assert output.open(str(path), spec) and output.write_image(np.ascontiguousarray(pixels)), output.geterror()
    output.close()


def test_error_type_is_exported():
    assert singlehdr_tf.SingleHDRError is SingleHDRError
    assert issubclass(SingleHDRError, Exception)


# --- HDR round trips ---------------------------------------------------------------------------


def test_radiance_hdr_round_trip_within_rgbe_precision(tmp_path, rng):
    hdr = _hdr_image(rng)
    io.write_hdr(tmp_path / "a.hdr", hdr)
    back = io.read_hdr(tmp_path / "a.hdr")
    assert back.dtype == np.float32 and back.shape == hdr.shape
    # RGBE: 8-bit mantissas sharing one exponent per pixel, so every channel is within one step
    # (1/128 of the pixel's largest channel) and the largest channel within 1% of its value.
    largest = hdr.max(axis=-1, keepdims=True)
    assert np.all(np.abs(back - hdr) <= largest / 128.0)
    brightest = np.take_along_axis(back, hdr.argmax(axis=-1)[..., None], axis=-1)
    assert np.all(np.abs(brightest - largest) <= 0.01 * largest)


def test_exr_half_round_trip_within_half_precision(tmp_path, rng):
    hdr = _hdr_image(rng)
    io.write_hdr(tmp_path / "a.exr", hdr, half=True)
    back = io.read_hdr(tmp_path / "a.exr")
    np.testing.assert_allclose(back, hdr, rtol=2.0**-11, atol=0)
    np.testing.assert_array_equal(back, hdr.astype(np.float16).astype(np.float32))


@pytest.mark.parametrize("name", ["a.exr", "a.tif", "a.TIFF"])
def test_float_exr_and_tiff_round_trip_exactly(tmp_path, rng, name):
    hdr = _hdr_image(rng)
    io.write_hdr(tmp_path / name, hdr)
    np.testing.assert_array_equal(io.read_hdr(tmp_path / name), hdr)


def test_read_hdr_sets_negative_and_non_finite_values_to_zero(tmp_path):
    hdr = np.array([[[1.5, -2.0, np.nan], [np.inf, -np.inf, 3.0]]], dtype=np.float32)
    io.write_hdr(tmp_path / "a.exr", hdr)
    np.testing.assert_array_equal(io.read_hdr(tmp_path / "a.exr"), [[[1.5, 0, 0], [0, 0, 3.0]]])


def test_read_hdr_grey_becomes_rgb_and_alpha_is_dropped(tmp_path, rng):
    grey = rng.uniform(0, 8, size=(6, 5, 1)).astype(np.float32)
    _write_oiio(tmp_path / "grey.exr", grey, "float")
    np.testing.assert_array_equal(io.read_hdr(tmp_path / "grey.exr"), np.repeat(grey, 3, axis=-1))
    rgba = rng.uniform(0, 8, size=(6, 5, 4)).astype(np.float32)
    _write_oiio(tmp_path / "rgba.exr", rgba, "float")
    np.testing.assert_array_equal(io.read_hdr(tmp_path / "rgba.exr"), rgba[..., :3])


def test_read_hdr_refuses_integer_tiff(tmp_path):
    _write_oiio(tmp_path / "photo.tif", np.zeros((4, 4, 3), np.uint8), "uint8")
    with pytest.raises(SingleHDRError, match="photo.tif: uint8 samples are not HDR"):
        io.read_hdr(tmp_path / "photo.tif")


# --- LDR reading -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a.png", "a.tif", "a.webp", "A.PNG"])
def test_ldr_8bit_lossless_round_trip(tmp_path, rng, name):
    image = rng.integers(0, 256, size=(9, 13, 3), dtype=np.uint8)
    io.write_ldr(tmp_path / name, image)
    back = io.read_ldr(tmp_path / name)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, image)


def test_ldr_jpeg_round_trip_is_close(tmp_path):
    image = np.tile(np.linspace(0, 255, 32, dtype=np.uint8)[None, :, None], (16, 1, 3))
    io.write_ldr(tmp_path / "a.jpg", image)
    back = io.read_ldr(tmp_path / "a.jpg")
    assert back.dtype == np.uint8 and back.shape == image.shape
    assert np.abs(back.astype(int) - image).max() <= 4


@pytest.mark.parametrize("name", ["a.png", "a.tif"])
def test_ldr_16bit_colour_keeps_16_bits(tmp_path, rng, name):
    image = rng.integers(0, 65536, size=(7, 11, 3), dtype=np.uint16)
    _write_oiio(tmp_path / name, image, "uint16")
    back = io.read_ldr(tmp_path / name)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, image)


def test_ldr_16bit_rgba_drops_alpha(tmp_path, rng):
    image = rng.integers(0, 65536, size=(7, 11, 4), dtype=np.uint16)
    _write_oiio(tmp_path / "a.png", image, "uint16", **{"oiio:UnassociatedAlpha": 1})  # store as given
    np.testing.assert_array_equal(io.read_ldr(tmp_path / "a.png"), image[..., :3])


def test_ldr_16bit_grey_becomes_rgb(tmp_path, rng):
    grey = rng.integers(0, 65536, size=(7, 11), dtype=np.uint16)
    Image.fromarray(grey).save(tmp_path / "a.png")
    back = io.read_ldr(tmp_path / "a.png")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, np.repeat(grey[..., None], 3, axis=-1))


@pytest.mark.parametrize("mode", ["L", "LA", "1"])
def test_ldr_grey_becomes_rgb(tmp_path, rng, mode):
    grey = rng.integers(0, 256, size=(6, 10), dtype=np.uint8)
    Image.fromarray(grey).convert(mode).save(tmp_path / "a.png")
    expected = np.asarray(Image.fromarray(grey).convert(mode).convert("L"))
    np.testing.assert_array_equal(io.read_ldr(tmp_path / "a.png"), np.repeat(expected[..., None], 3, axis=-1))


def test_ldr_palette_becomes_rgb(tmp_path):
    colours = np.array([[255, 0, 0], [0, 128, 255], [10, 20, 30]], dtype=np.uint8)
    indices = np.array([[0, 1, 2, 1], [2, 2, 0, 1]], dtype=np.uint8)
    palette = Image.fromarray(indices, mode="P")
    palette.putpalette(colours.reshape(-1).tolist())
    palette.info["transparency"] = 1
    palette.save(tmp_path / "a.png")
    np.testing.assert_array_equal(io.read_ldr(tmp_path / "a.png"), colours[indices])


def test_ldr_rgba_drops_alpha(tmp_path, rng):
    rgba = rng.integers(0, 256, size=(6, 10, 4), dtype=np.uint8)
    rgba[..., 3] = 0  # fully transparent: the colour must still come back unchanged (no premultiply)
    Image.fromarray(rgba).save(tmp_path / "a.png")
    np.testing.assert_array_equal(io.read_ldr(tmp_path / "a.png"), rgba[..., :3])


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("name", ["a.png", "a.jpg"])
def test_ldr_exif_orientation_matches_pillow(tmp_path, rng, orientation, name):
    image = Image.fromarray(rng.integers(0, 256, size=(5, 8, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.save(tmp_path / name, exif=exif.tobytes(), **({"quality": 100} if name.endswith("jpg") else {}))
    expected = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / name)).convert("RGB"))
    back = io.read_ldr(tmp_path / name)
    assert back.shape == ((8, 5, 3) if orientation >= 5 else (5, 8, 3))
    np.testing.assert_array_equal(back, expected)


def test_ldr_16bit_colour_gets_exif_orientation(tmp_path, rng):
    image = rng.integers(0, 65536, size=(4, 6, 3), dtype=np.uint16)
    _write_oiio(tmp_path / "a.tif", image, "uint16", Orientation=6)  # display = rotated 90 degrees clockwise
    np.testing.assert_array_equal(io.read_ldr(tmp_path / "a.tif"), np.rot90(image, -1))


def test_to_float():
    assert io.to_float(np.array([0, 255], np.uint8)).tolist() == [0.0, 1.0]
    assert io.to_float(np.array([0, 65535], np.uint16)).tolist() == [0.0, 1.0]
    assert io.to_float(np.array([-1.0, 0.5, 2.0])).tolist() == [0.0, 0.5, 1.0]
    assert io.to_float(np.zeros(2, np.uint8)).dtype == np.float32
    with pytest.raises(SingleHDRError, match="int32"):
        io.to_float(np.zeros(2, np.int32))


# --- bad files ---------------------------------------------------------------------------------


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _valid_ldr(path, rng):
    io.write_ldr(path, rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8))


def _valid_hdr(path, rng):
    io.write_hdr(path, _hdr_image(rng, 32, 32))


BAD_FILES = {
    "missing": (lambda path, rng: None, "file not found"),
    "empty": (lambda path, rng: path.write_bytes(b""), "empty file"),
    "text": (lambda path, rng: path.write_text("not an image\n"), "cannot"),
    "truncated": (lambda path, rng: (_VALID[path.suffix](path, rng), _truncate(path)), "cannot decode"),
}
_VALID = {".png": _valid_ldr, ".jpg": _valid_ldr, ".webp": _valid_ldr, ".exr": _valid_hdr, ".hdr": _valid_hdr}


@pytest.mark.parametrize("kind", BAD_FILES)
@pytest.mark.parametrize("name", ["bad.png", "bad.jpg", "bad.webp", "bad.exr", "bad.hdr"])
def test_bad_file_raises_error_naming_path_and_reason(tmp_path, rng, kind, name):
    path = tmp_path / name
    make, reason = BAD_FILES[kind]
    make(path, rng)
    reader = io.read_hdr if path.suffix in (".exr", ".hdr") else io.read_ldr
    with pytest.raises(SingleHDRError) as raised:
        reader(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert reason in str(raised.value)


@pytest.mark.parametrize("reader", [io.read_ldr, io.read_hdr])
@pytest.mark.parametrize("name", ["a.bmp", "a.xyz", "noextension"])
def test_unsupported_extension(tmp_path, reader, name):
    path = tmp_path / name
    path.write_bytes(b"BM" + bytes(100))
    with pytest.raises(SingleHDRError, match=f"{name}: unsupported extension"):
        reader(path)


def test_ldr_reader_refuses_hdr_content_and_other_formats(tmp_path, rng):
    Image.fromarray(rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)).save(tmp_path / "a.png", format="BMP")
    with pytest.raises(SingleHDRError, match="a.png: unsupported image format BMP"):
        io.read_ldr(tmp_path / "a.png")
    io.write_hdr(tmp_path / "f.tif", _hdr_image(rng, 4, 4))
    with pytest.raises(SingleHDRError, match="f.tif: "):
        io.read_ldr(tmp_path / "f.tif")


def test_folder_is_not_a_file(tmp_path):
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(SingleHDRError, match="folder.png: not a regular file"):
        io.read_ldr(tmp_path / "folder.png")


def _png_claiming(path, width, height):
    """A tiny PNG whose header announces width x height RGB pixels (a decompression bomb's shape)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(bytes(3 * width + 1))  # one row of zeros: a valid start of the stream
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [12_000, 60_000])  # below and above Pillow's own hard limit
def test_decompression_bomb_refused_from_header(tmp_path, side):
    _png_claiming(tmp_path / "bomb.png", side, side)
    with pytest.raises(SingleHDRError, match="bomb.png: image too large"):
        io.read_ldr(tmp_path / "bomb.png")


def test_max_pixels_checked_before_decoding(tmp_path, rng, monkeypatch):
    _valid_ldr(tmp_path / "a.png", rng)
    _valid_hdr(tmp_path / "a.exr", rng)
    monkeypatch.setattr(io, "MAX_PIXELS", 32 * 32 - 1)
    with pytest.raises(SingleHDRError, match="a.png: image too large"):
        io.read_ldr(tmp_path / "a.png")
    with pytest.raises(SingleHDRError, match="a.exr: image too large"):
        io.read_hdr(tmp_path / "a.exr")
    monkeypatch.setattr(io, "MAX_PIXELS", 32 * 32)
    assert io.read_ldr(tmp_path / "a.png").shape == (32, 32, 3)


# --- writing -----------------------------------------------------------------------------------


def test_atomic_write_replaces_on_success_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    with io.atomic_write(target) as temporary:
        assert temporary.parent == tmp_path and temporary.suffix == ".png" and temporary != target
        temporary.write_bytes(b"new")
        assert target.read_bytes() == b"old"
    assert target.read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == ["out.png"]


@pytest.mark.parametrize("existing", [False, True])
def test_atomic_write_leaves_no_file_when_the_writer_fails(tmp_path, existing):
    target = tmp_path / "out.exr"
    if existing:
        target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="writer crashed"):
        with io.atomic_write(target) as temporary:
            temporary.write_bytes(b"partial")
            raise RuntimeError("writer crashed")
    assert sorted(os.listdir(tmp_path)) == (["out.exr"] if existing else [])
    if existing:
        assert target.read_bytes() == b"old"


def test_write_ldr_failure_leaves_no_partial_file(tmp_path, rng, monkeypatch):
    def failing_save(image, path, *args, **kwargs):
        open(path, "wb").write(b"\x89PNG partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(SingleHDRError, match="out.png: cannot write .*disk full"):
        io.write_ldr(tmp_path / "out.png", rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8))
    assert os.listdir(tmp_path) == []


def test_write_hdr_failure_leaves_no_partial_file(tmp_path, rng, monkeypatch):
    class FailingOutput:
        def __init__(self, path):
            self.path = path

        def open(self, path, spec):
            open(path, "wb").write(b"v/1\x01 partial")
            return True

        def write_image(self, pixels):
            return False

        def close(self):
            return True

        def geterror(self):
            return "no space left on device"

    monkeypatch.setattr(io.oiio.ImageOutput, "create", FailingOutput)
    with pytest.raises(SingleHDRError, match="out.exr: cannot write .*no space left"):
        io.write_hdr(tmp_path / "out.exr", _hdr_image(rng, 4, 4))
    assert os.listdir(tmp_path) == []


def test_writes_into_missing_folder_fail_clearly(tmp_path, rng):
    with pytest.raises(SingleHDRError, match="does not exist"):
        io.write_hdr(tmp_path / "missing" / "a.exr", _hdr_image(rng, 4, 4))
    with pytest.raises(SingleHDRError, match="does not exist"):
        io.write_ldr(tmp_path / "missing" / "a.png", np.zeros((4, 4, 3), np.uint8))


@pytest.mark.parametrize(
    ("writer", "name", "image", "reason"),
    [
        (io.write_hdr, "a.png", np.ones((4, 4, 3), np.float32), "unsupported extension"),
        (io.write_hdr, "a.exr", np.ones((4, 4), np.float32), r"expected an \[H, W, 3\] image"),
        (io.write_hdr, "a.exr", np.ones((0, 4, 3), np.float32), r"expected an \[H, W, 3\] image"),
        (io.write_ldr, "a.bmp", np.ones((4, 4, 3), np.uint8), "unsupported extension"),
        (io.write_ldr, "a.png", np.ones((4, 4, 3), np.float32), "expected a uint8 image"),
        (io.write_ldr, "a.png", np.ones((4, 4, 4), np.uint8), r"expected an \[H, W, 3\] image"),
    ],
)
def test_bad_write_arguments(tmp_path, writer, name, image, reason):
    with pytest.raises(SingleHDRError, match=f"{name}: {reason}"):
        writer(tmp_path / name, image)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["a.hdr", "a.tif"])
def test_half_needs_exr(tmp_path, rng, name):
    with pytest.raises(SingleHDRError, match=f"{name}: half=True needs .exr"):
        io.write_hdr(tmp_path / name, _hdr_image(rng, 4, 4), half=True)
    assert os.listdir(tmp_path) == []


# --- tone-mapped previews ----------------------------------------------------------------------


def test_tonemap_is_deterministic_uint8_rgb(rng):
    hdr = _hdr_image(rng)
    preview = io.tonemap(hdr)
    assert preview.dtype == np.uint8 and preview.shape == hdr.shape
    np.testing.assert_array_equal(preview, io.tonemap(hdr.copy()))


def test_tonemap_is_monotone_in_radiance():
    ramp = np.geomspace(1e-4, 1e3, 200, dtype=np.float32)
    hdr = np.repeat(ramp[None, :, None], 3, axis=-1)
    grey = io.tonemap(hdr)[0, :, 0].astype(int)
    assert np.all(np.diff(grey) >= 0)
    assert grey[0] <= 1 and grey[-1] == 255


def test_tonemap_exposes_to_middle_grey_and_ignores_scale():
    constant = np.full((4, 4, 3), 37.0, np.float32)
    # Log-average to 0.18, no compression (white is at least 1): sRGB(0.18) = 0.461 -> 118.
    assert np.all(io.tonemap(constant) == 118)
    rng = np.random.default_rng(0)
    hdr = _hdr_image(rng)
    difference = io.tonemap(hdr).astype(int) - io.tonemap(hdr * 1000.0)
    assert np.abs(difference).max() <= 1  # auto-exposure; only the 1e-6 log guard breaks exactness


def test_tonemap_handles_black_negative_and_non_finite():
    assert np.all(io.tonemap(np.zeros((3, 3, 3), np.float32)) == 0)
    hdr = np.full((2, 2, 3), 0.5, np.float32)
    hdr[0, 0] = [np.nan, -1.0, np.inf]
    preview = io.tonemap(hdr)
    assert preview[0, 0].tolist() == [0, 0, 0]
    assert np.all(preview[1, 1] == preview[0, 1])


def test_write_preview_writes_the_tonemap(tmp_path, rng):
    hdr = _hdr_image(rng)
    io.write_preview(tmp_path / "preview.png", hdr)
    np.testing.assert_array_equal(io.read_ldr(tmp_path / "preview.png"), io.tonemap(hdr))


def test_write_json_writes_atomically_and_returns_the_text(tmp_path):
    path = tmp_path / "result.json"
    text = io.write_json(path, {"stops": 0.5, "sets": ["a"]})
    assert json.loads(path.read_text()) == {"stops": 0.5, "sets": ["a"]} and path.read_text() == text + "\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]  # no temporary left
    with pytest.raises(io.SingleHDRError, match="does not exist"):
        io.write_json(tmp_path / "missing" / "result.json", {})
