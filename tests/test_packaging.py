"""The wheel holds what the installed package reads: the shipped SavedModels, the curve and colour
data with their licence notes, not the TFLite files, the model card or lab notes; one version
string (issue 16)."""

import pathlib
import subprocess
import sys
import zipfile

import pytest

import singlehdr_tf
from singlehdr_tf import loading

REPO = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(REPO)], check=True, capture_output=True)
    (path,) = out.glob("singlehdr_tf-*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_carries_every_shipped_savedmodel(wheel):
    names = set(wheel.namelist())
    shipped = loading.shipped_model_names()
    assert "lite" in shipped
    for name in shipped:
        version = loading.latest_version(loading.SHIPPED_MODELS / name)
        folder = f"singlehdr_tf/resources/saved_models/{name}/{version}"
        for file in ("saved_model.pb", "variables/variables.index", str(loading.METADATA_FILE)):
            assert f"{folder}/{file}" in names


def test_the_wheel_leaves_out_what_the_package_does_not_read(wheel):
    names = wheel.namelist()
    assert not [name for name in names if name.endswith((".tflite", ".jsonl"))]
    assert not [name for name in names if name.startswith("singlehdr_tf/resources/saved_models/")
                and name.endswith(".md")]  # the model card stays beside the repository's saved_models/
    assert any(name.startswith("singlehdr_tf/resources/crf/") for name in names)


def test_one_version_string(wheel):
    assert f"singlehdr_tf-{singlehdr_tf.__version__}.dist-info/METADATA" in wheel.namelist()
