"""Packaging for singlehdr_tf (the build system itself is declared in pyproject.toml)."""

from setuptools import find_packages, setup

setup(
    name="singlehdr_tf",
    version="0.1.0",
    description="Single-image HDR reconstruction by reversing the camera pipeline (TensorFlow/Keras 3).",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["singlehdr_tf", "singlehdr_tf.*"]),
    include_package_data=True,
    package_data={
        "singlehdr_tf": [
            "resources/crf/*",
            "resources/icc/*",
            "resources/saved_models/**/*",
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
        "test": ["pytest", "hypothesis", "tensorflow-serving-api>=2.21,<2.22"],
    },
    entry_points={"console_scripts": ["singlehdr=singlehdr_tf.cli:main"]},
)
