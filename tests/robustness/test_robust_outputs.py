"""Outputs under faults: existing files are kept unless asked, a write that fails or is killed
midway leaves no partial file under the final name, an unwritable output folder fails before any
work. (A batch with bad inputs is in test_robust_inputs.py.)"""

import errno
import os
import pathlib
import re
import signal
import types

import numpy as np
import OpenImageIO as oiio
import pytest
from test_training import finish, python

from singlehdr_tf import SingleHDRError, io

OUTPUT_NAMES = ("good.exr", "good_preview.png", "good_exposures.png", "good_curve.csv")


@pytest.fixture
def no_work(reconstructor, monkeypatch):
    """Fail the test if the session's reconstructor is asked to reconstruct anything."""
    monkeypatch.setattr(reconstructor, "reconstruct", lambda *args, **kwargs: pytest.fail("work was done"))


@pytest.mark.parametrize("existing", OUTPUT_NAMES)
def test_api_refuses_to_overwrite_any_existing_output_before_any_work(reconstructor, case_dir, tmp_path, existing,
                                                                       monkeypatch):
    (tmp_path / existing).write_text("keep me")
    with monkeypatch.context() as patch:
        patch.setattr(reconstructor, "reconstruct", lambda *args, **kwargs: pytest.fail("work was done"))
        with pytest.raises(SingleHDRError, match=re.escape(f"good.png: {tmp_path / existing} already exists")):
            reconstructor.reconstruct_file(case_dir / "good.png", tmp_path, preview=True, curve_csv=True)
    assert sorted(path.name for path in tmp_path.iterdir()) == [existing]
    assert (tmp_path / existing).read_text() == "keep me"
    written = reconstructor.reconstruct_file(case_dir / "good.png", tmp_path, preview=True, curve_csv=True,
                                             overwrite=True)
    assert [path.name for path in written] == list(OUTPUT_NAMES)
    assert (tmp_path / existing).read_bytes() != b"keep me"


def test_cli_keeps_every_existing_output_without_overwrite(cli_run, case_dir, tmp_path):
    (tmp_path / "good_preview.png").write_text("keep me")
    status, _, err = cli_run("reconstruct", case_dir / "good.png", "-o", tmp_path, "--preview",
                             "--model", cli_run.model)
    assert status == 1 and "good_preview.png already exists (use --overwrite)" in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["good_preview.png"]  # no .exr either
    assert (tmp_path / "good_preview.png").read_text() == "keep me"


def test_cli_export_keeps_an_existing_version_without_overwrite(cli_run, tmp_path):
    (tmp_path / "tiny" / "1").mkdir(parents=True)
    (tmp_path / "tiny" / "1" / "saved_model.pb").write_text("keep me")
    status, _, err = cli_run("export", cli_run.model, "--name", "tiny", "--version", "1", "--out", tmp_path)
    assert status == 2 and "already exists (use overwrite to replace it)" in err
    assert sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*")) == [
        "tiny", "tiny/1", "tiny/1/saved_model.pb"]
    assert (tmp_path / "tiny" / "1" / "saved_model.pb").read_text() == "keep me"


class _DiskFullOutput:
    """An OpenImageIO writer that writes part of the file, then runs out of space."""

    def open(self, path, spec):
        pathlib.Path(path).write_bytes(b"partial")
        return True

    def write_image(self, image):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_write_failing_midway_keeps_the_old_file_and_leaves_no_temporary(cli_run, case_dir, tmp_path, monkeypatch):
    (tmp_path / "good.exr").write_text("old result")
    disk_full = types.SimpleNamespace(ImageSpec=oiio.ImageSpec, geterror=oiio.geterror,
                                      ImageOutput=types.SimpleNamespace(create=lambda path: _DiskFullOutput()))
    monkeypatch.setattr(io, "oiio", disk_full)
    status, _, err = cli_run("reconstruct", case_dir / "good.png", "-o", tmp_path, "--overwrite",
                             "--model", cli_run.model)
    assert status == 1
    assert f"{tmp_path / 'good.exr'}: cannot write (No space left on device)" in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["good.exr"]
    assert (tmp_path / "good.exr").read_text() == "old result"


KILLED_WRITER = """
import os, sys, time
import numpy as np
from singlehdr_tf import io

def hang(source, target):  # the last moment before the rename: the temporary file is complete
    print("written", source, flush=True)
    time.sleep(600)

os.replace = hang
io.write_hdr(sys.argv[1], np.full((256, 256, 3), 2.0, np.float32))
"""


def test_sigkill_before_the_rename_leaves_the_old_file_under_the_final_name(tmp_path):
    target = tmp_path / "out" / "scene.exr"
    target.parent.mkdir()
    io.write_hdr(target, np.ones((8, 8, 3), np.float32))
    (tmp_path / "writer.py").write_text(KILLED_WRITER)
    process = python(tmp_path / "writer.py", target)  # imports no TensorFlow: starts in a second
    line = process.stdout.readline()
    assert line.startswith("written "), line + finish(process)
    temporary = pathlib.Path(line.split(" ", 1)[1].strip())
    assert temporary.parent == target.parent and temporary.name.startswith(".scene.") and temporary.stat().st_size > 0
    process.send_signal(signal.SIGKILL)
    finish(process)
    assert process.returncode == -signal.SIGKILL
    np.testing.assert_array_equal(io.read_hdr(target), np.ones((8, 8, 3), np.float32))  # the old file, whole
    # What a killed process leaves is the hidden temporary, never a partial file under the final name.
    assert sorted(path.name for path in target.parent.iterdir()) == sorted([temporary.name, "scene.exr"])


@pytest.fixture
def a_file(tmp_path) -> pathlib.Path:
    """A regular file: no folder can be created under it, whoever runs the tests (root included)."""
    path = tmp_path / "a_file"
    path.write_text("not a folder")
    return path


def test_api_refuses_an_unwritable_output_folder_before_any_work(reconstructor, case_dir, a_file, no_work):
    for folder in (a_file, a_file / "out"):
        message = f"good.png: output folder {folder} is not a writable folder"
        with pytest.raises(SingleHDRError, match=re.escape(message)):
            reconstructor.reconstruct_file(case_dir / "good.png", folder)


@pytest.mark.parametrize("command", ["reconstruct", "export"])
def test_cli_refuses_an_unwritable_output_folder_before_loading_the_model(cli_run, case_dir, a_file, command,
                                                                          monkeypatch):
    from singlehdr_tf import api

    monkeypatch.setattr(api, "load", lambda *args, **kwargs: pytest.fail("the model was loaded"))
    monkeypatch.setattr(api, "load_model", lambda *args, **kwargs: pytest.fail("the model was loaded"))
    for folder in (a_file, a_file / "out"):
        arguments = {"reconstruct": ("reconstruct", case_dir / "good.png", "-o", folder, "--model", cli_run.model),
                     "export": ("export", cli_run.model, "--name", "tiny", "--version", "1", "--out", folder)}
        status, _, err = cli_run(*arguments[command])
        assert status == 2
        assert err.startswith(f"singlehdr: {folder}: output folder is not writable (") and err.count("\n") == 1
