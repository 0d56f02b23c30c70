"""Shared pytest set-up: quiet TensorFlow logs, fixed seeds."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded NumPy generator, so a failing test fails the same way every run."""
    return np.random.default_rng(1234)
