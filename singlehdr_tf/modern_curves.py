"""The bank of modern camera encodings: standard transfer functions under vendor-like tone curves.

DoRF (:mod:`singlehdr_tf.crf`) is mostly film and early digital cameras. Photos today are encoded
by a standard transfer function, usually under a vendor's tone curve (a "picture style": more
contrast in the mid-tones, a soft roll-off into the highlights). Every curve of this bank is a
response ``F`` on the unit grid, built in the order a camera applies them::

    F(x) = S(E(R(x)))

* ``R``, a highlight roll-off on the linear signal (identity for the families without one), one of
  three published filmic operators, each scaled by an exposure ``e`` and normalised so that the
  clipping level stays at 1: Reinhard et al. 2002 (``t / (1 + t)``), Hable's "Uncharted 2" curve
  (2010, its published constants) and Narkowicz's fit of the ACES reference rendering (2015);
* ``E``, a standard encoding: sRGB (IEC 61966-2-1), the Rec.709 OETF (ITU-R BT.709) or a pure power
  ``x ** (1 / gamma)``, gamma in [1.8, 2.6];
* ``S``, a display-referred S-shaped contrast curve about a pivot (identity for the families
  without one): a logistic of slope ``k`` normalised to map 0 to 0 and 1 to 1, whose slope stays
  positive at both ends, as vendor curves do (a power-law S-curve would crush the toe to zero slope).

:data:`FAMILIES` name the four combinations. :func:`sample_modern_curves` draws curves for
training from any seeded generator; :func:`test_bank` is the fixed evaluation bank, drawn from
:data:`TEST_SEED`, a stream no training code uses, so its parametric curves differ from every
training draw (``tests/test_modern_curves.py`` checks the distance). The exact standards with
nothing on top (plain sRGB, plain Rec.709) are in both: they are what most photos use.
"""

from __future__ import annotations

import numpy as np

from singlehdr_tf import crf
from singlehdr_tf.crf import CURVE_SAMPLES, curve_grid, srgb_curve

FAMILIES = ("standard", "s_curve", "filmic", "filmic_s_curve")
"""The four combinations of tone curves on top of a standard encoding (see the module docstring)."""

ENCODINGS = ("srgb", "rec709", "gamma")
ENCODING_PROBABILITIES = (0.35, 0.15, 0.5)
GAMMA_RANGE = (1.8, 2.6)
S_CURVE_SLOPE_RANGE = (2.0, 5.0)
"""Logistic slope ``k`` of the contrast curve: about 1.1x (k = 2) to 1.5x (k = 5) the mid-tone
contrast of the plain encoding, the range of cameras' "standard" to "vivid" picture styles."""
S_CURVE_PIVOT_RANGE = (0.35, 0.6)
ROLL_OFFS = ("reinhard", "hable", "aces")
ROLL_OFF_EXPOSURE_RANGES = {"reinhard": (0.25, 1.2), "hable": (1.5, 4.0), "aces": (0.8, 1.6)}
"""Exposure ``e`` on the linear signal before each roll-off; larger is a stronger roll-off. The
ranges keep a camera's rendering of mid-grey: a sensor value 3 stops below saturation (0.125)
lands at 8-bit codes of about 105 to 150 after sRGB (plain sRGB: 99), as cameras that keep
highlight headroom under a soft shoulder do; stronger settings would brighten the whole image by
stops, which no camera's default rendering does."""

BASIS_SEED = 7
"""Seed of the modern draws the ``camera`` curve basis is fitted on (:func:`basis_bank`)."""
BASIS_DRAWS = 2000

TEST_SEED = 20261203
"""Seed of :func:`test_bank`; training draws never use it."""
TEST_CURVES_PER_FAMILY = 12


def rec709_curve(samples: int = CURVE_SAMPLES) -> np.ndarray:
    """The Rec.709 OETF (ITU-R BT.709-6): ``4.5 x`` below 0.018, ``1.099 x ** 0.45 - 0.099`` above."""
    x = curve_grid(samples).astype(np.float64)
    return np.where(x < 0.018, 4.5 * x, 1.099 * np.power(x, 0.45) - 0.099).astype(np.float32)


def _encode(linear: np.ndarray, encoding: str, gamma: float) -> np.ndarray:
    grid = curve_grid(linear.shape[-1]).astype(np.float64)
    if encoding == "srgb":
        return np.interp(linear, grid, srgb_curve(linear.shape[-1]))
    if encoding == "rec709":
        return np.interp(linear, grid, rec709_curve(linear.shape[-1]))
    return np.power(linear, 1.0 / gamma)


def _hable(t: np.ndarray) -> np.ndarray:
    a, b, c, d, e, f = 0.15, 0.50, 0.10, 0.20, 0.02, 0.30
    return (t * (a * t + c * b) + d * e) / (t * (a * t + b) + d * f) - e / f


