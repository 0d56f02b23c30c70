"""Tests of the ``singlehdr`` command: argument parsing, batch reconstruction, delegation."""

import csv
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

from singlehdr_tf import api, cli, crf, export, io, models


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A tiny model saved as a ``.keras`` file, for ``--model PATH``."""
    keras.utils.set_random_seed(0)
    model = models.build_model("tiny")
    model(np.zeros((1, 32, 32, 3), np.float32))
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return path


@pytest.fixture
def loaded_once(model_file, monkeypatch):
    """Make ``api.load(model_file)`` return one shared Reconstructor (loading and tracing once)."""
    cache = {}
    real_load = api.load

    def load(name_or_path, **options):
        assert name_or_path == str(model_file)
        if "reconstructor" not in cache:
            cache["reconstructor"] = real_load(name_or_path, **options)
        return cache["reconstructor"]

    monkeypatch.setattr(api, "load", load)


@pytest.fixture
def photos(tmp_path, rng):
    """Two good photos (PNG and JPEG) and one corrupt file."""
    folder = tmp_path / "in"
    folder.mkdir()
    io.write_ldr(folder / "a.png", rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    io.write_ldr(folder / "b.jpg", rng.integers(0, 256, (36, 50, 3), dtype=np.uint8))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return folder


def test_parser_knows_every_subcommand_and_its_options():
    parser = cli.build_parser()
    args = parser.parse_args(["reconstruct", "x.jpg", "y.png", "-o", "out", "--format", "hdr", "--preview",
                              "--model", "runs/lite", "--curve-csv", "--overwrite"])
    assert (args.inputs, args.output, args.format, args.model) == (["x.jpg", "y.png"], pathlib.Path("out"), "hdr", "runs/lite")
    assert args.preview and args.curve_csv and args.overwrite
    defaults = parser.parse_args(["reconstruct", "x.jpg", "-o", "out"])
    assert (defaults.format, defaults.model, defaults.preview, defaults.overwrite) == ("exr", "lite", False, False)
    args = parser.parse_args(["export", "runs/lite", "--name", "lite", "--version", "3"])
    assert (args.model, args.name, args.version, args.out) == ("runs/lite", "lite", 3, pathlib.Path("saved_models"))
    for bad in (["reconstruct", "x.jpg"], ["reconstruct", "-o", "out"], ["reconstruct", "x", "-o", "o", "--format", "png"],
                ["export", "m", "--name", "n", "--version", "0"], ["export", "m", "--version", "1"], ["nope"]):
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args(bad)
        assert exit_info.value.code == cli.EXIT_USAGE


def test_reconstruct_writes_every_good_input_and_reports_each_bad_one(model_file, photos, tmp_path, capsys):
    out = tmp_path / "out"
    status = cli.main(["reconstruct", str(photos / "a.png"), str(photos / "broken.png"), str(photos / "b.jpg"),
                       str(photos / "missing.jpg"), "-o", str(out), "--model", str(model_file),
                       "--preview", "--curve-csv"])
    assert status == cli.EXIT_SOME_FAILED
    assert sorted(path.name for path in out.iterdir()) == [
        "a.exr", "a_curve.csv", "a_exposures.png", "a_preview.png",
        "b.exr", "b_curve.csv", "b_exposures.png", "b_preview.png"]  # no temporaries
    assert io.read_hdr(out / "a.exr").shape == (40, 48, 3)
    assert io.read_ldr(out / "b_preview.png").shape == (36, 50, 3)
    with open(out / "a_curve.csv", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["irradiance", "brightness"] and len(rows) == 1 + crf.CURVE_SAMPLES
    response = np.array(rows[1:], dtype=np.float64)
    assert response[0].tolist() == [0, 0] and response[-1].tolist() == [1, 1] and np.all(np.diff(response[:, 1]) >= 0)
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("singlehdr:")]
    assert len(errors) == 2
    assert "broken.png" in errors[0] and "missing.jpg: file not found" in errors[1]


def _run_cli(*arguments):
    """``python -m singlehdr_tf.cli ARGUMENTS`` in a fresh process, as from a user's shell (no
    TF_CPP_MIN_LOG_LEVEL): the exit status, stdout and stderr."""
    environment = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    process = subprocess.run([sys.executable, "-m", "singlehdr_tf.cli", *map(str, arguments)], env=environment,
                             capture_output=True, text=True, timeout=600)
    return process.returncode, process.stdout, process.stderr


def test_the_command_prints_one_line_per_file_and_a_summary_and_no_tensorflow_logs(model_file, photos, tmp_path):
    out = tmp_path / "out"
    status, stdout, stderr = _run_cli("reconstruct", photos / "a.png", photos / "broken.png", "-o", out,
                                      "--model", model_file, "--format", "uhdr", "--preview")
    assert status == cli.EXIT_SOME_FAILED
    assert stdout.splitlines() == [f"wrote {out / name}" for name in ("a_hdr.jpg", "a_preview.png", "a_exposures.png")] + [
        "3 files written, 1 input failed"]
    assert "cuInit" not in stderr and "absl" not in stderr
    (error,) = stderr.splitlines()  # nothing but the failed input's reason
    assert error.startswith(f"singlehdr: {photos / 'broken.png'}: ")


def test_verbose_shows_the_tensorflow_logs(photos, tmp_path):
    # A missing model stops the command right after TensorFlow's import: the logs are all it needs.
    status, _, stderr = _run_cli("--verbose", "reconstruct", photos / "a.png", "-o", tmp_path / "out",
                                 "--model", tmp_path / "missing.keras")
    assert status == cli.EXIT_USAGE and "missing.keras: no such file" in stderr
    assert "absl::InitializeLog" in stderr


def test_reconstruct_never_overwrites_unless_asked(model_file, loaded_once, photos, tmp_path, capsys):
    out = tmp_path / "out"
    arguments = ["reconstruct", str(photos / "a.png"), "-o", str(out), "--model", str(model_file), "--format", "hdr"]
    assert cli.main(arguments) == cli.EXIT_OK
    (out / "a.hdr").write_bytes(b"keep me")
    assert cli.main(arguments) == cli.EXIT_SOME_FAILED
    assert "already exists (use --overwrite)" in capsys.readouterr().err
    assert (out / "a.hdr").read_bytes() == b"keep me"
    assert cli.main(arguments + ["--overwrite"]) == cli.EXIT_OK
    assert io.read_hdr(out / "a.hdr").shape == (40, 48, 3)


def test_inputs_sharing_an_output_name_are_not_overwritten(model_file, loaded_once, photos, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    io.write_ldr(other / "a.png", np.zeros((32, 32, 3), np.uint8))
    out = tmp_path / "out"
    status = cli.main(["reconstruct", str(photos / "a.png"), str(other / "a.png"), "-o", str(out), "--model", str(model_file)])
    assert status == cli.EXIT_SOME_FAILED
    assert "output name 'a' is already used" in capsys.readouterr().err
    assert io.read_hdr(out / "a.exr").shape == (40, 48, 3)


def test_an_unwritable_output_folder_fails_before_any_work(photos, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(api, "load", lambda *args, **kwargs: pytest.fail("the model was loaded"))
    (tmp_path / "file").write_text("not a folder")
    status = cli.main(["reconstruct", str(photos / "a.png"), "-o", str(tmp_path / "file" / "out")])
    assert status == cli.EXIT_USAGE
    error = capsys.readouterr().err.strip()
    assert error.startswith("singlehdr: ") and "output folder is not writable" in error and "\n" not in error


def test_a_missing_model_fails_with_one_line(photos, tmp_path, capsys):
    status = cli.main(["reconstruct", str(photos / "a.png"), "-o", str(tmp_path / "out"), "--model", "nonexistent"])
    assert status == cli.EXIT_USAGE
    assert capsys.readouterr().err.strip().startswith("singlehdr: nonexistent: no such file or folder")


def test_export_delegates_to_export_all(model_file, tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(export, "export_all", lambda model, out, name, version, overwrite: calls.append(
        (type(model).__name__, out, name, version, overwrite)) or [out / name / str(version)])
    status = cli.main(["export", str(model_file), "--name", "mini", "--version", "4", "--out", str(tmp_path)])
    assert status == cli.EXIT_OK
    assert calls == [("SingleHDR", tmp_path, "mini", 4, False)]
    assert capsys.readouterr().out.strip() == str(tmp_path / "mini" / "4")


def test_export_bakes_in_the_curve_shrinkage(model_file, tmp_path, monkeypatch):
    exported = []
    monkeypatch.setattr(export, "export_all", lambda model, *args, **kwargs: exported.append(model) or [])
    arguments = ["export", str(model_file), "--name", "mini", "--version", "1", "--out", str(tmp_path)]
    assert cli.main(arguments + ["--curve-shrinkage", "0.25", "--shrink-toward", "srgb",
                                 "--shrink-toward-share", "0.5"]) == cli.EXIT_OK
    assert exported[0].get_config()["curve_shrinkage"] == 0.25
    assert exported[0].get_config()["curve_shrink_toward"] == "srgb"
    assert exported[0].get_config()["curve_shrink_toward_share"] == 0.5
    original = api.load_model(model_file)
    for mine, theirs in zip(exported[0].get_weights(), original.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    assert cli.main(arguments + ["--curve-shrinkage", "2"]) == cli.EXIT_USAGE
    assert cli.main(arguments + ["--shrink-toward-share", "-0.1"]) == cli.EXIT_USAGE


def test_train_synth_and_evaluate_are_wired(monkeypatch, capsys):
    from singlehdr_tf.evaluation import report, synth
    from singlehdr_tf.training import __main__ as training_main

    forwarded = []
    monkeypatch.setattr(training_main, "main", lambda argv: forwarded.append(argv) or 0)
    assert cli.main(["train", "configs/tiny.yaml", "--data", "hdr", "--out", "runs/x", "--max-steps", "2"]) == 0
    assert forwarded == [["configs/tiny.yaml", "--data", "hdr", "--out", "runs/x", "--max-steps", "2"]]
    monkeypatch.setattr(synth, "run", lambda args: pathlib.Path(args.out_dir) / "manifest.json")
    assert cli.main(["synth", "hdr_dir", "set_dir"]) == 0
    monkeypatch.setattr(report, "run", lambda args: {})
    assert cli.main(["evaluate", "--data", "set_dir", "--out", "report_dir", "--baselines", "all"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"wrote {pathlib.Path('set_dir') / 'manifest.json'}",
                                                    f"wrote {pathlib.Path('report_dir') / 'report.md'}"]
