"""Packaging for singlehdr_tf (the build system and tool settings are in pyproject.toml).

The shipped SavedModels stay in the repository's top-level ``saved_models/`` (TF Serving's
``<name>/<version>/`` layout, the one copy); the build copies their version folders into the wheel
as ``singlehdr_tf/resources/saved_models/``, where :mod:`singlehdr_tf.loading` finds them. The
TFLite files and the model card are not package data: nothing in the package reads them.
"""

import pathlib
import re
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = pathlib.Path(__file__).resolve().parent
VERSION = re.search(r'^__version__ = "([^"]+)"', (ROOT / "singlehdr_tf" / "__init__.py").read_text(), re.M).group(1)


class BuildPyWithModels(build_py):
    """``build_py`` that also copies every ``saved_models/<name>/<version>/`` SavedModel into the wheel."""

    def run(self):
        super().run()
        target = pathlib.Path(self.build_lib) / "singlehdr_tf" / "resources" / "saved_models"
        for version_dir in sorted((ROOT / "saved_models").glob("*/[0-9]*")):
            if (version_dir / "saved_model.pb").is_file():
                destination = target / version_dir.relative_to(ROOT / "saved_models")
                shutil.copytree(version_dir, destination, dirs_exist_ok=True)


setup(
    name="singlehdr_tf",
    version=VERSION,
    description="Single-image HDR reconstruction by reversing the camera pipeline (TensorFlow/Keras 3).",
    long_description=(ROOT / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["singlehdr_tf", "singlehdr_tf.*"]),
    include_package_data=True,
    package_data={
        "singlehdr_tf": [
            "resources/crf/*",
            "models/presets.json",
            "resources/icc/*",
        ]
    },
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "numpy",
        "Pillow",
        "PyYAML",
        "OpenImageIO",
        "ai-edge-litert",
        "tqdm",
    ],
    extras_require={
        "test": ["pytest", "pytest-xdist", "hypothesis", "tensorflow-serving-api>=2.21,<2.22"],
        "beam": ["apache-beam>=2.77,<2.78"],
    },
    entry_points={"console_scripts": ["singlehdr=singlehdr_tf.cli:main"]},
    cmdclass={"build_py": BuildPyWithModels},
)