def _aces(t: np.ndarray) -> np.ndarray:
    return t * (2.51 * t + 0.03) / (t * (2.43 * t + 0.59) + 0.14)


def _roll_off(x: np.ndarray, kind: str, exposure: float) -> np.ndarray:
    operator = {"reinhard": lambda t: t / (1.0 + t), "hable": _hable, "aces": _aces}[kind]
    return operator(exposure * x) / operator(np.float64(exposure))


def _s_curve(y: np.ndarray, slope: float, pivot: float) -> np.ndarray:
    def logistic(t):
        return 1.0 / (1.0 + np.exp(-slope * (t - pivot)))

    low, high = logistic(0.0), logistic(1.0)
    return (logistic(y) - low) / (high - low)


def modern_curve(family: str, params: dict, samples: int = CURVE_SAMPLES) -> np.ndarray:
    """One response curve ``F`` ``[samples]`` of ``family`` with ``params`` (the dicts that
    :func:`sample_modern_curves` returns: ``encoding``, ``gamma``, and ``roll_off``,
    ``exposure``, ``slope``, ``pivot`` where the family has them). Monotone, ``F(0)=0, F(1)=1``."""
    if family not in FAMILIES:
        raise ValueError(f"unknown curve family {family!r}; expected one of {FAMILIES}")
    x = curve_grid(samples).astype(np.float64)
    if family.startswith("filmic"):
        x = _roll_off(x, params["roll_off"], params["exposure"])
    y = _encode(np.clip(x, 0.0, 1.0), params["encoding"], params.get("gamma", 2.2))
    if family.endswith("s_curve"):
        y = _s_curve(y, params["slope"], params["pivot"])
    y = np.maximum.accumulate(np.clip(y, 0.0, 1.0))
    y[0], y[-1] = 0.0, 1.0
    return y.astype(np.float32)


def _draw_params(rng: np.random.Generator, family: str) -> dict:
    encoding = ENCODINGS[int(rng.choice(len(ENCODINGS), p=ENCODING_PROBABILITIES))]
    params: dict = {"encoding": encoding}
    if encoding == "gamma":
        params["gamma"] = float(rng.uniform(*GAMMA_RANGE))
    if family.startswith("filmic"):
        kind = ROLL_OFFS[int(rng.integers(len(ROLL_OFFS)))]
        low, high = ROLL_OFF_EXPOSURE_RANGES[kind]
        params.update(roll_off=kind, exposure=float(np.exp(rng.uniform(np.log(low), np.log(high)))))
    if family.endswith("s_curve"):
        params.update(slope=float(rng.uniform(*S_CURVE_SLOPE_RANGE)), pivot=float(rng.uniform(*S_CURVE_PIVOT_RANGE)))
    return params


def sample_modern_curves(
    rng: np.random.Generator, count: int, families: tuple[str, ...] = FAMILIES, samples: int = CURVE_SAMPLES
) -> tuple[np.ndarray, list[str], list[dict]]:
    """``count`` random modern response curves: ``(curves [count, samples], family of each,
    parameters of each)``, the families dealt in turn (equal shares)."""
    chosen = [families[i % len(families)] for i in range(count)]
    params = [_draw_params(rng, family) for family in chosen]
    curves = np.stack([modern_curve(f, p, samples) for f, p in zip(chosen, params)]) if count else np.zeros(
        (0, samples), np.float32)
    return curves, chosen, params


def family_bank(seed: int, per_family: int) -> tuple[np.ndarray, list[str], list[dict]]:
    """``per_family`` curves of each family drawn from ``seed``, as :func:`sample_modern_curves`
    returns them (family-major order)."""
    rng = np.random.default_rng(seed)
    parts = [sample_modern_curves(rng, per_family, (family,)) for family in FAMILIES]
    return (np.concatenate([p[0] for p in parts]), [f for p in parts for f in p[1]],
            [q for p in parts for q in p[2]])


def test_bank(per_family: int = TEST_CURVES_PER_FAMILY) -> tuple[np.ndarray, list[str], list[dict]]:
    """The fixed evaluation bank: :func:`family_bank` of :data:`TEST_SEED`."""
    return family_bank(TEST_SEED, per_family)


def basis_bank() -> tuple[np.ndarray, np.ndarray]:
    """``(inverse curves [N, 1024], weight of each)`` the ``camera`` basis is fitted on
    (``tools/fit_curve_basis.py``): the DoRF training split and :data:`BASIS_DRAWS` modern draws
    from :data:`BASIS_SEED`, each set weighing one half, so that neither dominates the prior."""
    dorf = crf.invert_curve(crf.training_curves())
    modern = crf.invert_curve(sample_modern_curves(np.random.default_rng(BASIS_SEED), BASIS_DRAWS)[0])
    weights = np.concatenate([np.full(len(dorf), 0.5 / len(dorf)), np.full(len(modern), 0.5 / len(modern))])
    return np.concatenate([dorf, modern]), weights
