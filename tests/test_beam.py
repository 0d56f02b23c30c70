"""Tests of singlehdr_tf.beam: the photo-library pipeline on Beam's local runner, with the tiny model."""

import json
import pathlib
import struct
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("apache_beam")

from singlehdr_tf import SingleHDRError, api, cli, io  # noqa: E402
from singlehdr_tf import beam as pipeline  # noqa: E402

LOCAL_RUNNER = ["--runner=DirectRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1"]
GOOD = 24


@pytest.fixture(scope="module")
def model_file(tiny_model, tmp_path_factory) -> pathlib.Path:
    """The tiny model as a ``.keras`` file, what the workers load."""
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    tiny_model.save(path)
    return path


def png_header(width: int, height: int) -> bytes:
    """A PNG that announces ``width`` x ``height`` RGB pixels and holds none (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> tuple[pathlib.Path, dict[str, str]]:
    """A folder of ``GOOD`` small photos (PNG and JPEG, two sizes) and bad files; the bad files'
    names with the reason each must be dead-lettered for."""
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(18)
    for index in range(GOOD):
        height, width = (32, 48) if index % 3 else (40, 56)
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"p{index:02d}.{'png' if index % 2 else 'jpg'}")
    (folder / "empty.png").write_bytes(b"")
    (folder / "corrupt.jpg").write_bytes(rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
    (folder / "truncated.png").write_bytes((folder / "p01.png").read_bytes()[:300])
    (folder / "huge.png").write_bytes(png_header(12000, 12000))
    Image.fromarray(np.zeros((24, 32, 3), np.uint8)).save(folder / "small.png")
    (folder / "notes.txt").write_text("not a photo")
    (folder / "p00.png").write_bytes((folder / "p03.png").read_bytes())  # same output name as p00.jpg
    bad = {
        "empty.png": "empty file",
        "corrupt.jpg": "cannot decode",
        "truncated.png": "cannot decode",
        "huge.png": "image too large (12000x12000 pixels",
        "small.png": "32x24 pixels is too small",
        "notes.txt": "unsupported extension '.txt'",
        "p00.png": "output name 'p00.exr' is already used by ",
    }
    return folder, bad


def test_pipeline_writes_each_good_photo_once_and_dead_letters_the_bad_ones(photos, model_file, tmp_path, capsys):
    folder, bad = photos
    out = tmp_path / "out"
    out.mkdir()
    existing = out / "p05.exr"
    io.write_hdr(existing, np.full((8, 8, 3), 7.0, np.float32))
    existing_bytes = existing.read_bytes()

    counts = pipeline.run(str(folder / "*"), out, model=str(model_file), pipeline_args=LOCAL_RUNNER)
    assert counts["inputs"] == GOOD + len(bad)
    assert (counts["images"], counts["skipped"], counts["failures"]) == (GOOD - 1, 1, len(bad))
    assert counts["megapixels"] > 0 and counts["model_seconds"] > 0

    records = [json.loads(line) for line in (out / pipeline.DEAD_LETTER_FILE).read_text().splitlines()]
    reasons = {pathlib.Path(record["path"]).name: record["reason"] for record in records}
    assert len(records) == len(bad) and set(reasons) == set(bad)
    for name, reason in bad.items():
        assert reason in reasons[name], (name, reasons[name])
    assert existing.read_bytes() == existing_bytes  # not overwritten

    reconstructor = api.load(model_file)
    for index in range(GOOD):
        if index == 5:
            continue
        source = folder / f"p{index:02d}.{'png' if index % 2 else 'jpg'}"
        expected = reconstructor.reconstruct(io.read_ldr(source))
        np.testing.assert_allclose(io.read_hdr(out / f"p{index:02d}.exr"), expected, rtol=1e-4, atol=1e-5)

    outputs = {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in out.iterdir() if path.suffix == ".exr"}
    capsys.readouterr()
    status = cli.main(["beam", str(folder / "*"), str(out), "--model", str(model_file), *LOCAL_RUNNER])
    assert status == cli.EXIT_SOME_FAILED
    summary = capsys.readouterr().out
    assert f"{GOOD + len(bad)} inputs: 0 written" in summary and f"{GOOD} skipped" in summary
    assert f"{len(bad)} failed (see {out / pipeline.DEAD_LETTER_FILE})" in summary
    assert {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in out.iterdir()
            if path.suffix == ".exr"} == outputs
    names = sorted([pipeline.DEAD_LETTER_FILE, *(output.name for output in outputs)])
    assert sorted(path.name for path in out.iterdir()) == names
    rerun = [json.loads(line) for line in (out / pipeline.DEAD_LETTER_FILE).read_text().splitlines()]
    assert sorted(rerun, key=lambda record: record["path"]) == sorted(records, key=lambda record: record["path"])


def test_remote_filesystems_read_through_a_local_copy_and_upload_the_output(photos, model_file, tmp_path, monkeypatch):
    folder, _ = photos
    monkeypatch.setattr(pipeline, "_is_local", lambda path: False)  # take the gs:// / s3:// code path
    out = tmp_path / "out"
    out.mkdir()
    counts = pipeline.run(str(folder / "p1[01].*"), out, model=str(model_file), pipeline_args=LOCAL_RUNNER)
    assert (counts["inputs"], counts["images"], counts["failures"]) == (2, 2, 0)
    expected = api.load(model_file).reconstruct(io.read_ldr(folder / "p10.jpg"))
    np.testing.assert_allclose(io.read_hdr(out / "p10.exr"), expected, rtol=1e-4, atol=1e-5)
    empty = str(folder / "empty.png")
    with pytest.raises(SingleHDRError) as error:  # the message names the input, not the local copy
        pipeline.read_photo(pipeline.Photo(empty, str(out / "empty.exr")))
    assert str(error.value) == f"{empty}: empty file"


def test_error_reason_strips_the_path_of_package_errors_and_names_other_types():
    def caught(error: Exception) -> tuple:
        import traceback

        try:
            raise error
        except Exception as raised:  # noqa: BLE001
            return type(raised), repr(raised), traceback.format_exception(raised)

    assert pipeline.error_reason("a: b.png", caught(SingleHDRError("a: b.png: empty file"))) == "empty file"
    assert pipeline.error_reason("a.png", caught(SingleHDRError("input image: too small"))) == "too small"
    assert pipeline.error_reason("a.png", caught(ValueError("bad\nvalue"))) == "ValueError: bad"


def test_cli_names_the_missing_extra_when_beam_is_not_installed(monkeypatch, tmp_path, capsys):
    import singlehdr_tf

    monkeypatch.setitem(sys.modules, "apache_beam", None)  # import apache_beam now fails
    monkeypatch.delitem(sys.modules, "singlehdr_tf.beam")
    monkeypatch.delattr(singlehdr_tf, "beam")
    assert cli.main(["beam", str(tmp_path / "*.jpg"), str(tmp_path / "out")]) == cli.EXIT_USAGE
    assert 'Apache Beam is not installed (pip install "singlehdr_tf[beam]")' in capsys.readouterr().err
