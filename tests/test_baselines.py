"""Classical baselines: published formulas on tiny images."""

import numpy as np
import pytest

from singlehdr_tf import camera, crf
from singlehdr_tf.evaluation import baselines


def grey(value, shape=(16, 16)):
    return np.full(shape + (3,), value, np.float32)


@pytest.fixture
def ldr(rng):
    ramp = np.linspace(0.0, 1.0, 24, dtype=np.float32)[:, None, None]
    image = np.clip(ramp + 0.2 * rng.random((24, 24, 3), dtype=np.float32), 0.0, 1.0)
    image[:4] = 1.0  # a saturated band
    return image


@pytest.mark.parametrize("name", sorted(baselines.BASELINES))
def test_every_baseline_returns_a_finite_non_negative_image(name, ldr):
    method = baselines.BASELINES[name]
    if getattr(method, "needs_true_curve", False):
        hdr, curve = method(ldr, crf.invert_curve(crf.test_curves()[0]))
    else:
        hdr, curve = method(ldr)
    assert hdr.shape == ldr.shape and hdr.dtype == np.float32
    assert np.all(np.isfinite(hdr)) and np.all(hdr >= 0)
    assert hdr.max() > 0
    if curve is not None:
        assert curve.shape == (crf.CURVE_SAMPLES,)
        assert (
            np.all(np.diff(curve) >= -1e-7)
            and curve[0] == pytest.approx(0.0, abs=1e-6)
            and curve[-1] == pytest.approx(1.0)
        )


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        (baselines.inverse_gamma, 0.5**2.2),
        (baselines.square, 0.25),
        (baselines.inverse_srgb, ((0.5 + 0.055) / 1.055) ** 2.4),
    ],
)
def test_curve_baselines_by_hand(method, expected):
    hdr, _ = method(grey(0.5, (2, 2)))
    np.testing.assert_allclose(hdr, expected, atol=2e-4)


def test_dorf_mean_is_the_emor_mean_curve():
    g0 = crf.load_inverse_emor()[0]
    x = np.array([[[0.0, 1.0, 512 / 1023]]], np.float32)
    hdr, curve = baselines.dorf_mean(x)
    np.testing.assert_array_equal(curve, g0)
    np.testing.assert_allclose(hdr[0, 0], [g0[0], g0[-1], g0[512]], atol=1e-6)


def test_oracle_undoes_the_camera_up_to_quantization(rng):
    linear = rng.uniform(0.05, 0.9, (1, 16, 16, 3)).astype(np.float32)
    response = crf.test_curves()[3]
    ldr = np.asarray(camera.synthesize_ldr(linear, response[None]))[0]
    hdr, curve = baselines.oracle(ldr, crf.invert_curve(response))
    assert baselines.oracle.needs_true_curve
    np.testing.assert_allclose(hdr, linear[0], atol=0.02)
    assert np.mean(np.abs(hdr - linear[0])) < 0.004


def test_akyuz_is_a_linear_stretch_of_luminance():
    values = np.array([0.2, 0.6, 1.0], np.float32)
    ldr = np.repeat(values[None, :, None], 3, axis=-1)
    hdr, curve = baselines.akyuz07(ldr)
    linear = values.astype(np.float64) ** 2.2
    expected = (linear - linear.min()) / (linear.max() - linear.min())
    np.testing.assert_allclose(hdr[0, :, 0], expected, rtol=1e-5)
    assert curve is None


def test_masia_keeps_gamma_positive_for_a_flat_image():
    # A flat image has key 0.5, so 10.44 * 0.5 - 6.282 < 0: gamma is held at 0.1.
    hdr, _ = baselines.masia09(grey(0.5))
    np.testing.assert_allclose(hdr, (0.5**2.2) ** 0.1, rtol=1e-5)


def test_masia_expands_a_high_key_image():
    # Mostly bright pixels: the key is near 1, so gamma = 10.44 k - 6.282 > 1 expands contrast.
    values = np.full(100, 0.95, np.float32)
    values[:10] = np.linspace(0.1, 0.9, 10)
    ldr = np.repeat(values[None, :, None], 3, axis=-1)
    hdr, _ = baselines.masia09(ldr)
    linear = values.astype(np.float64) ** 2.2
    assert hdr[0, -1, 0] / hdr[0, 0, 0] > (linear[-1] / linear[0]) ** 2


def test_bilateral_filter_smooths_within_and_stops_at_edges(rng):
    flat = np.full((20, 20), 0.3)
    np.testing.assert_allclose(baselines.bilateral_filter(flat, flat, 3.0, 0.1), 0.3, atol=1e-9)
    step = np.zeros((20, 20))
    step[:, 10:] = 1.0
    noisy = step + 0.05 * rng.standard_normal((20, 20))
    filtered = baselines.bilateral_filter(noisy, step, 4.0, 0.1)
    assert np.abs(filtered - step).max() < 0.05  # noise averaged away, edge kept
    assert np.std(filtered[:, :10]) < np.std(noisy[:, :10]) / 2


def test_bilateral_filter_approximates_the_exact_filter(rng):
    values, guide = rng.random((24, 24)), rng.random((24, 24))
    rows, cols = np.mgrid[0:24, 0:24]
    exact = np.empty_like(values)
    for i in range(24):
        for j in range(24):
            weights = np.exp(-((rows - i) ** 2 + (cols - j) ** 2) / 18.0 - (guide - guide[i, j]) ** 2 / 0.08)
            exact[i, j] = (weights * values).sum() / weights.sum()
    approximate = baselines.bilateral_filter(values, guide, 3.0, 0.2)
    assert np.abs(approximate - exact).mean() < 0.02


def test_kovaleski_expands_saturated_pixels_at_most_fourfold(ldr):
    hdr, _ = baselines.kovaleski14(ldr)
    linear, _ = baselines.inverse_gamma(ldr)
    ratio = hdr[..., 1] / np.maximum(linear[..., 1], 1e-6)
    saturated, dark = ratio[:4].mean(), ratio[8:12].mean()  # rows 8-11: mid-grey, unsaturated
    assert 1.5 < saturated / dark <= 4.0 + 1e-3


def test_kovaleski_without_saturation_is_the_display_mapping():
    ldr = grey(0.5)
    hdr, _ = baselines.kovaleski14(ldr)
    expected = 0.5**2.2 * 1199.7 + 0.3
    np.testing.assert_allclose(hdr, expected, rtol=1e-5)


def test_huo_of_a_flat_image_is_flat():
    hdr, _ = baselines.huo14(grey(0.4))
    # L / L_max = 1 and L_s = sigma = L, so L' = (2 L^n)^(1/n).
    luminance = 0.4**2.2
    np.testing.assert_allclose(hdr, (2 * luminance**0.86) ** (1 / 0.86), rtol=1e-4)
