"""Shared fixtures of the robustness suite: one tiny model, its reconstructor, its SavedModel, the
input files of :mod:`robust_cases`, and the ``singlehdr`` CLI run in-process on that model."""

from __future__ import annotations

import pathlib

import pytest
import tensorflow as tf
from robust_cases import CASES

from singlehdr_tf import api, cli, export

MODEL_ARGUMENT = "tiny-test-model"
"""``--model`` value that the ``cli_run`` fixture resolves to the session's tiny model."""


@pytest.fixture(scope="session")
def reconstructor(tiny_model) -> api.Reconstructor:
    return api.Reconstructor(tiny_model)


@pytest.fixture(scope="session")
def model_file(tiny_model, tmp_path_factory) -> pathlib.Path:
    """The tiny model as a ``.keras`` file, for real ``singlehdr`` subprocesses."""
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    tiny_model.save(path)
    return path


@pytest.fixture(scope="session")
def saved_model_dir(tiny_model, tmp_path_factory) -> pathlib.Path:
    """The tiny model exported once per session as ``saved_models/tiny/1``."""
    return export.write_saved_model(tiny_model, tmp_path_factory.mktemp("saved_models") / "tiny" / "1")


@pytest.fixture(scope="session")
def signatures(saved_model_dir) -> dict:
    """The exported signatures, loaded as TF Serving loads them (``serve`` tag)."""
    return tf.saved_model.load(str(saved_model_dir), tags=["serve"]).signatures


@pytest.fixture(scope="session")
def case_dir(tmp_path_factory) -> pathlib.Path:
    """Every input case of :data:`robust_cases.CASES` written once, under its own name."""
    folder = tmp_path_factory.mktemp("cases")
    for case in CASES:
        (folder / case.name).write_bytes(case.make())
    return folder


@pytest.fixture
def cli_run(tiny_model, reconstructor, monkeypatch, capsys):
    """``cli.main`` in-process, with ``--model`` ``run.model`` meaning the session's model (loaded and
    traced once); returns ``run(*arguments) -> (status, stdout, stderr)``."""
    real_load, real_load_model = api.load, api.load_model

    def load(name_or_path, **options):
        return reconstructor if name_or_path == MODEL_ARGUMENT else real_load(name_or_path, **options)

    def load_model(name_or_path):
        return tiny_model if name_or_path == MODEL_ARGUMENT else real_load_model(name_or_path)

    monkeypatch.setattr(api, "load", load)
    monkeypatch.setattr(api, "load_model", load_model)

    def run(*arguments) -> tuple[int, str, str]:
        capsys.readouterr()
        status = cli.main([str(argument) for argument in arguments])
        out, err = capsys.readouterr()
        return status, out, err

    run.model = MODEL_ARGUMENT
    return run

