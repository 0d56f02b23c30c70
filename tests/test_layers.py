"""Tests of the custom layers: values against references, constraints, configs."""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

from singlehdr_tf import crf
from singlehdr_tf.layers import (
    InverseCRF,
    PositiveResidualBlend,
    ResizeConv2D,
    SobelEdges,
    SoftHistogram,
    area_resize,
    clip_mask,
    native_windows,
    reflect_pad,
    reflect_pad_to_multiple,
    upsample2x,
)

LAYER_EXAMPLES = [
    SoftHistogram(bins=(2, 5)),
    SobelEdges(),
    InverseCRF(crf_weights=7),
    ResizeConv2D(5, 3, interpolation="bilinear", activation="relu"),
    PositiveResidualBlend(gamma=0.9),
]
BASE_ARGS = {"name", "trainable", "dtype"}


@pytest.mark.parametrize("layer", LAYER_EXAMPLES, ids=lambda layer: type(layer).__name__)
def test_get_config_is_exactly_the_constructor_arguments(layer):
    config = layer.get_config()
    own_init = vars(type(layer)).get("__init__")
    parameters = set(inspect.signature(own_init).parameters) - {"self", "kwargs"} if own_init else set()
    assert set(config) - BASE_ARGS == parameters
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


@pytest.mark.parametrize("layer", LAYER_EXAMPLES, ids=lambda layer: type(layer).__name__)
def test_layers_are_registered_for_saving(layer):
    name = keras.saving.get_registered_name(type(layer))
    assert name == f"singlehdr_tf>{type(layer).__name__}"


def test_soft_histogram_matches_equation_2(rng):
    images = rng.random((2, 5, 6, 3)).astype(np.float32)
    out = SoftHistogram(bins=(4, 8))(images).numpy()
    assert out.shape == (2, 5, 6, 3 * (5 + 9))
    per_channel = out.reshape(2, 5, 6, 3, 14)
    for offset, b in ((0, 4), (5, 8)):
        centers = np.linspace(0, 1, b + 1)
        expected = np.maximum(0.0, 1.0 - np.abs(images[..., None] - centers) * b)
        np.testing.assert_allclose(per_channel[..., offset:offset + b + 1], expected, atol=1e-6)
        np.testing.assert_allclose(per_channel[..., offset:offset + b + 1].sum(-1), 1.0, atol=1e-5)


def test_soft_histogram_rejects_empty_bins():
    with pytest.raises(ValueError):
        SoftHistogram(bins=())


