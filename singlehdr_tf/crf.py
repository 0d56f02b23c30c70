"""Camera response functions (CRFs): DoRF curves, their split, the (inverse-)EMoR model and the
refitted curve bases, the monotonic projection and curve application (modern encodings:
:mod:`singlehdr_tf.modern_curves`).

Conventions
-----------
A *curve* is sampled at ``CURVE_SAMPLES`` (1024) points on ``linspace(0, 1, 1024)``. A response
curve ``F`` maps linear irradiance to pixel brightness; an inverse curve ``g = F^-1`` maps
brightness back to linear irradiance. Both are monotone with ``F(0)=0`` and ``F(1)=1``.

The DoRF database and the EMoR models are by Grossberg and Nayar ("What is the space of camera
response functions?", CVPR 2003; "Modeling the space of camera response functions", PAMI 2004);
see ``resources/crf/NOTICE``.

The NumPy functions load and prepare data; :func:`monotonic_projection` and :func:`apply_curve`
are written with ``keras.ops`` so they run inside models under any Keras backend and inside
``tf.function``.
"""

from __future__ import annotations

import functools
import pathlib

import keras
import numpy as np

from singlehdr_tf import color
from singlehdr_tf.metrics import LOG_FLOOR

CURVE_SAMPLES = 1024
"""Number of samples of every curve on ``linspace(0, 1, CURVE_SAMPLES)``."""

RESOURCE_DIR = pathlib.Path(__file__).resolve().parent / "resources" / "crf"

DORF_TEST_CURVES = 10
"""Unique DoRF curves held out for evaluation (the reference code's 191/10 split)."""

DORF_SPLIT_SEED = 0
"""Seed of the fixed, documented DoRF train/test split. Changing it changes every benchmark."""

DORF_HOLDOUT_SEED = 1
"""Seed of :func:`dorf_holdout`, the training curves a run may leave out for its own choices."""


def curve_grid(samples: int = CURVE_SAMPLES) -> np.ndarray:
    """The sample positions ``linspace(0, 1, samples)`` of every curve, float32."""
    return np.linspace(0.0, 1.0, samples, dtype=np.float32)


@functools.lru_cache(maxsize=None)
def _load_dorf_arrays() -> dict[str, np.ndarray]:
    with np.load(RESOURCE_DIR / "dorf_201x1024.npz") as data:
        return {key: data[key].astype(np.float32) for key in data.files}


def load_dorf() -> np.ndarray:
    """All 201 DoRF response curves ``F``, float32 ``[201, 1024]``, sampled on :func:`curve_grid`."""
    return _load_dorf_arrays()["B"].copy()


def _draw_groups(curves: np.ndarray, rows: np.ndarray, count: int, seed: int) -> np.ndarray:
    """A mask over ``rows``: ``count`` unique curves of ``curves[rows]`` drawn with
    ``numpy.random.default_rng(seed)``, each with every row that repeats it (so a curve is never on
    both sides of a split)."""
    _, group_of_row = np.unique(curves[rows], axis=0, return_inverse=True)
    group_of_row = group_of_row.reshape(-1)
    groups = np.unique(group_of_row)
    if not 0 <= count <= len(groups):
        raise ValueError(f"cannot draw {count} of {len(groups)} unique DoRF curves")
    return np.isin(group_of_row, np.random.default_rng(seed).choice(groups, size=count, replace=False))


def dorf_split(seed: int = DORF_SPLIT_SEED, n_test: int = DORF_TEST_CURVES) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(train, test)`` of the fixed DoRF split.

    Rows that repeat another row (11 of the 201) are grouped with it, so a curve is never on both
    sides. ``n_test`` unique curves are drawn for the test side with ``numpy.random.default_rng(seed)``;
    the training side keeps every other row (191 rows with the defaults).
    """
    curves = _load_dorf_arrays()["B"]
    rows = np.arange(len(curves))
    is_test = _draw_groups(curves, rows, n_test, seed)
    return rows[~is_test], rows[is_test]


def dorf_holdout(held_out: int, seed: int = DORF_HOLDOUT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(fit, held_out)`` splitting the training side of :func:`dorf_split`:
    ``held_out`` unique curves a run leaves out of training (``DataConfig.held_out_dorf_curves``)
    so that its release choices can be measured on real camera curves it never saw, as the test
    curves are; the test curves stay untouched."""
    train = dorf_split()[0]
    is_held_out = _draw_groups(_load_dorf_arrays()["B"], train, held_out, seed)
    return train[~is_held_out], train[is_held_out]


