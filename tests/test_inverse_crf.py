"""Tests of InverseCRF's float16-safe constants: what a float16 TFLite file keeps of the curve."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from singlehdr_tf import crf
from singlehdr_tf.layers import InverseCRF
from singlehdr_tf.layers.inverse_crf import float16_split


def reference_curves(weights, shrinkage=1.0):
    """``s P(g0 + w @ H) + (1 - s) g0`` with the unsplit constants."""
    g0, basis = crf.load_inverse_emor(weights.shape[-1])
    return shrinkage * crf.monotonic_projection(g0 + weights @ basis).numpy() + (1.0 - shrinkage) * g0


def rounded_to_float16(layer):
    """A copy of ``layer`` whose constant arrays went through float16, as the converter stores them."""
    copy = InverseCRF.from_config(layer.get_config())
    constants = [name for name, value in vars(copy).items() if isinstance(value, np.ndarray)]
    assert constants  # the curve's constants are plain arrays, not weights
    for name in constants:
        setattr(copy, name, getattr(copy, name).astype(np.float16).astype(np.float32))
    return copy


def float16_stored(values):
    return np.asarray(values, np.float32).astype(np.float16).astype(np.float32)


@pytest.mark.parametrize("k", [1, 11, 25])
def test_float16_split_is_exact_in_float32_and_survives_float16_storage(k):
    g0, basis = crf.load_inverse_emor(k)
    for values in (g0, basis):
        high, low = float16_split(values)
        assert high.dtype == low.dtype == np.float32
        np.testing.assert_array_equal(high + low, values)
        np.testing.assert_array_equal(float16_stored(high), high)
        assert np.all(np.abs(low) <= np.maximum(2.0**-11 * np.abs(values), 2.0**-25))
        stored = float16_stored(high) + float16_stored(low)
        assert np.abs(stored - values).max() <= 6e-8
    assert np.abs(float16_stored(g0) - g0).max() > 2e-4  # what the split avoids


def assert_within_float32_conditioning(curves, expected):
    """The projection shifts every step by the most negative one, which amplifies float32-size
    changes of the unprojected curve in rare curves (float32 itself lands up to ~1.5e-5 from a
    float64 computation there); typical differences stay near one float32 ulp."""
    difference = np.abs(curves - expected)
    assert difference.max() < 3e-5 and difference.mean() < 1e-6, (difference.max(), difference.mean())


@pytest.mark.parametrize("scale", [0.0, 0.01, 0.1, 1.0, 10.0])
def test_curve_survives_float16_constants(rng, scale):
    weights = (rng.standard_normal((16, 11)) * scale).astype(np.float32)
    layer = InverseCRF(11)
    curves = layer.inverse_crf(weights).numpy()
    assert_within_float32_conditioning(rounded_to_float16(layer).inverse_crf(weights).numpy(), curves)


def test_float16_constants_bend_the_unsplit_curve(rng):
    """What the split avoids: near the EMoR mean (where trained models sit) float16 ``g0`` and
    ``H`` move the curve by float16's rounding of ``g0``, 2e-4."""
    weights = (rng.standard_normal((16, 11)) * 0.01).astype(np.float32)
    g0, basis = crf.load_inverse_emor(11)
    unsplit = crf.monotonic_projection(float16_stored(g0) + weights @ float16_stored(basis)).numpy()
    assert np.abs(unsplit - InverseCRF(11).inverse_crf(weights).numpy()).max() > 2e-4


@pytest.mark.parametrize("shrinkage", [1.0, 0.5])
def test_split_constants_give_the_unsplit_curve_to_float32_rounding(rng, shrinkage):
    for scale in (0.01, 0.1, 1.0):
        weights = (rng.standard_normal((64, 11)) * scale).astype(np.float32)
        curves = InverseCRF(11, shrinkage).inverse_crf(weights).numpy()
        assert_within_float32_conditioning(curves, reference_curves(weights, shrinkage))


def test_layer_keeps_no_weights_and_its_config():
    layer = InverseCRF(7, shrinkage=0.25)
    layer(np.zeros((1, 7), np.float32), np.zeros((1, 4, 4, 3), np.float32))
    assert layer.weights == []
    config = layer.get_config()
    assert config["crf_weights"] == 7 and config["shrinkage"] == 0.25
    assert set(config) - set(keras.layers.Layer().get_config()) == {"crf_weights", "shrinkage", "basis",
                                                                          "shrink_toward", "shrink_toward_share"}
    assert InverseCRF.from_config({**config, "basis": "camera"}).basis == "camera"


def test_float16_tflite_keeps_the_curve_to_float32_accuracy(rng, tmp_path):
    layer = InverseCRF(11)

    class Curve(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 11], tf.float32, name="crf_weights")])
        def serve(self, crf_weights):
            return {"inverse_crf": layer.inverse_crf(crf_weights)}

    module = Curve()
    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": module.serve})
    converter = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    interpreter = Interpreter(model_content=converter.convert())
    stored = {detail["dtype"] for detail in interpreter.get_tensor_details() if detail["shape"].tolist() == [1024, 11]}
    assert np.float16 in stored  # the basis really is stored as float16
    runner = interpreter.get_signature_runner("serving_default")
    for scale in (0.0, 0.01, 0.1, 1.0):
        weights = (rng.standard_normal((1, 11)) * scale).astype(np.float32)
        expected = layer.inverse_crf(weights).numpy()
        assert_within_float32_conditioning(runner(crf_weights=weights)["inverse_crf"], expected)