def test_sobel_edges_match_tf_image(rng):
    images = rng.random((2, 7, 9, 3)).astype(np.float32)
    expected = tf.reshape(tf.image.sobel_edges(tf.constant(images)), (2, 7, 9, 6)).numpy()
    np.testing.assert_allclose(SobelEdges()(images).numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("scale", [1.0, 1e6, -1e6, 1e-12])
def test_inverse_crf_is_monotone_with_fixed_ends_for_any_weights(rng, scale):
    weights = (rng.standard_normal((6, 11)) * scale).astype(np.float32)
    curves = InverseCRF(11).inverse_crf(weights).numpy()
    assert curves.shape == (6, crf.CURVE_SAMPLES)
    assert np.all(np.isfinite(curves))
    assert np.all(np.diff(curves, axis=-1) >= 0.0)
    np.testing.assert_allclose(curves[:, 0], 0.0, atol=1e-6)
    np.testing.assert_allclose(curves[:, -1], 1.0, atol=1e-5)


def test_inverse_crf_zero_weights_give_emor_mean_and_apply_it(rng):
    layer = InverseCRF(11)
    images = rng.random((1, 4, 5, 3)).astype(np.float32)
    curve, linear = layer(np.zeros((1, 11), np.float32), images)
    g0, _ = crf.load_inverse_emor(11)
    np.testing.assert_allclose(curve.numpy()[0], g0, atol=2e-3)
    expected = np.interp(images, crf.curve_grid(), curve.numpy()[0])
    np.testing.assert_allclose(linear.numpy(), expected, atol=1e-5)
    assert layer.trainable_weights == [] and layer.non_trainable_weights == []


def test_inverse_crf_weights_change_the_curve(rng):
    layer = InverseCRF(11)
    weights = rng.standard_normal((2, 11)).astype(np.float32)
    curves = layer.inverse_crf(weights).numpy()
    assert np.abs(curves[0] - curves[1]).max() > 1e-3


def test_resize_conv_shapes_and_nearest_upsampling(rng):
    layer = ResizeConv2D(4, 3)
    assert tuple(layer(np.zeros((2, 3, 5, 6), np.float32)).shape) == (2, 6, 10, 4)
    images = rng.random((1, 3, 4, 2)).astype(np.float32)
    up = upsample2x(images, "nearest").numpy()
    np.testing.assert_array_equal(up, images.repeat(2, axis=1).repeat(2, axis=2))


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
def test_nearest_resize_conv_is_the_convolution_of_the_upsampled_input(rng, kernel_size):
    """The phase-decomposed convolution (no upsampled input written) gives what convolving the
    nearest-upsampled input gives, borders included."""
    layer = ResizeConv2D(6, kernel_size, activation="relu")
    images = rng.random((2, 7, 9, 5)).astype(np.float32)
    outputs = layer(images).numpy()
    expected = layer.conv(upsample2x(images, "nearest")).numpy()
    assert outputs.shape == (2, 14, 18, 6)
    np.testing.assert_allclose(outputs, expected, atol=2e-6)


def test_bilinear_upsampling_matches_tf_image_resize(rng):
    images = rng.random((2, 5, 7, 3)).astype(np.float32)
    expected = tf.image.resize(images, (10, 14), method="bilinear").numpy()
    np.testing.assert_allclose(upsample2x(images, "bilinear").numpy(), expected, atol=1e-6)


def test_resize_conv_rejects_unknown_interpolation():
    with pytest.raises(ValueError):
        ResizeConv2D(4, interpolation="cubic")


@pytest.mark.parametrize("height, width, multiple", [(5, 7, 4), (67, 93, 32), (1, 2, 8), (3, 1, 16)])
def test_reflect_pad_to_multiple(rng, height, width, multiple):
    images = rng.random((1, height, width, 2)).astype(np.float32)
    padded = reflect_pad_to_multiple(images, multiple).numpy()
    assert padded.shape[1] % multiple == 0 and padded.shape[2] % multiple == 0
    assert padded.shape[1] - height < multiple and padded.shape[2] - width < multiple
    np.testing.assert_array_equal(padded[:, :height, :width], images)
    pad_h, pad_w = padded.shape[1] - height, padded.shape[2] - width
    if pad_h < height and pad_w < width:
        expected = np.pad(images, [(0, 0), (0, pad_h), (0, pad_w), (0, 0)], mode="reflect")
        np.testing.assert_array_equal(padded, expected)


def test_reflect_pad_matches_numpy(rng):
    images = rng.random((1, 4, 6, 3)).astype(np.float32)
    expected = np.pad(images, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
    np.testing.assert_array_equal(reflect_pad(images, 1).numpy(), expected)


def test_area_resize_matches_tf_area_and_keeps_constants(rng):
    images = rng.random((2, 32, 48, 3)).astype(np.float32)
    expected = tf.image.resize(images, (16, 16), method="area").numpy()
    np.testing.assert_allclose(area_resize(images, 16).numpy(), expected, atol=1e-5)
    constant = np.full((1, 37, 53, 3), 0.3, np.float32)
    for size in (8, 64):  # down- and upscaling
        np.testing.assert_allclose(area_resize(constant, size).numpy(), 0.3, atol=1e-5)


def test_native_windows_cut_an_even_grid_at_native_resolution(rng):
    images = rng.random((2, 50, 70, 3)).astype(np.float32)
    windows = native_windows(images, 3, 16).numpy()
    assert windows.shape == (18, 16, 16, 3)
    starts_y, starts_x = (0, 17, 34), (0, 27, 54)  # first to last pixel, floor((size - 16) * k / 2)
    for i, y in enumerate(starts_y):
        for j, x in enumerate(starts_x):
            for b in range(2):  # window-major: window (i, j) of every image, then the next window
                np.testing.assert_array_equal(windows[(3 * i + j) * 2 + b], images[b, y:y + 16, x:x + 16])
    np.testing.assert_array_equal(native_windows(images, 1, 16).numpy()[1], images[1, 17:33, 27:43])
    small = native_windows(images[:, :10, :12], 2, 16).numpy()  # smaller than a window: edges repeat
    assert small.shape == (8, 16, 16, 3)
    np.testing.assert_array_equal(small[0, 10:, :12], np.broadcast_to(images[0, 9:10, :12], (6, 12, 3)))


def test_blend_adds_only_where_near_clipping(rng):
    gamma = 0.88
    linear = rng.random((2, 8, 8, 3)).astype(np.float32)
    gain = rng.standard_normal((2, 8, 8, 1)).astype(np.float32) * 5
    hallucinated = PositiveResidualBlend(gamma)(linear, gain).numpy()
    assert np.all(hallucinated >= linear)
    below = linear.max(-1) < gamma
    assert below.any() and (~below).any()
    np.testing.assert_array_equal(hallucinated[below], linear[below])
    changed = ~below & (gain[..., 0] > 0) & (linear.max(-1) > gamma)
    assert np.all(hallucinated[changed] > linear[changed])


def test_blend_keeps_the_recorded_colour_and_makes_clipped_white_neutral(rng):
    linear = np.array([[1.0, 1.0, 1.0], [1.0, 0.9, 0.5], [0.3, 1.0, 0.95]], np.float32).reshape(1, 3, 1, 3)
    gain = np.full((1, 3, 1, 1), 4.0, np.float32)
    hallucinated = PositiveResidualBlend(0.88)(linear, gain).numpy()[0, :, 0]
    np.testing.assert_allclose(hallucinated[0], [5.0, 5.0, 5.0], rtol=1e-6)  # neutral stays neutral
    for got, recorded in zip(hallucinated[1:], linear[0, 1:, 0]):  # others keep their channel ratios
        np.testing.assert_allclose(got / got.max(), recorded / recorded.max(), rtol=1e-6)
        assert got.max() > recorded.max()


def test_clip_mask_ramp():
    linear = np.array([0.5, 0.88, 0.94, 1.0, 2.0], np.float32).reshape(1, 5, 1, 1).repeat(3, -1)
    np.testing.assert_allclose(clip_mask(linear, 0.88).numpy().ravel(), [0, 0, 0.5, 1, 1], atol=1e-5)


def test_blend_rejects_bad_gamma():
    with pytest.raises(ValueError):
        PositiveResidualBlend(gamma=1.0)


@pytest.mark.parametrize("name", sorted(crf.FIXED_INVERSE_CURVES))
def test_inverse_crf_shrinks_toward_a_fixed_curve(rng, name):
    weights = rng.standard_normal((3, 11)).astype(np.float32)
    free = InverseCRF(11).inverse_crf(weights).numpy()
    fixed = crf.fixed_inverse_curve(name)
    np.testing.assert_allclose(InverseCRF(11, 0.0, shrink_toward=name).inverse_crf(weights).numpy(),
                               np.stack([fixed] * 3), atol=1e-7)
    blend = InverseCRF(11, 0.3, shrink_toward=name).inverse_crf(weights).numpy()
    np.testing.assert_allclose(blend, 0.3 * free + 0.7 * fixed, atol=1e-6)
    assert np.all(np.diff(blend, axis=-1) >= 0)
    with pytest.raises(ValueError, match="unknown fixed curve"):
        InverseCRF(11, 0.5, shrink_toward="film")


def test_inverse_crf_shrinkage_blends_the_curve_with_the_emor_mean(rng):
    weights = rng.standard_normal((3, 11)).astype(np.float32)
    free = InverseCRF(11).inverse_crf(weights).numpy()
    prior = InverseCRF(11).inverse_crf(np.zeros((3, 11), np.float32)).numpy()
    np.testing.assert_allclose(InverseCRF(11, shrinkage=0.0).inverse_crf(weights).numpy(), prior, atol=1e-6)
    quarter = InverseCRF(11, shrinkage=0.25).inverse_crf(weights).numpy()
    np.testing.assert_allclose(quarter, 0.25 * free + 0.75 * prior, atol=1e-6)
    assert np.all(np.diff(quarter, axis=-1) >= 0)
    np.testing.assert_allclose(quarter[:, [0, -1]], [[0.0, 1.0]] * 3, atol=1e-6)


def test_inverse_crf_shrinks_toward_a_mix_of_a_fixed_curve_and_the_prior(rng):
    weights = rng.standard_normal((3, 11)).astype(np.float32)
    free = InverseCRF(11, basis="camera").inverse_crf(weights).numpy()
    prior = InverseCRF(11, basis="camera").inverse_crf(np.zeros((3, 11), np.float32)).numpy()
    srgb = crf.fixed_inverse_curve("srgb")
    blend = InverseCRF(11, 0.4, basis="camera", shrink_toward="srgb", shrink_toward_share=0.25).inverse_crf(weights)
    np.testing.assert_allclose(blend.numpy(), 0.4 * free + 0.6 * (0.25 * srgb + 0.75 * prior), atol=1e-6)
    assert np.all(np.diff(blend.numpy(), axis=-1) >= 0)
    layer = InverseCRF(11, 0.4, shrink_toward="srgb", shrink_toward_share=0.25)
    assert InverseCRF.from_config(layer.get_config()).shrink_toward_share == 0.25
    with pytest.raises(ValueError, match=r"shrink_toward_share must lie in \[0, 1\]"):
        InverseCRF(11, 0.5, shrink_toward="srgb", shrink_toward_share=1.5)
