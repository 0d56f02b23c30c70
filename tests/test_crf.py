"""Camera response curves: DoRF inverses, the split, inverse-EMoR, tone curves, projection, application."""

import numpy as np
import pytest
import tensorflow as tf

from singlehdr_tf import crf, modern_curves

GRID = np.linspace(0.0, 1.0, crf.CURVE_SAMPLES)
STEP = 1.0 / (crf.CURVE_SAMPLES - 1)


@pytest.fixture(scope="module")
def dorf():
    return crf.load_dorf().astype(np.float64)


@pytest.fixture(scope="module")
def dorf_inverse(dorf):
    return crf.invert_curve(dorf).astype(np.float64)


def test_dorf_curves_are_monotone_responses(dorf):
    assert dorf.shape == (201, crf.CURVE_SAMPLES)
    assert np.all(np.diff(dorf, axis=1) >= 0)
    np.testing.assert_array_equal(dorf[:, 0], 0.0)
    np.testing.assert_array_equal(dorf[:, -1], 1.0)


def test_inverse_undoes_every_dorf_curve_where_it_is_invertible(dorf, dorf_inverse):
    """F^-1(F(x)) = x within 1e-3 for all 201 DoRF curves, at every x where F is invertible.

    Some DoRF curves have flat or nearly flat stretches (a few are exactly flat near black or
    white): there many irradiances give one brightness, F has no inverse, and a 1024-sample inverse
    cannot resolve them (a 1/1023 step of brightness spans more than ten irradiance samples once
    the slope drops below 0.1). So x is measured where F is strictly increasing with a slope of at
    least 0.1 on both sides of the sample; that is 97% of all samples (at least half of every
    curve), which the test also checks so it cannot pass vacuously.
    """
    rises = np.diff(dorf, axis=1) / STEP  # slope between neighbouring samples
    padded = np.pad(rises, ((0, 0), (1, 1)), constant_values=np.inf)
    invertible = np.minimum(padded[:, :-1], padded[:, 1:]) >= 0.1  # slope on both sides of each sample
    assert invertible.mean() > 0.95 and invertible.mean(axis=1).min() > 0.45
    worst = 0.0
    for response, inverse, mask in zip(dorf, dorf_inverse, invertible):
        round_trip = np.interp(response, GRID, inverse)
        worst = max(worst, np.abs(round_trip - GRID)[mask].max())
    print(f"max |F^-1(F(x)) - x| where F is invertible: {worst:.2e}")
    assert worst < 1e-3


def test_response_undoes_its_inverse_everywhere(dorf, dorf_inverse):
    """F(F^-1(y)) = y for every brightness y, flat stretches included (they map to one y)."""
    for response, inverse in zip(dorf, dorf_inverse):
        np.testing.assert_allclose(np.interp(inverse, GRID, response), GRID, atol=1e-6)


def test_inverse_agrees_with_shipped_inverse(dorf_inverse):
    """The shipped ``invI`` is a lookup snapped to the irradiance grid (every value is k/1023), while
    :func:`crf.invert_curve` interpolates: they agree within one grid step (~1e-3), half a step on average."""
    with np.load(crf.RESOURCE_DIR / "dorf_201x1024.npz") as data:
        shipped = data["invI"].astype(np.float64)
    difference = np.abs(dorf_inverse - shipped)
    assert difference.max() <= STEP + 1e-6
    assert difference.mean() <= 0.6 * STEP


def test_inverse_of_flat_stretch_is_its_middle():
    response = np.interp(GRID, [0.0, 0.25, 0.75, 1.0], [0.0, 0.5, 0.5, 1.0])  # flat at 0.5 over [0.25, 0.75]
    inverse = crf.invert_curve(response[None])[0]
    np.testing.assert_allclose(np.interp(0.5, GRID, inverse), 0.5, atol=1e-6)
    np.testing.assert_allclose(np.interp(0.25, GRID, inverse), 0.125, atol=1e-6)


