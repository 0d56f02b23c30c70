"""Scores of a reconstructed HDR image (or its stages) against the ground truth, in NumPy.

Conventions shared by every metric here:

* Images are ``[H, W, 3]`` float arrays of linear radiance (HDR) or of values in [0, 1] (LDR,
  stage images); curves are ``[1024]`` samples on ``linspace(0, 1, 1024)``.
* Luminance is Rec. 709 ``Y = 0.212656 R + 0.715158 G + 0.072186 B`` (the coefficients of the
  PU21 reference code).
* HDR output is only defined up to scale. Before any HDR metric, :func:`align_scale` rescales the
  output by **one rule used for every method**: the ratio of the median luminances of reference
  and output over the well-exposed pixels (input LDR strictly inside (0.05, 0.95) in all three
  channels), where every method sees the same, unclipped, un-hallucinated content.
* PSNR is capped at :data:`PSNR_CAP` dB, so identical images give a finite number in reports.

The metrics do not depend on TensorFlow; they score arrays and never import the models.
"""

from __future__ import annotations

import numpy as np

LUMINANCE_WEIGHTS = np.array([0.212656, 0.715158, 0.072186])
"""Rec. 709 luminance weights, as in the PU21 reference code (``get_luminance``)."""

WELL_EXPOSED_RANGE = (0.05, 0.95)
"""LDR values strictly inside this range, in all channels, mark the pixels used for alignment."""

MIN_ALIGNMENT_PIXELS = 16
"""Fewer well-exposed pixels than this and :func:`align_scale` uses every pixel lit in both."""

PSNR_CAP = 100.0
"""Largest PSNR reported, in dB (identical images)."""

PU21_BANDING_GLARE = (
    0.353487901,
    0.3734658629,
    8.277049286e-05,
    0.9062562627,
    0.09150303166,
    0.9099517204,
    596.3148142,
)
"""PU21 "banding_glare" parameters p1..p7, copied from the authors' reference code
(github.com/gfxdisp/pu21, ``pu21_encoder.m``, parameters of 06/02/2020)."""

PU21_LUMINANCE_RANGE = (0.005, 10000.0)
"""Absolute luminance range (cd/m^2) PU21 is defined on; values outside are clamped."""

PU21_PEAK = 4000.0
"""The reference's brightest value is mapped to this luminance (cd/m^2), a 4000-nit HDR display,
as in the PU21 authors' single-image HDR example (``ex_sihdr.m``)."""

PU21_PSNR_PEAK = 256.0
"""Peak signal of PSNR on PU21 values, as in the reference ``pu21_metric.m`` (``psnr(T, R, 256)``)."""

MU_LAW_MU = 5000.0
"""Compression of the mu-law tone curve, as in the NTIRE HDR challenges."""

LOG_FLOOR = 2.0**-10
"""Values below this (10 stops under the clipping level, where an 8-bit image keeps only a few
code values) are raised to it before taking logarithms, so dark noise does not dominate."""

SSIM_WINDOW = (11, 1.5)
"""Size and standard deviation of SSIM's Gaussian window (Wang et al. 2004)."""

SSIM_CONSTANTS = (0.01, 0.03)
"""SSIM's ``K1`` and ``K2`` (Wang et al. 2004)."""

NORMALIZATION_PERCENTILES = (0.1, 99.9)
"""Luminance percentiles (in %) that :func:`normalize_hdr` maps to :data:`NORMALIZATION_RANGE`."""

NORMALIZATION_RANGE = (1.0, 999.0)
"""Values the two :data:`NORMALIZATION_PERCENTILES` are mapped to by :func:`normalize_hdr`."""


def luminance(image: np.ndarray) -> np.ndarray:
    """Rec. 709 luminance ``[H, W]`` of an ``[H, W, 3]`` linear image (float64)."""
    return np.asarray(image, dtype=np.float64) @ LUMINANCE_WEIGHTS


def well_exposed_mask(ldr: np.ndarray, value_range: tuple[float, float] = WELL_EXPOSED_RANGE) -> np.ndarray:
    """``[H, W]`` bool: pixels whose LDR value ``[H, W, 3]`` (in [0, 1]) is strictly inside
    ``value_range`` in every channel."""
    ldr = np.asarray(ldr)
    return np.all((ldr > value_range[0]) & (ldr < value_range[1]), axis=-1)


