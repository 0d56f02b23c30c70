"""Classical single-image HDR reconstructions, to compare the learned model with.

Every baseline is a function ``ldr [H, W, 3] float in [0, 1] -> (hdr [H, W, 3], inverse_crf
[1024] or None)``: the linear HDR estimate (any scale; :func:`singlehdr_tf.metrics.align_scale`
fixes it before scoring) and, for methods that are a global inverse response curve, that curve.

Curve methods (no hallucination: clipped pixels stay at 1):
  ``gamma_2.2``, ``srgb``, ``dorf_mean`` (the EMoR mean inverse curve ``g0``), ``square`` (x^2,
  what HDRCNN assumes) and the ``oracle`` (the true inverse curve: the ceiling of linearization alone).
Expansion operators (input linearised with inverse gamma 2.2, as in Banterle's HDR Toolbox, then
luminance expanded, colour kept by scaling RGB with the luminance ratio):
  ``akyuz07``, ``masia09``, ``kovaleski14``, ``huo14``.

Display constants of the expansion papers (peak luminance in cd/m^2) only scale the output, so
they are left out where they multiply and kept where they add (``kovaleski14``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from singlehdr_tf import crf
from singlehdr_tf.metrics import luminance

Baseline = Callable[[np.ndarray], tuple[np.ndarray, "np.ndarray | None"]]

LINEARIZATION_GAMMA = 2.2
"""The expansion operators undo a 2.2 display gamma first (the usual assumption for their input)."""


def apply_inverse_crf(ldr: np.ndarray, inverse_crf: np.ndarray) -> np.ndarray:
    """``inverse_crf`` ``[1024]`` applied to every channel of ``ldr`` ``[H, W, 3]`` (float32)."""
    linear = crf.apply_curve(np.asarray(ldr, np.float32)[None], np.asarray(inverse_crf, np.float32)[None])
    return np.asarray(linear)[0]


def _curve_method(inverse_crf: np.ndarray, ldr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inverse_crf = np.asarray(inverse_crf, np.float32)
    return apply_inverse_crf(ldr, inverse_crf), inverse_crf


def inverse_gamma(ldr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse display gamma: ``H = L ** 2.2``."""
    return _curve_method(crf.gamma_curve(1.0 / LINEARIZATION_GAMMA), ldr)


