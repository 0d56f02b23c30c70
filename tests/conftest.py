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


def _assert_same_outputs(actual, expected) -> None:
    if isinstance(expected, dict):
        for name, value in expected.items():
            np.testing.assert_array_equal(np.asarray(actual[name]), np.asarray(value), err_msg=name)
    else:
        np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected))


@pytest.fixture
def saving_round_trip(tmp_path):
    """``check(layer, *inputs)``, keras-hub's ``run_model_saving_test`` for this package: the layer
    rebuilt from its ``get_config`` with its weights copied, and (for a ``keras.Model``) saved to a
    ``.keras`` file and loaded back, gives exactly the layer's outputs on ``inputs``."""
    import keras

    def check(layer, *inputs):
        expected = layer(*inputs)
        clone = type(layer).from_config(layer.get_config())
        clone(*inputs)
        clone.set_weights(layer.get_weights())
        _assert_same_outputs(clone(*inputs), expected)
        if isinstance(layer, keras.Model):
            path = tmp_path / f"{layer.name}.keras"
            layer.save(path)
            loaded = keras.saving.load_model(path)
            assert type(loaded) is type(layer)
            _assert_same_outputs(loaded(*inputs), expected)

    return check
