"""The bank of modern camera encodings and the curve basis refitted on it."""

import numpy as np
import pytest

from singlehdr_tf import crf, modern_curves

GRID = crf.curve_grid().astype(np.float64)


def test_every_family_gives_monotone_responses_from_0_to_1():
    rng = np.random.default_rng(3)
    curves, families, params = modern_curves.sample_modern_curves(rng, 200)
    assert curves.shape == (200, crf.CURVE_SAMPLES) and curves.dtype == np.float32
    assert set(families) == set(modern_curves.FAMILIES)
    assert np.all(np.diff(curves, axis=1) >= 0)
    np.testing.assert_array_equal(curves[:, [0, -1]], [[0.0, 1.0]] * 200)
    for family, param, curve in zip(families, params, curves):
        np.testing.assert_array_equal(modern_curves.modern_curve(family, param), curve)  # params reproduce it
    assert np.ptp(curves[:, 184]) > 0.2  # mid-grey lands at very different codes


def test_standard_encodings_follow_their_specifications():
    standard = {"encoding": "rec709"}
    np.testing.assert_allclose(modern_curves.modern_curve("standard", standard), modern_curves.rec709_curve())
    np.testing.assert_allclose(np.interp(0.18, GRID, modern_curves.rec709_curve()), 1.099 * 0.18**0.45 - 0.099,
                               atol=1e-4)
    np.testing.assert_allclose(modern_curves.modern_curve("standard", {"encoding": "srgb"}), crf.srgb_curve())
    np.testing.assert_allclose(modern_curves.modern_curve("standard", {"encoding": "gamma", "gamma": 2.4}),
                               GRID ** (1 / 2.4), atol=1e-6)


def test_tone_curves_bend_the_encoding_as_described():
    base = {"encoding": "srgb"}
    srgb = modern_curves.modern_curve("standard", base)
    s_curve = modern_curves.modern_curve("s_curve", {**base, "slope": 6.0, "pivot": 0.5})
    assert s_curve[100] < srgb[100] and s_curve[900] > srgb[900]  # darker shadows, brighter highlights
    assert np.diff(s_curve)[:5].min() > 0  # the toe keeps a slope
    filmic = modern_curves.modern_curve("filmic", {**base, "roll_off": "hable", "exposure": 11.2})
    top = slice(900, None)
    assert np.mean(np.diff(filmic[top])) < np.mean(np.diff(srgb[top]))  # highlights roll off
    with pytest.raises(ValueError, match="family"):
        modern_curves.modern_curve("vintage", base)


def test_the_test_bank_is_fixed_and_apart_from_training_draws():
    curves, families, params = modern_curves.test_bank()
    again = modern_curves.test_bank()[0]
    np.testing.assert_array_equal(curves, again)
    assert families == [f for f in modern_curves.FAMILIES for _ in range(modern_curves.TEST_CURVES_PER_FAMILY)]
    training = np.concatenate([modern_curves.sample_modern_curves(np.random.default_rng([seed, 3]), 500)[0]
                               for seed in range(4)])
    distance = np.array([np.abs(training - curve).max(axis=1).min() for curve in curves])
    # Plain sRGB and Rec.709 are the same in both by definition; every other test curve is a draw
    # of its own (never identical; one-parameter subfamilies, e.g. a pure power, are densely
    # covered by training, so some land close), and most are far from every training draw.
    plain = np.array([p in ({"encoding": "srgb"}, {"encoding": "rec709"}) for p in params])
    assert np.all(distance[plain] == 0) and np.all(distance[~plain] > 0)
    assert np.median(distance[~plain]) > 1e-3


@pytest.mark.parametrize("name", list(crf.FITTED_BASES))
def test_shipped_camera_bases_are_the_ones_the_tool_fits(name):
    prior, components = crf.fit_curve_basis(*modern_curves.basis_bank(), 16, crf.FITTED_BASES[name][1])
    shipped_prior, shipped_basis = crf.load_curve_basis(name, 16)
    np.testing.assert_allclose(shipped_prior, prior, atol=1e-5)
    np.testing.assert_allclose(shipped_basis, components, atol=1e-4)


def test_camera_basis_represents_both_kinds_of_camera():
    for curves in (crf.test_curves(), modern_curves.test_bank()[0]):
        inverse = crf.invert_curve(curves)
        best = crf.project_to_basis(inverse, "camera", 11)
        assert np.mean((best - inverse) ** 2) < 1e-5  # far below any curve estimate's error
    prior, basis = crf.load_curve_basis("camera", 11)
    np.testing.assert_allclose(basis @ basis.T, np.eye(11), atol=1e-5)
    assert prior[0] == pytest.approx(0.0, abs=1e-6) and prior[-1] == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="basis"):
        crf.load_curve_basis("dorf", 11)


def test_camera_prior_is_the_log_domain_mean_of_its_bank():
    # Monotone, and closer than the arithmetic mean to the bank in the log error at the dark codes.
    bank, weights = modern_curves.basis_bank()
    prior, _ = crf.load_curve_basis("camera_log", 11)
    assert np.all(np.diff(prior) >= 0)
    dark = slice(1, 100)
    log_error = lambda curve: np.average(  # noqa: E731
        (np.log2(np.maximum(bank[:, dark], 2.0**-10)) - np.log2(np.maximum(curve[dark], 2.0**-10))) ** 2,
        axis=0, weights=weights)
    assert np.all(log_error(prior) <= log_error(np.average(bank, axis=0, weights=weights)) + 1e-6)
    with pytest.raises(ValueError, match="prior"):
        crf.fit_curve_basis(bank, weights, 4, "median")