def inverse_srgb(ldr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of the sRGB encoding (IEC 61966-2-1)."""
    return _curve_method(crf.invert_curve(crf.srgb_curve()), ldr)


def dorf_mean(ldr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean inverse response ``g0`` of the inverse-EMoR model (Grossberg and Nayar, "Modeling
    the space of camera response functions", PAMI 2004): the average real camera."""
    return _curve_method(crf.load_inverse_emor()[0], ldr)


def square(ldr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fixed inverse curve ``H = L ** 2``, the camera curve HDRCNN assumes (Eilertsen et al.,
    "HDR image reconstruction from a single exposure using deep CNNs", SIGGRAPH Asia 2017)."""
    return _curve_method(crf.gamma_curve(0.5), ldr)


def oracle(ldr: np.ndarray, inverse_crf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The true inverse response curve of the camera that made ``ldr``, no hallucination: the best
    a perfect linearization alone can do. Needs the true curve, so it only runs on synthetic sets."""
    return _curve_method(inverse_crf, ldr)


oracle.needs_true_curve = True  # the evaluator passes the sample's true inverse curve


def _linearize(ldr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(linear RGB, its luminance)`` under inverse gamma 2.2."""
    linear = np.asarray(ldr, np.float64) ** LINEARIZATION_GAMMA
    return linear, luminance(linear)


def _change_luminance(linear: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Scale RGB by ``new / old`` luminance (0 where ``old`` is 0), keeping hue and saturation."""
    ratio = np.divide(new, old, out=np.zeros_like(old), where=old > 0)
    return (linear * ratio[..., None]).astype(np.float32)


def akyuz07(ldr: np.ndarray, gamma: float = 1.0) -> tuple[np.ndarray, None]:
    """Akyuz, Fleming, Riecke, Reinhard and Buelthoff, "Do HDR displays support LDR content? A
    psychophysical evaluation", SIGGRAPH 2007: ``L' = ((L - L_min) / (L_max - L_min)) ** gamma``
    with ``gamma = 1``, the linear expansion the study found as good as complex operators."""
    linear, lum = _linearize(ldr)
    span = lum.max() - lum.min()
    expanded = ((lum - lum.min()) / span) ** gamma if span > 0 else lum
    return _change_luminance(linear, lum, expanded), None


def _key(lum: np.ndarray) -> float:
    """Image key ``(log L_avg - log L_min) / (log L_max - log L_min)`` with the log-average
    ``L_avg`` and ``L_min``, ``L_max`` taken after excluding the darkest and brightest 1%."""
    eps = 1e-6
    low, high = np.percentile(lum, [1.0, 99.0])
    log_average = np.mean(np.log(lum + eps))
    spread = np.log(high + eps) - np.log(low + eps)
    return float((log_average - np.log(low + eps)) / spread) if spread > 0 else 0.5


def masia09(ldr: np.ndarray) -> tuple[np.ndarray, None]:
    """Masia, Agustin, Fleming, Sorkine and Gutierrez, "Evaluation of reverse tone mapping through
    varying exposure conditions", SIGGRAPH Asia 2009: ``L' = L ** gamma`` with
    ``gamma = 10.44 k - 6.282`` from the image key ``k``.

    The fit gives ``gamma <= 0`` for dark images (key below 0.6), which would invert the image;
    gamma is kept at least 0.1 there (our choice, the paper leaves this range undefined).
    """
    linear, lum = _linearize(ldr)
    gamma = max(10.44 * _key(lum) - 6.282, 0.1)
    return _change_luminance(linear, lum, lum**gamma), None


def _blur_axis(grid: np.ndarray, axis: int) -> np.ndarray:
    """Convolve along ``axis`` with the binomial kernel [1, 4, 6, 4, 1] / 16 (a Gaussian of sigma 1),
    zeros outside."""
    padded = np.moveaxis(grid, axis, 0)
    padded = np.pad(padded, [(2, 2)] + [(0, 0)] * (grid.ndim - 1))
    n = grid.shape[axis]
    blurred = sum(w * padded[i : i + n] for i, w in enumerate((1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16)))
    return np.moveaxis(blurred, 0, axis)


def bilateral_filter(values: np.ndarray, guide: np.ndarray, sigma_s: float, sigma_r: float) -> np.ndarray:
    """Cross-bilateral filter of ``values`` ``[H, W]`` with edges from ``guide`` ``[H, W]``:
    spatial Gaussian of ``sigma_s`` pixels, range Gaussian of ``sigma_r`` guide units.

    Approximated with a bilateral grid (Paris and Durand, "A fast approximation of the bilateral
    filter using a signal processing approach", ECCV 2006): splat into cells of ``sigma_s`` x
    ``sigma_s`` x ``sigma_r``, blur the grid with a Gaussian of one cell, slice trilinearly.
    """
    values = np.asarray(values, np.float64)
    guide = np.asarray(guide, np.float64)
    height, width = guide.shape
    pad = 2
    rows, cols = np.meshgrid(np.arange(height) / sigma_s, np.arange(width) / sigma_s, indexing="ij")
    depth = (guide - guide.min()) / sigma_r
    coords = [c + pad for c in (rows, cols, depth)]
    shape = tuple(int(np.ceil(c.max())) + pad + 2 for c in coords)
    cell = np.ravel_multi_index(tuple(np.rint(c).astype(np.int64).ravel() for c in coords), shape)
    size = int(np.prod(shape))
    grids = [
        np.bincount(cell, weights=w, minlength=size).reshape(shape) for w in (values.ravel(), np.ones(values.size))
    ]
    for axis in range(3):
        grids = [_blur_axis(g, axis) for g in grids]
    lower = [np.floor(c).astype(np.int64) for c in coords]
    frac = [c - f for c, f in zip(coords, lower, strict=True)]
    sliced = [np.zeros_like(values), np.zeros_like(values)]
    for corner in range(8):
        offset = [(corner >> axis) & 1 for axis in range(3)]
        weight = np.prod([f if o else 1.0 - f for f, o in zip(frac, offset, strict=True)], axis=0)
        index = tuple(f + o for f, o in zip(lower, offset, strict=True))
        for out, grid in zip(sliced, grids, strict=True):
            out += weight * grid[index]
    return sliced[0] / np.maximum(sliced[1], 1e-12)


KOVALESKI_SIGMA_S_FRACTION = 150.0 / 1920.0
"""Spatial sigma of Kovaleski-Oliveira's filter as a fraction of the longer side: the paper's 150
pixels for HD (1920-pixel) content, scaled to the image."""


def kovaleski14(ldr: np.ndarray) -> tuple[np.ndarray, None]:
    """Kovaleski and Oliveira, "High-quality reverse tone mapping for a wide range of exposures",
    SIBGRAPI 2014: a brightness-enhancement (expand) map ``E = 1 + 3 B``, where ``B`` is the
    cross-bilateral filter (sigma_s 150 px at HD, sigma_r 25/255 on the input's luminance) of the
    mask of saturated pixels (any channel above 254/255); the linear luminance, mapped to a
    0.3-1200 cd/m^2 display, is multiplied by ``E``. The filter is a bilateral-grid approximation.
    """
    display_min, display_max = 0.3, 1200.0
    linear, lum = _linearize(ldr)
    saturated = (np.max(ldr, axis=-1) > 254.0 / 255.0).astype(np.float64)
    sigma_s = KOVALESKI_SIGMA_S_FRACTION * max(lum.shape)
    expand_map = 1.0 + 3.0 * bilateral_filter(saturated, luminance(ldr), sigma_s, 25.0 / 255.0)
    expanded = (lum * (display_max - display_min) + display_min) * expand_map
    return _change_luminance(linear, lum, expanded), None


def huo14(ldr: np.ndarray, n: float = 0.86) -> tuple[np.ndarray, None]:
    """Huo, Yang, Dong and Brost, "Physiological inverse tone mapping based on retina response",
    The Visual Computer 30(5), 2014: ``L' = (L / L_max) (L_s^n + sigma^n)^(1/n)``, where ``L_s``
    is the local adaptation luminance (two bilateral passes, sigma_s 16 then 10 px, sigma_r 0.3
    then 0.1), ``sigma`` the log-average luminance and ``n = 0.86``."""
    linear, lum = _linearize(ldr)
    adaptation = bilateral_filter(lum, lum, 16.0, 0.3)
    adaptation = bilateral_filter(adaptation, adaptation, 10.0, 0.1)
    sigma = float(np.exp(np.mean(np.log(lum + 1e-6))))
    peak = lum.max() if lum.max() > 0 else 1.0
    expanded = (lum / peak) * (np.maximum(adaptation, 0.0) ** n + sigma**n) ** (1.0 / n)
    return _change_luminance(linear, lum, expanded), None


BASELINES: dict[str, Callable] = {
    "gamma_2.2": inverse_gamma,
    "srgb": inverse_srgb,
    "dorf_mean": dorf_mean,
    "square": square,
    "akyuz07": akyuz07,
    "masia09": masia09,
    "kovaleski14": kovaleski14,
    "huo14": huo14,
    "oracle": oracle,
}
"""Every baseline by its report name. ``oracle`` takes the true inverse curve as a second argument."""

FIXED_CURVES = ("gamma_2.2", "srgb", "dorf_mean", "square")
"""The baselines that are one fixed inverse curve."""


def fixed_inverse_curves() -> dict[str, np.ndarray]:
    """``{name: inverse curve [1024]}`` of the :data:`FIXED_CURVES` baselines."""
    probe = np.full((4, 4, 3), 0.5, np.float32)
    return {name: BASELINES[name](probe)[1] for name in FIXED_CURVES}
