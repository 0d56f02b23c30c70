"""Property-based tests (hypothesis) of ``Reconstructor.reconstruct`` and the camera model over
random sizes, dtypes and value ranges: every input gives either the documented result or a
``SingleHDRError`` naming the input, never a TensorFlow error, and the camera model keeps its
invariants for any real input. Derandomized, so every run tries the same examples."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from singlehdr_tf import SingleHDRError, api, camera, crf, modern_curves

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

DTYPES = ("uint8", "uint16", "float16", "float32", "float64")
"""The dtypes ``reconstruct`` takes."""
VALUES = ("uniform", "black", "white", "dark")
DEFECTS = ("too_small", "two_dimensional", "one_channel", "four_channels", "int32", "bool", "above_one", "negative",
           "nan", "inf")
"""Ways to break an otherwise good input (None: keep it good)."""


def make_image(rng: np.random.Generator, height: int, width: int, dtype: str, values: str,
               defect: str | None) -> np.ndarray:
    """A ``[height, width, 3]`` photo of ``dtype`` (integers span their range, floats [0, 1]),
    then broken by ``defect``."""
    if defect == "too_small":
        height = height % (api.MIN_SIZE - 1) + 1
    channels = {"two_dimensional": (), "one_channel": (1,), "four_channels": (4,)}.get(defect, (3,))
    shape = (height, width, *channels)
    unit = {"uniform": rng.random(shape), "black": np.zeros(shape), "white": np.ones(shape),
            "dark": 0.03 * rng.random(shape)}[values]
    if defect in ("int32", "bool"):
        dtype = defect
    elif defect in ("above_one", "negative", "nan", "inf"):
        dtype = dtype if dtype.startswith("float") else "float32"
        unit.flat[rng.integers(unit.size)] = {"above_one": 1.5, "negative": -0.5, "nan": np.nan, "inf": np.inf}[defect]
    if dtype in ("uint8", "uint16", "int32"):
        return np.round(unit * {"uint8": 255, "uint16": 65535, "int32": 255}[dtype]).astype(dtype)
    return unit > 0.5 if dtype == "bool" else unit.astype(dtype)


def accepted(image: np.ndarray) -> bool:
    """Whether ``reconstruct`` documents a result for ``image`` (see its docstring)."""
    if image.ndim != 3 or image.shape[-1] != 3 or min(image.shape[:2]) < api.MIN_SIZE:
        return False
    if image.dtype in (np.uint8, np.uint16):
        return True
    if not np.issubdtype(image.dtype, np.floating):
        return False
    return bool(np.isfinite(image).all() and image.min() >= -1e-3 and image.max() <= 1.0 + 1e-3)


@pytest.fixture(scope="module")
def tiled(tiny_model) -> api.Reconstructor:
    """Tiles every image above 32x32, in 32-pixel tiles. (1x1 and 1x100000 files: test_robust_inputs.py.)"""
    return api.Reconstructor(tiny_model, max_pixels=api.MIN_SIZE**2, tile_size=32, tile_overlap=8)


@SETTINGS
@given(height=st.integers(api.MIN_SIZE, 72), width=st.integers(api.MIN_SIZE, 72), dtype=st.sampled_from(DTYPES),
       values=st.sampled_from(VALUES), defect=st.one_of(st.none(), st.sampled_from(DEFECTS)),
       seed=st.integers(0, 2**16), use_tiles=st.booleans())
def test_reconstruct_gives_hdr_or_a_clear_error(reconstructor, tiled, height, width, dtype, values, defect, seed,
                                                use_tiles):
    image = make_image(np.random.default_rng(seed), height, width, dtype, values, defect)
    assert accepted(image) == (defect is None)
    runner = tiled if use_tiles else reconstructor
    event("accepted" if defect is None else "refused")
    if defect is not None:
        with pytest.raises(SingleHDRError, match="^input image: "):
            runner.reconstruct(image)
        return
    hdr = runner.reconstruct(image)
    assert hdr.shape == (height, width, 3) and hdr.dtype == np.float32
    assert np.isfinite(hdr).all() and hdr.min() >= 0.0


CURVES = np.concatenate([crf.training_curves()[::40], modern_curves.sample_modern_curves(np.random.default_rng(0), 3)[0],
                         crf.curve_grid()[None]])
"""Response curves to draw from: DoRF, modern encodings and the identity."""


@st.composite
def radiance(draw):
    """``[B, H, W, 3]`` radiance of a random dtype and magnitude, with negatives, NaN and infinities."""
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 9)), draw(st.integers(1, 9)), 3)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    hdr = rng.lognormal(0.0, 2.0, shape) * 10.0 ** draw(st.integers(-6, 6))
    hdr[rng.random(shape) < 0.1] *= -1.0
    special = rng.random(shape)
    hdr[special < draw(st.sampled_from([0.0, 0.1]))] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 0.0]))
    kind = draw(st.sampled_from(["float16", "float32", "float64", "uint8", "tf.float64", "list"]))
    if kind == "uint8":
        return np.clip(np.nan_to_num(hdr), 0, 255).astype(np.uint8)
    if kind == "tf.float64":
        return tf.constant(hdr, tf.float64)
    if kind == "list":
        return np.nan_to_num(hdr, posinf=1e30, neginf=-1e30).astype(np.float32).tolist()
    with np.errstate(over="ignore"):
        return hdr.astype(kind)


@SETTINGS
@given(hdr=radiance(), curve_rows=st.lists(st.integers(0, len(CURVES) - 1), min_size=2, max_size=2),
       exposure=st.sampled_from([None, 0.5, 4.0, "per_image"]), curve_dtype=st.sampled_from(["float32", "float64"]))
def test_camera_model_invariants(hdr, curve_rows, exposure, curve_dtype):
    batch = len(hdr) if isinstance(hdr, list) else hdr.shape[0]
    curves = CURVES[curve_rows[:batch]].astype(curve_dtype)
    if exposure == "per_image":
        exposure = np.linspace(0.25, 2.0, batch)
    stages = camera.forward(hdr, curves, exposure)
    clipped, nonlinear, ldr = (np.asarray(stage) for stage in stages)
    for stage in (clipped, nonlinear, ldr):
        assert stage.dtype == np.float32 and stage.shape == np.shape(np.asarray(hdr)) and np.isfinite(stage).all()
        assert stage.min() >= 0.0 and stage.max() <= 1.0
    expected = np.asarray(hdr, np.float64) * (1.0 if exposure is None else np.reshape(exposure, (-1, 1, 1, 1)))
    np.testing.assert_allclose(clipped, np.clip(np.nan_to_num(expected, nan=0.0), 0.0, 1.0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ldr * 255.0, np.round(ldr * 255.0), atol=1e-3)  # 8-bit levels
    assert np.abs(ldr - nonlinear).max() <= 0.5 / 255.0 + 1e-6
    for image in range(batch):  # the response is monotone: brighter light never gives a darker pixel
        order = np.argsort(clipped[image].ravel(), kind="stable")
        assert np.all(np.diff(ldr[image].ravel()[order]) >= 0.0)