def align_scale(hdr: np.ndarray, reference: np.ndarray, ldr: np.ndarray) -> tuple[np.ndarray, float]:
    """Rescale ``hdr`` ``[H, W, 3]`` to the scale of ``reference``; returns ``(aligned, scale)``.

    ``scale = median(Y_ref) / median(Y_hdr)`` over the well-exposed pixels of the input ``ldr``
    (:func:`well_exposed_mask`). With fewer than :data:`MIN_ALIGNMENT_PIXELS` of them (an almost
    black or white input), the medians are taken over every pixel lit in both images. If the
    output is black there, it cannot be aligned and ``scale`` is 1.
    """
    hdr = np.asarray(hdr, dtype=np.float64)
    y_hdr, y_ref = luminance(hdr), luminance(reference)
    mask = well_exposed_mask(ldr)
    if mask.sum() < MIN_ALIGNMENT_PIXELS:
        mask = (y_hdr > 0) & (y_ref > 0)
    output_median = float(np.median(y_hdr[mask])) if mask.any() else 0.0
    if not output_median > 0:
        return hdr, 1.0
    scale = float(np.median(y_ref[mask])) / output_median
    return hdr * scale, scale


def psnr(image: np.ndarray, reference: np.ndarray, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio ``10 log10(peak^2 / MSE)`` in dB, capped at :data:`PSNR_CAP`."""
    mse = float(np.mean((np.asarray(image, np.float64) - np.asarray(reference, np.float64)) ** 2))
    if mse <= peak**2 * 10.0 ** (-PSNR_CAP / 10.0):
        return PSNR_CAP
    return float(10.0 * np.log10(peak**2 / mse))


def pu21_encode(luminance_cd: np.ndarray) -> np.ndarray:
    """PU21 perceptually uniform encoding of absolute luminance (cd/m^2), "banding_glare" type.

    Mantiuk and Azimi, "PU21: A novel perceptually uniform encoding for adapting existing quality
    metrics for HDR", Picture Coding Symposium 2021:
    ``V = p7 * (((p1 + p2 Y^p4) / (1 + p3 Y^p4))^p5 - p6)`` with ``Y`` clamped to
    :data:`PU21_LUMINANCE_RANGE` and the parameters :data:`PU21_BANDING_GLARE`. About 0 at
    0.005 cd/m^2 and 595.4 at 10000 cd/m^2.
    """
    p = PU21_BANDING_GLARE
    y = np.clip(np.asarray(luminance_cd, dtype=np.float64), *PU21_LUMINANCE_RANGE) ** p[3]
    return p[6] * (((p[0] + p[1] * y) / (1.0 + p[2] * y)) ** p[4] - p[5])


def pu21_psnr(hdr: np.ndarray, reference: np.ndarray) -> float:
    """PU21-PSNR on luminance (dB) of an aligned HDR ``[H, W, 3]`` against the reference.

    Convention: both images are multiplied by one factor that maps the reference's largest RGB
    value to :data:`PU21_PEAK` (4000 cd/m^2), as the PU21 authors do for relative HDR images
    (``ex_sihdr.m``); luminance is encoded with :func:`pu21_encode` and PSNR is taken with peak
    :data:`PU21_PSNR_PEAK` (256), as ``pu21_metric(..., 'PSNRY')`` does. Mantiuk and Azimi, PCS 2021.
    """
    peak = float(np.max(reference))
    factor = PU21_PEAK / peak if peak > 0 else 1.0
    encoded = pu21_encode(luminance(hdr) * factor)
    encoded_reference = pu21_encode(luminance(reference) * factor)
    return psnr(encoded, encoded_reference, PU21_PSNR_PEAK)


def mu_law(image: np.ndarray, mu: float = MU_LAW_MU) -> np.ndarray:
    """The mu-law tone curve ``log(1 + mu x) / log(1 + mu)`` of non-negative values (0 -> 0, 1 -> 1)."""
    return np.log1p(mu * np.maximum(np.asarray(image, dtype=np.float64), 0.0)) / np.log1p(mu)


def mu_psnr(hdr: np.ndarray, reference: np.ndarray, mu: float = MU_LAW_MU) -> float:
    """PSNR (dB, peak 1) between mu-law tone-mapped images, ``mu`` = 5000 as in the NTIRE HDR
    challenges (Perez-Pellitero et al., NTIRE 2021 HDR challenge report).

    Convention: both images are divided by the reference's largest value, so the reference spans
    [0, 1]; output values above it are kept (over-shoot costs). The challenge scripts of 2021
    bounded values with ``tanh(x / p99)`` first; the plain form here has no tunable knee.
    """
    peak = float(np.max(reference))
    peak = peak if peak > 0 else 1.0
    return psnr(mu_law(np.asarray(hdr) / peak, mu), mu_law(np.asarray(reference) / peak, mu), 1.0)


def log_rmse(hdr: np.ndarray, reference: np.ndarray, mask: np.ndarray | None = None, floor: float = LOG_FLOOR) -> float:
    """Root-mean-square error in stops, ``sqrt(mean((log2 x - log2 y)^2))``, over the RGB values of
    the pixels in ``mask`` ``[H, W]`` (all pixels if None); NaN if the mask is empty.

    Both images are in units where 1 is the clipping level (the reference's units; align the
    output first); values below ``floor`` are raised to it.
    """
    difference = np.log2(np.maximum(np.asarray(hdr, np.float64), floor)) - np.log2(
        np.maximum(np.asarray(reference, np.float64), floor)
    )
    if mask is not None:
        difference = difference[np.asarray(mask, dtype=bool)]
    if difference.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean(difference**2)))


def _gaussian_window(size: int, sigma: float) -> np.ndarray:
    offsets = np.arange(size) - (size - 1) / 2.0
    window = np.exp(-(offsets**2) / (2.0 * sigma**2))
    return window / window.sum()


def _filter_valid(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Separable correlation of ``[H, W, ...]`` with ``window`` along both axes, 'valid' region only."""
    size = len(window)
    rows = sum(weight * image[i : image.shape[0] - size + 1 + i] for i, weight in enumerate(window))
    return sum(weight * rows[:, i : rows.shape[1] - size + 1 + i] for i, weight in enumerate(window))


def ssim(image: np.ndarray, reference: np.ndarray, data_range: float = 1.0) -> float:
    """Mean structural similarity of ``[H, W]`` or ``[H, W, C]`` images (mean over channels).

    Wang, Bovik, Sheikh and Simoncelli, "Image quality assessment: from error visibility to
    structural similarity", IEEE TIP 2004: Gaussian window of 11 taps and sigma 1.5,
    ``C1 = (0.01 L)^2``, ``C2 = (0.03 L)^2``, statistics over the 'valid' window positions
    only (as the authors' ``ssim_index.m``); images need at least 11x11 pixels.
    """
    x = np.asarray(image, dtype=np.float64)
    y = np.asarray(reference, dtype=np.float64)
    size, sigma = SSIM_WINDOW
    if x.shape[0] < size or x.shape[1] < size:
        raise ValueError(f"ssim needs images of at least {size}x{size} pixels, got {x.shape[:2]}")
    window = _gaussian_window(size, sigma)
    c1 = (SSIM_CONSTANTS[0] * data_range) ** 2
    c2 = (SSIM_CONSTANTS[1] * data_range) ** 2
    mu_x, mu_y = _filter_valid(x, window), _filter_valid(y, window)
    var_x = _filter_valid(x * x, window) - mu_x**2
    var_y = _filter_valid(y * y, window) - mu_y**2
    cov = _filter_valid(x * y, window) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(np.mean(ssim_map))


def tonemapped_ssim(hdr: np.ndarray, reference: np.ndarray, mu: float = MU_LAW_MU) -> float:
    """SSIM of the mu-law tone-mapped images (each divided by the reference's largest value, as in
    :func:`mu_psnr`), per RGB channel, averaged."""
    peak = float(np.max(reference))
    peak = peak if peak > 0 else 1.0
    return ssim(mu_law(np.asarray(hdr) / peak, mu), mu_law(np.asarray(reference) / peak, mu))


def curve_error(inverse_crf: np.ndarray, true_inverse_crf: np.ndarray) -> float:
    """The inverse-CRF L2 error of Liu et al. 2020, Table 3: mean squared difference of two inverse
    response curves sampled at the same 1024 points."""
    inverse_crf = np.asarray(inverse_crf, dtype=np.float64)
    true_inverse_crf = np.asarray(true_inverse_crf, dtype=np.float64)
    if inverse_crf.shape != true_inverse_crf.shape:
        raise ValueError(f"curves differ in shape: {inverse_crf.shape} vs {true_inverse_crf.shape}")
    return float(np.mean((inverse_crf - true_inverse_crf) ** 2))


def normalize_hdr(hdr: np.ndarray) -> np.ndarray:
    """The HDR normalisation used to compare images of unknown scale (Liu et al. 2020): the affine
    map sending the image's 0.1th and 99.9th luminance percentiles to 1 and 999, clipped to
    [1, 999]. Applied to each image on its own, so it removes scale and offset.

    The map is affine on all RGB values alike (hue kept); a flat image (both percentiles equal)
    maps to 1 everywhere.
    """
    hdr = np.asarray(hdr, dtype=np.float64)
    low, high = np.percentile(luminance(hdr), NORMALIZATION_PERCENTILES)
    out_low, out_high = NORMALIZATION_RANGE
    if not high > low:
        return np.full_like(hdr, out_low)
    return np.clip(out_low + (hdr - low) * (out_high - out_low) / (high - low), out_low, out_high)


def normalized_psnr(hdr: np.ndarray, reference: np.ndarray) -> float:
    """PSNR (dB) of two HDR images after :func:`normalize_hdr` of each, on the normalised range
    (peak ``999 - 1``), measured on values shifted to start at 0."""
    out_low, out_high = NORMALIZATION_RANGE
    return psnr(normalize_hdr(hdr) - out_low, normalize_hdr(reference) - out_low, out_high - out_low)


def chroma_error(hdr: np.ndarray, reference: np.ndarray, mask: np.ndarray, floor: float = LOG_FLOOR) -> float:
    """Mean angle in degrees between output and reference RGB vectors over the ``mask`` pixels
    (``[H, W]`` bool; NaN when empty): an error of hue and saturation that ignores brightness (the
    angular error of colour constancy). On the camera-clipped pixels it measures the colour casts a
    hallucination adds; pixels darker than ``floor`` in either image are left out."""
    output, truth = np.asarray(hdr, np.float64)[mask], np.asarray(reference, np.float64)[mask]
    norms = np.linalg.norm(output, axis=-1) * np.linalg.norm(truth, axis=-1)
    valid = (np.max(output, axis=-1) > floor) & (np.max(truth, axis=-1) > floor)
    if not np.any(valid):
        return float("nan")
    cosine = np.sum(output * truth, axis=-1)[valid] / norms[valid]
    return float(np.degrees(np.mean(np.arccos(np.clip(cosine, -1.0, 1.0)))))


def score_hdr(hdr: np.ndarray, reference: np.ndarray, ldr: np.ndarray, clip_mask: np.ndarray) -> dict[str, float]:
    """Every HDR metric of one output: align the scale (:func:`align_scale`), then score.

    Args:
        hdr: the method's linear output ``[H, W, 3]`` (any scale).
        reference: ground-truth radiance ``[H, W, 3]`` (1 = the clipping level).
        ldr: the input ``[H, W, 3]`` in [0, 1] (defines the alignment pixels).
        clip_mask: ``[H, W]`` bool, the pixels clipped by the camera.

    Returns:
        ``pu21_psnr``, ``mu_psnr``, ``ssim_mu``, ``log_rmse``, ``log_rmse_clipped`` and
        ``chroma_error_clipped`` (NaN without clipped pixels), ``normalized_psnr`` and the
        alignment ``scale``.
    """
    hdr = np.nan_to_num(np.maximum(np.asarray(hdr, np.float64), 0.0), nan=0.0, posinf=0.0)
    aligned, scale = align_scale(hdr, reference, ldr)
    return {
        "pu21_psnr": pu21_psnr(aligned, reference),
        "mu_psnr": mu_psnr(aligned, reference),
        "ssim_mu": tonemapped_ssim(aligned, reference),
        "log_rmse": log_rmse(aligned, reference),
        "log_rmse_clipped": log_rmse(aligned, reference, clip_mask),
        "chroma_error_clipped": chroma_error(aligned, reference, clip_mask),
        "normalized_psnr": normalized_psnr(hdr, reference),
        "scale": scale,
    }
