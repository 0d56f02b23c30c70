"""Shared pytest set-up: quiet TensorFlow logs, fixed seeds."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded NumPy generator, so a failing test fails the same way every run."""
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def tiny_model():
    """The "tiny" SingleHDR with fixed random weights, built (the tests' stand-in for a trained
    model). Shared by the whole session: tests must not change its weights."""
    import keras

    from singlehdr_tf import models

    keras.utils.set_random_seed(0)
    model = models.build_model("tiny")
    model(np.zeros((1, 32, 32, 3), np.float32))
    return model