def test_split_is_fixed_191_10_without_shared_curves(dorf):
    train, test = crf.dorf_split()
    assert (len(train), len(test)) == (191, 10)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(201))
    # Pinned: changing the split changes every benchmark number, so it must be deliberate.
    assert test.tolist() == [8, 16, 53, 59, 68, 81, 107, 115, 152, 168]
    train_rows = {row.tobytes() for row in dorf[train]}
    assert not any(row.tobytes() in train_rows for row in dorf[test])
    assert len({row.tobytes() for row in dorf}) == 190  # 11 repeated rows, all grouped
    np.testing.assert_array_equal(crf.training_curves(), crf.load_dorf()[train])
    np.testing.assert_array_equal(crf.test_curves(), crf.load_dorf()[test])


def test_holdout_splits_the_training_side_only_and_keeps_repeats_together(dorf):
    train, test = crf.dorf_split()
    fit, held_out = crf.dorf_holdout(20)
    assert sorted(np.concatenate([fit, held_out]).tolist()) == train.tolist()
    assert len({row.tobytes() for row in dorf[held_out]}) == 20
    fit_rows = {row.tobytes() for row in dorf[fit]}
    assert not any(row.tobytes() in fit_rows for row in dorf[held_out])
    np.testing.assert_array_equal(crf.dorf_holdout(20)[1], held_out)  # seeded
    np.testing.assert_array_equal(crf.training_curves(20), dorf[fit])
    np.testing.assert_array_equal(crf.held_out_training_curves(20), dorf[held_out])
    assert crf.dorf_holdout(0)[1].size == 0


def test_inverse_emor_k11_reconstructs_test_inverse_curves():
    inverse = crf.invert_curve(crf.test_curves()).astype(np.float64)
    g0, basis = crf.load_inverse_emor(11)
    assert g0.shape == (crf.CURVE_SAMPLES,) and basis.shape == (11, crf.CURVE_SAMPLES)
    weights = crf.fit_inverse_emor(inverse, k=11)
    assert weights.shape == (10, 11)
    rmse = np.sqrt(np.mean((g0 + weights @ basis - inverse) ** 2))
    print(f"inverse-EMoR K=11 reconstruction RMSE on the {len(inverse)} test-split inverse curves: {rmse:.5f}")
    assert rmse < 0.01


def test_fit_inverse_emor_recovers_known_weights(rng):
    g0, basis = crf.load_inverse_emor(11)
    weights = rng.normal(size=(3, 11)).astype(np.float32)
    np.testing.assert_allclose(crf.fit_inverse_emor(g0 + weights @ basis, k=11), weights, atol=1e-4)
    with pytest.raises(ValueError):
        crf.load_inverse_emor(26)


def _projection_inputs(rng):
    ramp = np.linspace(0.0, 1.0, crf.CURVE_SAMPLES)
    spiky = ramp + np.where(rng.random(crf.CURVE_SAMPLES) < 0.02, rng.normal(0, 1e6, crf.CURVE_SAMPLES), 0.0)
    sawtooth = np.where(np.arange(crf.CURVE_SAMPLES) % 2 == 0, 1.0, -1.0)
    one_cliff = np.where(ramp < 0.5, ramp, ramp - 10.0)
    return {
        "random": rng.normal(size=crf.CURVE_SAMPLES),
        "huge": rng.uniform(-1e38, 1e38, size=crf.CURVE_SAMPLES),
        "tiny": rng.normal(size=crf.CURVE_SAMPLES) * 1e-37,
        "negative": -rng.uniform(1, 5, size=crf.CURVE_SAMPLES),
        "constant": np.full(crf.CURVE_SAMPLES, 3.0),
        "zeros": np.zeros(crf.CURVE_SAMPLES),
        "decreasing": ramp[::-1] * 100.0,
        "spiky": spiky,
        "sawtooth": sawtooth,
        "one_cliff": one_cliff,
    }


