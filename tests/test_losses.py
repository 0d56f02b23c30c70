"""Loss terms (singlehdr_tf.training.losses) and stage weightings (singlehdr_tf.training.stages), on tiny
hand-checkable tensors."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from singlehdr_tf import SingleHDRError
from singlehdr_tf.training import losses, stages


def _batch(rng, size=8, batch=2):
    """Model outputs and pipeline targets of the right shapes, mid-grey inputs (not exposure-gated)."""
    image = lambda: tf.constant(rng.uniform(0.2, 0.8, (batch, size, size, 3)), tf.float32)  # noqa: E731
    curve = lambda: tf.constant(np.sort(rng.uniform(0, 1, (batch, 1024)), axis=1), tf.float32)  # noqa: E731
    outputs = {"dequantized": image(), "linear": image(), "inverse_crf": curve(), "hallucinated": image() * 2,
               "hdr": image() * 3}
    targets = {"ldr": image(), "nonlinear": image(), "clipped": image(), "inverse_crf": curve(), "hdr": image() * 4}
    return outputs, targets


@pytest.fixture(scope="module")
def vgg_weights(tmp_path_factory):
    """A randomly initialised VGG16 (include_top=False) saved in Keras format: the perceptual term's
    mechanics without ImageNet weights."""
    path = tmp_path_factory.mktemp("vgg") / "vgg16_random.weights.h5"
    keras.utils.set_random_seed(0)
    keras.applications.VGG16(weights=None, include_top=False, input_shape=(None, None, 3)).save_weights(path)
    return path


def test_l2_and_log_l2_per_example():
    prediction = tf.constant([[[[1.0]]], [[[3.0]]]])
    target = tf.constant([[[[0.0]]], [[[1.0]]]])
    np.testing.assert_allclose(losses.l2(prediction, target), [1.0, 4.0])
    eps = losses.HDR_LOG_EPSILON
    expected = [math.log((1 + eps) / eps) ** 2, math.log((3 + eps) / (1 + eps)) ** 2]
    np.testing.assert_allclose(losses.log_l2(prediction, target), expected, rtol=1e-5)


def test_log_l2_is_finite_for_negative_predictions():
    value = losses.log_l2(tf.constant([[[[-5.0]]]]), tf.constant([[[[2.0]]]]))
    assert np.isfinite(value.numpy()).all()


def test_tone_map_fixes_zero_and_the_clipping_level():
    np.testing.assert_allclose(losses.tone_map(tf.constant([0.0, 1.0, -1.0])), [0.0, 1.0, 0.0], atol=1e-6)
    assert float(losses.tone_map(tf.constant(10.0))) > 1.0


def test_total_variation_of_a_step_edge():
    image = np.zeros((1, 4, 4, 1), np.float32)
    image[:, :, 2:] = 1.0  # one vertical edge: |dx| = 1 on 4 of the 12 horizontal differences
    np.testing.assert_allclose(losses.total_variation(tf.constant(image)), [4 / 12], rtol=1e-6)
    assert float(losses.total_variation(tf.ones((1, 4, 4, 3)))[0]) == 0.0


def test_exposure_weight_gates_saturated_and_black_crops():
    ldr = tf.stack([tf.ones((8, 8, 3)), tf.zeros((8, 8, 3)), tf.fill((8, 8, 3), 0.5)])
    np.testing.assert_array_equal(losses.exposure_weight(ldr), [0.0, 0.0, 1.0])


@pytest.mark.parametrize("stage", list(stages.STAGES))
def test_stage_loss_is_the_weighted_sum_of_its_terms(rng, stage):
    outputs, batch = _batch(rng)
    total, terms = stages.stage_loss(stage, outputs, batch)
    weights = stages.STAGES[stage].weights
    assert set(terms) == {name for name, weight in weights.items() if weight and name != "perceptual"}  # no VGG
    assert total.shape == (2,)
    expected = sum(weights[name] * value for name, value in terms.items())
    np.testing.assert_allclose(total, expected, rtol=1e-6)
    assert np.all(total.numpy() > 0)


def test_stage_loss_takes_other_weights_for_some_terms(rng):
    outputs, batch = _batch(rng)
    _, default_terms = stages.stage_loss("linearization", outputs, batch)
    total, terms = stages.stage_loss("linearization", outputs, batch, weight_overrides={"inverse_crf_log": 0.0,
                                                                                        "linear": 2.0})
    assert set(terms) == {"linear", "inverse_crf"}  # weight 0: not computed
    np.testing.assert_allclose(total, 2.0 * default_terms["linear"] + 0.1 * default_terms["inverse_crf"], rtol=1e-6)
    assert stages.STAGES["linearization"].weights["linear"] == 1.0  # the defaults stay
    with pytest.raises(ValueError, match=r"no loss terms \['hallucination'\]"):
        stages.stage_weights("linearization", {"hallucination": 1.0})


def test_joint_weights_are_the_papers():
    paper_joint = {"dequantization": 1.0, "linear": 10.0, "inverse_crf": 1.0, "hallucination": 1.0,
                   "perceptual": 0.001, "total_variation": 0.1}
    assert stages.STAGES["joint"].weights == {**paper_joint, "inverse_crf_log": 0.04, "linear_log": 0.0}
    assert stages.STAGES["linearization"].weights == {"linear": 1.0, "inverse_crf": 0.1, "inverse_crf_log": 0.004,
                                                      "linear_log": 0.0}


def test_linear_log_term_ignores_exposure_and_clipped_pixels(rng):
    target = tf.constant(rng.uniform(0.01, 1.0, (1, 8, 8, 3)), tf.float32)
    ldr = tf.fill((1, 8, 8, 3), 0.5)
    np.testing.assert_allclose(losses.scale_invariant_log_l2(target * 4.0, target, ldr), [0.0], atol=1e-9)
    # one stop too bright on half the values, right on the other half: d is 0 or 1, variance 1/4
    doubled = tf.concat([target[:, :4] * 2.0, target[:, 4:]], axis=1)
    np.testing.assert_allclose(losses.scale_invariant_log_l2(doubled, target, ldr), [0.25], rtol=1e-5)
    # the same error where the input clipped is not scored
    clipped = tf.concat([tf.ones((1, 4, 8, 3)), ldr[:, 4:]], axis=1)
    np.testing.assert_allclose(losses.scale_invariant_log_l2(doubled, target, clipped), [0.0], atol=1e-9)
    np.testing.assert_allclose(losses.scale_invariant_log_l2(doubled, target, tf.ones((1, 8, 8, 3))), [0.0])


def test_linear_log_term_is_weighed_when_a_config_asks(rng):
    outputs, batch = _batch(rng)
    _, terms = stages.stage_loss("linearization", outputs, batch, weight_overrides={"linear_log": 0.5})
    assert "linear_log" in terms and np.all(terms["linear_log"].numpy() > 0)


def test_log_curve_term_is_in_stops_and_ignores_values_below_the_floor():
    x = np.linspace(0.0, 1.0, 1024, dtype=np.float32)[None]
    floor = losses.CURVE_LOG_FLOOR
    np.testing.assert_allclose(losses.log_curve_l2(x, x), [0.0])
    # Twice as bright everywhere above the floor (halved at 1): one stop wherever both are above it.
    brighter = np.where(x >= floor, np.minimum(2 * x, 1.0), x)
    both_above = (x >= floor) & (2 * x <= 1.0)
    expected = np.mean(np.where(both_above, 1.0, np.log2(np.maximum(brighter, floor) / np.maximum(x, floor)) ** 2))
    np.testing.assert_allclose(losses.log_curve_l2(brighter, x), [expected], rtol=1e-5)
    # Below the floor both sides are the floor: no error, where a linear L2 would see one.
    tiny = np.minimum(x, floor / 4)
    np.testing.assert_allclose(losses.log_curve_l2(tiny, tiny / 2), [0.0])
    # The toe dominates: the same difference (4e-3) costs far more near 0 than near 1.
    toe, top = x.copy(), x.copy()
    toe[0, 4] *= 2
    top[0, 1000] -= x[0, 4]
    assert float(losses.log_curve_l2(toe, x)[0]) > 100 * float(losses.log_curve_l2(top, x)[0])


def test_hdr_terms_score_the_stage_output(rng):
    outputs, batch = _batch(rng)
    outputs["hdr"] = batch["hdr"]  # a perfect final output: only TV remains in the HDR terms
    _, terms = stages.stage_loss("joint", outputs, batch)
    assert float(tf.reduce_max(terms["hallucination"])) == 0.0
    _, terms = stages.stage_loss("hallucination", outputs, batch)
    assert float(tf.reduce_min(terms["hallucination"])) > 0.0


def test_gated_crops_keep_only_the_dequantization_term(rng):
    outputs, batch = _batch(rng)
    batch["ldr"] = tf.ones_like(batch["ldr"])  # fully saturated inputs
    _, terms = stages.stage_loss("joint", outputs, batch)
    assert float(tf.reduce_min(terms["dequantization"])) > 0.0
    for name in ("linear", "inverse_crf", "inverse_crf_log", "hallucination", "total_variation"):
        assert float(tf.reduce_max(terms[name])) == 0.0


def test_unknown_stage_is_refused(rng):
    outputs, batch = _batch(rng)
    with pytest.raises(ValueError, match="unknown training stage"):
        stages.stage_loss("pretraining", outputs, batch)


def test_perceptual_loss_from_a_weights_file(rng, vgg_weights):
    perceptual = losses.PerceptualLoss(vgg_weights)
    outputs, batch = _batch(rng, size=16)
    hdr = batch["hdr"]
    np.testing.assert_allclose(perceptual(hdr, hdr), [0.0, 0.0], atol=1e-6)
    prediction = tf.Variable(outputs["hdr"])
    with tf.GradientTape() as tape:
        value = perceptual(prediction, hdr)
        summed = tf.reduce_sum(value)
    assert value.shape == (2,) and np.all(value.numpy() > 0)
    gradient = tape.gradient(summed, prediction)
    assert float(tf.reduce_max(tf.abs(gradient))) > 0.0
    total, terms = stages.stage_loss("hallucination", outputs, batch, perceptual)
    np.testing.assert_allclose(total, terms["hallucination"] + 0.001 * terms["perceptual"]
                               + 0.1 * terms["total_variation"], rtol=1e-6)


def test_perceptual_loss_refuses_a_missing_or_foreign_file(tmp_path):
    with pytest.raises(SingleHDRError, match="not found"):
        losses.PerceptualLoss(tmp_path / "missing.weights.h5")
    foreign = tmp_path / "dense.weights.h5"
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save_weights(foreign)
    with pytest.raises(SingleHDRError, match="dense.weights.h5"):
        losses.PerceptualLoss(foreign)
