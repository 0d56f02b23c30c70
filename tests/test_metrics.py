"""Metrics against values computed by hand on tiny arrays."""

import math

import numpy as np
import pytest

from singlehdr_tf import metrics


def grey(value, shape=(4, 4)):
    return np.full(shape + (3,), value, np.float64)


def test_luminance_uses_rec709_weights():
    image = np.zeros((1, 3, 3))
    image[0, 0, 0], image[0, 1, 1], image[0, 2, 2] = 1.0, 1.0, 1.0
    np.testing.assert_allclose(metrics.luminance(image)[0], [0.212656, 0.715158, 0.072186])


def test_psnr_by_hand_and_cap():
    # MSE 0.01 with peak 1 -> 20 dB; peak 2 -> 20 + 20 log10(2) dB.
    assert metrics.psnr(grey(0.1), grey(0.0)) == pytest.approx(20.0)
    assert metrics.psnr(grey(0.1), grey(0.0), peak=2.0) == pytest.approx(20.0 + 20.0 * math.log10(2.0))
    assert metrics.psnr(grey(0.3), grey(0.3)) == metrics.PSNR_CAP


def test_pu21_encode_matches_published_range_ends():
    # The encoding's values at the ends of its range, as tabulated by ffmpeg's siti filter
    # (p_min = 5.4705e-10 at 0.005 cd/m^2, p_max = 595.3939 at 10000 cd/m^2).
    assert metrics.pu21_encode(0.005) == pytest.approx(5.4705e-10, abs=1e-12)
    assert metrics.pu21_encode(10000.0) == pytest.approx(595.3939, abs=1e-3)
    # Clamped outside the range, increasing inside.
    assert metrics.pu21_encode(1e6) == metrics.pu21_encode(10000.0)
    values = metrics.pu21_encode(np.geomspace(0.01, 5000.0, 50))
    assert np.all(np.diff(values) > 0)


def test_pu21_psnr_maps_reference_peak_to_4000_nits():
    # Grey reference 0.5 -> 4000 cd/m^2; a grey output of 0.25 -> 2000 cd/m^2.
    expected = 20.0 * math.log10(256.0 / (metrics.pu21_encode(4000.0) - metrics.pu21_encode(2000.0)))
    assert metrics.pu21_psnr(grey(0.25), grey(0.5)) == pytest.approx(expected)
    # Only the ratio to the reference peak matters.
    assert metrics.pu21_psnr(grey(25.0), grey(50.0)) == pytest.approx(expected)


def test_mu_law_and_mu_psnr_by_hand():
    assert metrics.mu_law(np.array([0.0, 1.0])) == pytest.approx([0.0, 1.0])
    reference = np.zeros((1, 2, 3))
    reference[0, 0] = 1.0
    # Half the values differ by mu(1) - mu(0) = 1: MSE 0.5, PSNR 10 log10(2).
    assert metrics.mu_psnr(np.zeros_like(reference), reference) == pytest.approx(10.0 * math.log10(2.0))
    # Reference 2 everywhere, output 1: mu(1) - mu(0.5) = 1 - ln(2501) / ln(5001).
    difference = 1.0 - math.log(2501.0) / math.log(5001.0)
    assert metrics.mu_psnr(grey(1.0), grey(2.0)) == pytest.approx(-20.0 * math.log10(difference))


def test_log_rmse_in_stops_by_hand():
    reference = grey(1.0, (2, 2))
    assert metrics.log_rmse(grey(2.0, (2, 2)), reference) == pytest.approx(1.0)
    output = reference.copy()
    output[0] = 4.0  # half the pixels 2 stops off
    assert metrics.log_rmse(output, reference) == pytest.approx(math.sqrt(2.0))
    mask = np.array([[True, True], [False, False]])
    assert metrics.log_rmse(output, reference, mask) == pytest.approx(2.0)
    assert math.isnan(metrics.log_rmse(output, reference, np.zeros((2, 2), bool)))
    # Values under the floor count as the floor.
    assert metrics.log_rmse(grey(2.0**-12), grey(0.0)) == 0.0