def test_monotonic_projection_gives_valid_curves_for_any_input(rng):
    inputs = _projection_inputs(rng)
    curves = np.stack(list(inputs.values())).astype(np.float32)
    projected = np.asarray(crf.monotonic_projection(curves))
    assert projected.shape == curves.shape
    for name, curve in zip(inputs, projected):
        assert np.all(np.isfinite(curve)), name
        assert np.all(np.diff(curve) >= 0), name
        assert curve[0] == 0.0, name
        assert abs(curve[-1] - 1.0) < 1e-5, name


def test_monotonic_projection_keeps_monotone_curves(dorf_inverse):
    """Nothing to shift in a non-decreasing curve: it comes back unchanged (after normalising)."""
    projected = np.asarray(crf.monotonic_projection(dorf_inverse.astype(np.float32)))
    np.testing.assert_allclose(projected, dorf_inverse, atol=1e-5)
    constant = np.asarray(crf.monotonic_projection(np.ones((1, crf.CURVE_SAMPLES), np.float32)))
    np.testing.assert_allclose(constant[0], GRID, atol=1e-6)  # a constant becomes the identity


def test_monotonic_projection_is_differentiable_in_tf_function(rng):
    curves = tf.constant(rng.normal(size=(3, crf.CURVE_SAMPLES)), tf.float32)
    weights = tf.constant(rng.normal(size=(3, crf.CURVE_SAMPLES)), tf.float32)

    @tf.function
    def gradient(curves):
        with tf.GradientTape() as tape:
            tape.watch(curves)
            loss = tf.reduce_sum(crf.monotonic_projection(curves) * weights)
        return tape.gradient(loss, curves)

    grad = gradient(curves).numpy()
    assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0


def test_reference_curves():
    for curve in (crf.gamma_curve(2.2), crf.srgb_curve()):
        assert curve.shape == (crf.CURVE_SAMPLES,) and curve[0] == 0.0 and abs(curve[-1] - 1.0) < 1e-6
        assert np.all(np.diff(curve) > 0)
    np.testing.assert_allclose(np.interp(0.18, GRID, crf.srgb_curve()), 0.4614, atol=1e-3)
    np.testing.assert_allclose(crf.gamma_curve(2.0), np.sqrt(GRID), atol=1e-6)


def test_apply_curve_matches_numpy_interp(rng):
    images = rng.uniform(-0.2, 1.2, size=(3, 5, 7, 3)).astype(np.float32)  # outside [0, 1] is clipped
    images[0, 0, 0] = [0.0, 1.0, GRID[17]]  # ends and an exact sample
    rough = rng.normal(size=(1, crf.CURVE_SAMPLES))  # apply_curve interpolates any curve, monotone or not
    curves = np.concatenate([modern_curves.sample_modern_curves(rng, 2)[0], rough]).astype(np.float32)
    result = np.asarray(crf.apply_curve(images, curves))
    expected = np.stack([np.interp(np.clip(image, 0, 1), GRID, curve) for image, curve in zip(images, curves)])
    assert result.shape == images.shape and result.dtype == np.float32
    for got, want, curve in zip(result, expected, curves):
        # float32 positions (x * 1023) are exact to ~1e-4 of a sample: the error scales with the
        # curve's largest step (tiny for real curves, large for the random one).
        np.testing.assert_allclose(got, want, atol=2e-6 + 2e-4 * np.abs(np.diff(curve)).max())
    np.testing.assert_allclose(result[:2], expected[:2], atol=2e-6)


def test_prefix_sums_are_the_cumulative_sums_and_never_decrease(rng):
    values = rng.random((4, 1023)).astype(np.float32) * rng.choice([1e-9, 1.0, 1e3], size=(4, 1023)).astype(np.float32)
    sums = np.asarray(crf.prefix_sums(values))
    assert sums.shape == (4, 1024) and np.all(sums[:, 0] == 0.0)
    assert np.all(np.diff(sums, axis=-1) >= 0.0)
    expected = np.cumsum(values.astype(np.float64), axis=-1)
    np.testing.assert_allclose(sums[:, 1:], expected, rtol=1e-5)