def training_curves(held_out: int = 0) -> np.ndarray:
    """DoRF response curves of the training split, float32 ``[191, 1024]``, less the ``held_out``
    curves of :func:`dorf_holdout`."""
    return load_dorf()[dorf_holdout(held_out)[0]]


def held_out_training_curves(held_out: int) -> np.ndarray:
    """The ``held_out`` DoRF training-split curves of :func:`dorf_holdout`, float32."""
    return load_dorf()[dorf_holdout(held_out)[1]]


def test_curves() -> np.ndarray:
    """DoRF response curves held out for evaluation, float32 ``[10, 1024]``."""
    return load_dorf()[dorf_split()[1]]


def invert_curve(curves: np.ndarray) -> np.ndarray:
    """Inverse of monotone curves ``[..., N]`` sampled on the unit grid, by linear interpolation.

    Flat stretches of ``F`` (several irradiances giving one brightness) map to the middle of the
    stretch's irradiance range, the least-squares choice.
    """
    curves = np.asarray(curves, dtype=np.float64)
    flat = curves.reshape(-1, curves.shape[-1])
    grid = np.linspace(0.0, 1.0, curves.shape[-1])
    inverse = np.empty_like(flat)
    for row, curve in enumerate(flat):
        curve = np.maximum.accumulate(curve)
        values, first = np.unique(curve, return_index=True)
        last = len(curve) - 1 - np.unique(curve[::-1], return_index=True)[1]
        middle = 0.5 * (grid[first] + grid[last])
        if len(values) == 1:
            inverse[row] = grid
            continue
        inverse[row] = np.interp(grid, values, middle)
    inverse[:, 0], inverse[:, -1] = 0.0, 1.0
    return inverse.reshape(curves.shape).astype(np.float32)


def _read_emor_file(name: str) -> dict[str, np.ndarray]:
    """Parse an EMoR text file: blocks headed ``name =`` followed by 1024 numbers."""
    blocks: dict[str, list[float]] = {}
    current = None
    for line in (RESOURCE_DIR / name).read_text().splitlines():
        if "=" in line:
            current = line.split("=")[0].strip()
            blocks[current] = []
        elif line.strip():
            blocks[current].extend(float(v) for v in line.split())
    return {key: np.asarray(values, dtype=np.float32) for key, values in blocks.items()}