def test_ssim_of_constants_by_hand():
    c1 = 0.01**2  # the structure terms are C2 / C2 = 1 for constant images
    a, b = 0.2, 0.6
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    assert metrics.ssim(grey(a, (12, 12)), grey(b, (12, 12))) == pytest.approx(expected)
    assert metrics.ssim(grey(a, (12, 12)), grey(a, (12, 12))) == pytest.approx(1.0)


def test_ssim_single_window_by_hand(rng):
    # An 11x11 image has exactly one 'valid' window: compute its weighted statistics directly.
    x = rng.random((11, 11))
    y = 0.5 * x + 0.3 * rng.random((11, 11))
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    mx, my = (w * x).sum(), (w * y).sum()
    vx, vy = (w * x * x).sum() - mx**2, (w * y * y).sum() - my**2
    cxy = (w * x * y).sum() - mx * my
    c1, c2 = 0.01**2, 0.03**2
    expected = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    assert metrics.ssim(x, y) == pytest.approx(expected, rel=1e-10)


def test_ssim_needs_a_full_window():
    with pytest.raises(ValueError, match="11x11"):
        metrics.ssim(np.zeros((10, 20)), np.zeros((10, 20)))


def test_curve_error_is_mean_squared_difference():
    grid = np.linspace(0.0, 1.0, 1024)
    assert metrics.curve_error(grid + 0.1, grid) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="shape"):
        metrics.curve_error(grid, grid[:10])


def test_align_scale_uses_well_exposed_pixels_only():
    reference = grey(0.4, (4, 4))
    output = reference / 3.0
    ldr = grey(0.5, (4, 4))
    # A clipped row whose output is wildly off must not move the scale.
    ldr[0] = 1.0
    output[0] = 100.0
    aligned, scale = metrics.align_scale(output, reference, ldr)
    assert scale == pytest.approx(3.0)
    np.testing.assert_allclose(aligned[1:], reference[1:])


def test_align_scale_falls_back_to_lit_pixels_and_keeps_black_output():
    reference = grey(2.0, (4, 4))
    saturated = np.ones((4, 4, 3))
    assert metrics.align_scale(grey(0.5, (4, 4)), reference, saturated)[1] == pytest.approx(4.0)
    assert metrics.align_scale(np.zeros((4, 4, 3)), reference, saturated)[1] == 1.0


def test_normalize_hdr_maps_percentiles_to_1_and_999():
    # Values 0..1000: the 0.1th and 99.9th percentiles are 1 and 999, so the map is the identity
    # there, and the ends clip.
    ramp = np.repeat(np.arange(1001.0)[None, :, None], 3, axis=-1)
    normalized = metrics.normalize_hdr(ramp)
    np.testing.assert_allclose(normalized[0, 1:-1, 0], np.arange(1.0, 1000.0))
    assert normalized[0, 0, 0] == 1.0 and normalized[0, -1, 0] == 999.0
    np.testing.assert_allclose(metrics.normalize_hdr(7.0 * ramp), normalized)
    np.testing.assert_array_equal(metrics.normalize_hdr(grey(3.0)), grey(1.0))
    assert metrics.normalized_psnr(5.0 * ramp, ramp) == metrics.PSNR_CAP


def test_score_hdr_aligns_then_scores_and_survives_nan(rng):
    reference = rng.uniform(0.05, 3.0, (16, 16, 3))
    ldr = np.clip(reference, 0.0, 1.0) ** (1 / 2.2)
    clip_mask = np.max(reference, axis=-1) >= 1.0
    scores = metrics.score_hdr(0.25 * reference, reference, ldr, clip_mask)
    assert scores["scale"] == pytest.approx(4.0)
    assert scores["pu21_psnr"] == metrics.PSNR_CAP and scores["mu_psnr"] == metrics.PSNR_CAP
    assert scores["log_rmse"] == pytest.approx(0.0, abs=1e-9)
    assert scores["ssim_mu"] == pytest.approx(1.0)
    broken = reference.copy()
    broken[0, 0] = np.nan
    assert all(math.isfinite(v) for v in metrics.score_hdr(broken, reference, ldr, clip_mask).values())