@functools.lru_cache(maxsize=None)
def load_inverse_emor(k: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """The inverse-EMoR model ``g = g0 + w @ basis``: mean inverse curve ``g0`` ``[1024]`` and the
    first ``k`` principal components ``basis`` ``[k, 1024]`` (float32, read-only)."""
    if not 1 <= k <= 25:
        raise ValueError(f"the inverse-EMoR model has 25 components; k={k} is out of range")
    blocks = _read_emor_file("invemor.txt")
    g0 = blocks["g0"]
    basis = np.stack([blocks[f"hinv({i})"] for i in range(1, k + 1)])
    for array in (g0, basis):
        array.setflags(write=False)
    return g0, basis


FITTED_BASES = {"camera": ("camera_basis.npz", "mean"), "camera_log": ("camera_log_basis.npz", "log_mean")}
"""The refitted bases: name -> (resource file, prior of :func:`fit_curve_basis`). Both are fitted
on DoRF training curves *and* modern camera encodings by ``tools/fit_curve_basis.py``; ``camera``
around their arithmetic mean, ``camera_log`` around their log-domain mean. A model names its
basis in its config, so a shipped model keeps the basis it was trained in."""

CURVE_BASES = ("emor", *FITTED_BASES)
"""Bases an inverse curve is predicted in: ``emor``, the paper's inverse-EMoR model fitted on DoRF,
and the :data:`FITTED_BASES`."""


@functools.lru_cache(maxsize=None)
def load_curve_basis(name: str = "emor", k: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """The prior inverse curve ``[1024]`` and first ``k`` components ``[k, 1024]`` of basis
    ``name`` (one of :data:`CURVE_BASES`), float32, read-only."""
    if name == "emor":
        return load_inverse_emor(k)
    if name not in FITTED_BASES:
        raise ValueError(f"unknown curve basis {name!r}; expected one of {CURVE_BASES}")
    with np.load(RESOURCE_DIR / FITTED_BASES[name][0]) as data:
        mean, components = data["prior"].astype(np.float32), data["components"].astype(np.float32)
    if not 1 <= k <= len(components):
        raise ValueError(f"the {name} basis has {len(components)} components; k={k} is out of range")
    basis = np.ascontiguousarray(components[:k])
    for array in (mean, basis):
        array.setflags(write=False)
    return mean, basis


def fit_curve_basis(inverse_curves: np.ndarray, sample_weights: np.ndarray, k: int,
                    prior: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """A curve basis for inverse curves ``[N, 1024]``: ``(prior [1024], k orthonormal components
    [k, 1024])``.

    ``prior`` ``"mean"`` is the weighted mean; ``"log_mean"`` the weighted mean in the log domain
    (the geometric mean of the curves, each raised to the evaluation's log floor
    :data:`singlehdr_tf.metrics.LOG_FLOOR` first, with ``g(0) = 0``), which minimises the mean
    squared log error over the bank at every code value. The release metrics (log error in stops,
    PU21) are decided by the dark codes, where curves differ by factors but hardly in linear terms,
    and there the arithmetic mean sits above most curves: on held-out training scenes the
    log-domain mean, used as the curve, gave 0.91 instead of 1.10 stops with modern encodings and
    0.80 instead of 0.86 with DoRF curves (``tools/score_fixed_curves.py``,
    ``release/logs/fixed_curves.json``; inverse sRGB: 0.89 and 0.89). The geometric mean of
    non-decreasing curves is non-decreasing, so it is a valid curve. The components are the
    weighted principal directions of the curves around the prior (linear, so the curve stays
    ``g = P(prior + w @ H)``), each sign fixed so that its largest entry is positive (a
    reproducible file whatever the LAPACK build)."""
    curves = np.asarray(inverse_curves, np.float64)
    weights = np.asarray(sample_weights, np.float64) / np.sum(sample_weights)
    if prior == "mean":
        center = weights @ curves
    elif prior == "log_mean":
        center = np.exp2(weights @ np.log2(np.maximum(curves, LOG_FLOOR)))
        center[0] = 0.0
    else:
        raise ValueError(f"unknown prior {prior!r}; expected 'mean' or 'log_mean'")
    _, _, components = np.linalg.svd(np.sqrt(weights)[:, None] * (curves - center), full_matrices=False)
    components = components[:k]
    signs = np.sign(components[np.arange(k), np.argmax(np.abs(components), axis=1)])
    return center.astype(np.float32), (components * signs[:, None]).astype(np.float32)


def fit_basis_weights(inverse_curves: np.ndarray, name: str = "emor", k: int = 11) -> np.ndarray:
    """Least-squares weights ``[..., k]`` of inverse curves ``[..., 1024]`` in basis ``name``
    (``curve ~ prior + w @ basis``, before any monotonic projection)."""
    prior, basis = load_curve_basis(name, k)
    residual = np.asarray(inverse_curves, np.float64) - prior
    weights, *_ = np.linalg.lstsq(basis.T.astype(np.float64), residual.reshape(-1, residual.shape[-1]).T, rcond=None)
    return weights.T.reshape(residual.shape[:-1] + (k,)).astype(np.float32)


def project_to_basis(inverse_curves: np.ndarray, name: str = "emor", k: int = 11) -> np.ndarray:
    """The closest curves ``[..., 1024]`` of the form ``prior + w @ basis``: the best a network
    predicting ``k`` weights in basis ``name`` can do."""
    prior, basis = load_curve_basis(name, k)
    return (prior + fit_basis_weights(inverse_curves, name, k) @ basis).astype(np.float32)


def fit_inverse_emor(inverse_curves: np.ndarray, k: int = 11) -> np.ndarray:
    """Least-squares inverse-EMoR weights ``[..., k]`` of inverse curves ``[..., 1024]``."""
    return fit_basis_weights(inverse_curves, "emor", k)


def gamma_curve(gamma: float = 2.2, samples: int = CURVE_SAMPLES) -> np.ndarray:
    """Response ``F(x) = x ** (1 / gamma)`` on the unit grid, float32 ``[samples]``."""
    return (curve_grid(samples) ** (1.0 / gamma)).astype(np.float32)


def srgb_curve(samples: int = CURVE_SAMPLES) -> np.ndarray:
    """The sRGB encoding (IEC 61966-2-1) as a response curve, float32 ``[samples]``."""
    return color.srgb_encode(curve_grid(samples).astype(np.float64)).astype(np.float32)


FIXED_INVERSE_CURVES = {"srgb": lambda: invert_curve(srgb_curve()), "gamma_2.2": lambda: curve_grid() ** 2.2}
"""Named fixed inverse curves a model can use in place of its estimate (``fixed_curve``)."""


def fixed_inverse_curve(name: str) -> np.ndarray:
    """The inverse curve ``[CURVE_SAMPLES]`` float32 called ``name`` in :data:`FIXED_INVERSE_CURVES`."""
    if name not in FIXED_INVERSE_CURVES:
        raise ValueError(f"unknown fixed curve {name!r}; expected one of {', '.join(FIXED_INVERSE_CURVES)}")
    return np.asarray(FIXED_INVERSE_CURVES[name](), np.float32)


def monotonic_projection(curves):
    """The paper's monotonic constraint, eq. (3), batched and differentiable: ``[B, N] -> [B, N]``.

    Take the differences of each curve, shift them by the most negative one (so all are >= 0),
    cumulatively sum and normalise: the result is non-decreasing with ``g(0) = 0`` and
    ``g(1) = 1`` for any finite input. Differences are first divided by their largest magnitude
    (the normalisation makes the result invariant to that), so huge inputs cannot overflow; a tiny
    constant keeps a constant input from dividing by zero (it then becomes the identity curve).
    """
    curves = keras.ops.convert_to_tensor(curves, dtype="float32")
    diffs = curves[:, 1:] - curves[:, :-1]
    scale = keras.ops.max(keras.ops.abs(diffs), axis=-1, keepdims=True)
    diffs = diffs / keras.ops.maximum(scale, 1e-30)
    shift = keras.ops.relu(-keras.ops.min(diffs, axis=-1, keepdims=True))
    diffs = diffs + shift + 1e-9
    diffs = diffs / keras.ops.sum(diffs, axis=-1, keepdims=True)
    return prefix_sums(diffs)


def prefix_sums(values):
    """``[B, N] -> [B, N + 1]``: ``0, v0, v0 + v1, ...`` for ``values >= 0``, non-decreasing.

    By doubling shifts (Hillis-Steele: after step ``k`` each entry holds the sum of the ``2^k``
    entries ending at it), then a running maximum the same way, because sums taken in another
    order can round a neighbour down by one ulp and the curve must stay monotone. Slices,
    concatenations, additions and maxima only, which XNNPACK runs in TFLite (a CUMSUM splits the
    delegated graph)."""
    sums = keras.ops.concatenate([keras.ops.zeros_like(values[:, :1]), values], axis=-1)
    return _doubling_scan(_doubling_scan(sums, keras.ops.add), keras.ops.maximum)


def _doubling_scan(values, combine):
    """Inclusive scan of ``[B, N]`` along the last axis with ``combine`` (associative), in
    ``log2 N`` steps that each combine an entry with the one ``2^k`` before it; the entries
    before the start count as 0 (so ``combine`` must treat 0 as neutral on these values)."""
    length, shift = values.shape[-1], 1
    while shift < length:
        shifted = keras.ops.concatenate([keras.ops.zeros_like(values[:, :shift]), values[:, :-shift]], axis=-1)
        values = combine(values, shifted)
        shift *= 2
    return values


def apply_curve(images, curves):
    """Apply one curve per image by linear interpolation on its samples.

    Each value reads its interval's sample and slope from the batch's curves flattened into two
    tables: plain gathers (the costly part at full resolution), cheaper than batched lookups of
    the samples on both sides; gathering (sample, slope) pairs from one table was faster in
    TensorFlow but split the TFLite graph into one more XNNPACK partition.

    Args:
        images: ``[B, H, W, C]`` values; clipped to [0, 1] (the curve's domain).
        curves: ``[B, N]`` samples on ``linspace(0, 1, N)``.

    Returns:
        ``[B, H, W, C]`` float32, differentiable w.r.t. both inputs (w.r.t. the images through the
        interpolation weights).
    """
    images = keras.ops.convert_to_tensor(images, dtype="float32")
    curves = keras.ops.convert_to_tensor(curves, dtype="float32")
    intervals = keras.ops.shape(curves)[-1] - 1
    shape = keras.ops.shape(images)
    flat = keras.ops.reshape(keras.ops.clip(images, 0.0, 1.0), (shape[0], -1))
    position = flat * keras.ops.cast(intervals, "float32")
    lower = keras.ops.clip(keras.ops.floor(position), 0.0, keras.ops.cast(intervals - 1, "float32"))
    fraction = position - lower
    samples = keras.ops.reshape(curves[:, :-1], (-1,))
    slopes = keras.ops.reshape(curves[:, 1:] - curves[:, :-1], (-1,))
    index = keras.ops.cast(lower, "int32") + intervals * keras.ops.arange(shape[0], dtype="int32")[:, None]
    values = keras.ops.take(samples, index) + fraction * keras.ops.take(slopes, index)
    return keras.ops.reshape(values, shape)
