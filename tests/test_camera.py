"""The camera model L = Q(F(C(H))): NumPy reference, tf.function, gradients, augmentations."""

import numpy as np
import pytest
import tensorflow as tf

from singlehdr_tf import camera, crf, modern_curves


def reference_ldr(hdr, curves, exposure):
    """Plain NumPy float32 camera, in the same operation order as the TF code, to the last bit."""
    f32 = np.float32
    exposed = hdr.astype(f32) * exposure.astype(f32)[:, None, None, None]
    clipped = np.clip(exposed, f32(0), f32(1))
    samples = curves.shape[-1]
    position = clipped * f32(samples - 1)
    lower = np.clip(np.floor(position), f32(0), f32(samples - 2))
    fraction = position - lower
    index = lower.astype(np.int64).reshape(len(hdr), -1)
    lower_value = np.take_along_axis(curves, index, axis=1).reshape(hdr.shape)
    upper_value = np.take_along_axis(curves, index + 1, axis=1).reshape(hdr.shape)
    nonlinear = lower_value + fraction * (upper_value - lower_value)
    codes = np.floor(np.clip(nonlinear, f32(0), f32(1)) * f32(255) + f32(0.5))
    return codes.astype(np.uint8), (codes / f32(255)).astype(f32)


@pytest.fixture
def scene(rng):
    """Radiance over four decades (some pixels clip, some are negative noise), one curve and
    exposure per image: DoRF curves and modern tone curves, [4, 24, 32, 3]."""
    hdr = (10.0 ** rng.uniform(-3, 1, size=(4, 24, 32, 3))).astype(np.float32)
    hdr[0, 0, :4] = [[-0.1, 0.0, 1.0], [0.5, 1e6, 0.0], [1.0 / 3, 0.2, 0.7], [np.float32(17 / 1023), 1, 2]]
    curves = np.concatenate([crf.test_curves()[:2], modern_curves.sample_modern_curves(rng, 2)[0]]).astype(np.float32)
    exposure = np.array([1.0, 0.37, 2.5, 0.013], np.float32)
    return hdr, curves, exposure


def test_synthesize_ldr_matches_numpy_reference_bit_for_bit(scene):
    hdr, curves, exposure = scene
    codes, expected = reference_ldr(hdr, curves, exposure)
    ldr = camera.synthesize_ldr(hdr, curves, exposure).numpy()
    assert ldr.dtype == np.float32 and ldr.shape == hdr.shape
    np.testing.assert_array_equal(np.rint(ldr * 255.0).astype(np.uint8), codes)
    np.testing.assert_array_equal(ldr, expected)
    assert len(np.unique(codes)) > 200  # the scene really covers the 8-bit range


def test_forward_stages(scene):
    hdr, curves, exposure = scene
    stages = camera.forward(hdr, curves, exposure)
    np.testing.assert_array_equal(stages.clipped.numpy(), np.clip(hdr * exposure[:, None, None, None], 0, 1))
    np.testing.assert_array_equal(stages.nonlinear.numpy(), crf.apply_curve(stages.clipped, curves).numpy())
    np.testing.assert_array_equal(stages.ldr.numpy(), camera.quantize(stages.nonlinear).numpy())
    assert np.all(np.abs(stages.ldr.numpy() - stages.nonlinear.numpy()) <= 0.5 / 255 + 1e-7)


def test_exposure_forms():
    hdr = tf.fill([2, 3, 3, 3], 0.25)
    np.testing.assert_array_equal(camera.expose(hdr).numpy(), hdr.numpy())
    np.testing.assert_array_equal(camera.expose(hdr, 2.0).numpy(), np.full((2, 3, 3, 3), 0.5, np.float32))
    per_image = camera.expose(hdr, tf.constant([1.0, 4.0])).numpy()
    assert per_image[0].max() == 0.25 and per_image[1].min() == 1.0


def test_quantize_is_the_papers_rounding():
    values = np.array([-0.5, 0.0, 0.5 / 255 - 1e-6, 0.5 / 255 + 1e-6, 0.5, 1.0, 3.0], np.float32)
    codes = np.rint(camera.quantize(values).numpy() * 255).astype(int)
    assert codes.tolist() == [0, 0, 0, 1, 128, 255, 255]


def test_synthesize_ldr_in_tf_function_matches_eager(scene):
    hdr, curves, exposure = scene
    compiled = tf.function(
        camera.synthesize_ldr,
        input_signature=[
            tf.TensorSpec([None, None, None, 3], tf.float32),
            tf.TensorSpec([None, crf.CURVE_SAMPLES], tf.float32),
            tf.TensorSpec([None], tf.float32),
        ],
    )
    # Grappler may rewrite the final "/ 255" as "* (1/255)" (1 ulp): the 8-bit codes are what must match.
    for count, height in ((4, 24), (1, 16)):  # two shapes, one graph
        inputs = (hdr[:count, :height], curves[:count], exposure[:count])
        ldr = compiled(*inputs).numpy()
        codes, expected = reference_ldr(*inputs)
        np.testing.assert_array_equal(np.rint(ldr * 255.0).astype(np.uint8), codes)
        np.testing.assert_allclose(ldr, expected, rtol=2e-7, atol=0)


def test_nonlinear_stage_has_gradients_wrt_curve_and_radiance(scene):
    hdr, curves, exposure = scene
    curves = tf.Variable(curves)
    hdr = tf.Variable(hdr)
    with tf.GradientTape() as tape:
        nonlinear = camera.forward(hdr, curves, exposure).nonlinear
        total = tf.reduce_sum(nonlinear)
    curve_grad, hdr_grad = tape.gradient(total, [curves, hdr])
    assert curve_grad is not None and hdr_grad is not None
    # Each pixel is a convex combination of two curve samples: its weights sum to 1.
    np.testing.assert_allclose(curve_grad.numpy().sum(axis=1), np.full(4, 24 * 32 * 3), rtol=1e-5)
    exposed = hdr.numpy() * exposure[:, None, None, None]
    inside = (exposed > 0.01) & (exposed < 0.99)
    outside = exposed > 1.0
    assert np.all(hdr_grad.numpy()[inside] > 0)  # response curves rise, and so does the image
    assert np.all(hdr_grad.numpy()[outside] == 0)  # clipped: no gradient, as the maths says


def test_sensor_noise_is_seeded_and_stays_in_range():
    linear = tf.random.stateless_uniform([2, 16, 16, 3], seed=[0, 1])
    first = camera.add_sensor_noise(linear, seed=tf.constant([3, 4]))
    np.testing.assert_array_equal(first.numpy(), camera.add_sensor_noise(linear, seed=tf.constant([3, 4])).numpy())
    other = camera.add_sensor_noise(linear, seed=tf.constant([5, 6])).numpy()
    assert not np.array_equal(first.numpy(), other)
    assert first.numpy().min() >= 0.0 and first.numpy().max() <= 1.0
    assert 0 < np.abs(first.numpy() - linear.numpy()).mean() < 0.1
    silent = camera.add_sensor_noise(linear, seed=tf.constant([3, 4]), shot_range=(0.0, 0.0), read_range=(0.0, 0.0))
    np.testing.assert_array_equal(silent.numpy(), linear.numpy())


def test_sensor_noise_in_tf_function():
    noisy = tf.function(lambda image, seed: camera.add_sensor_noise(image, seed))
    linear = tf.fill([1, 8, 8, 3], 0.5)
    np.testing.assert_array_equal(
        noisy(linear, tf.constant([1, 2])).numpy(), camera.add_sensor_noise(linear, tf.constant([1, 2])).numpy()
    )


def _ldr_batch():
    ramp = tf.linspace(0.0, 1.0, 32)
    image = tf.stack([ramp[None, :] * tf.ones([32, 1]), ramp[:, None] * tf.ones([1, 32]), tf.fill([32, 32], 0.5)], -1)
    return camera.quantize(tf.stack([image, image[::-1]]))


def test_jpeg_compress_is_seeded_and_stays_in_range():
    ldr = _ldr_batch()
    first = camera.jpeg_compress(ldr, seed=tf.constant([1, 2]), quality_range=(10, 95)).numpy()
    again = camera.jpeg_compress(ldr, seed=tf.constant([1, 2]), quality_range=(10, 95)).numpy()
    np.testing.assert_array_equal(first, again)
    assert first.shape == ldr.shape and first.dtype == np.float32
    assert first.min() >= 0.0 and first.max() <= 1.0
    np.testing.assert_allclose(first * 255, np.rint(first * 255), atol=1e-4)  # still an 8-bit image
    seeds = [camera.jpeg_compress(ldr, seed=tf.constant([s, 0]), quality_range=(10, 95)).numpy() for s in range(4)]
    assert any(not np.array_equal(seeds[0], other) for other in seeds[1:])


def test_jpeg_quality_range_controls_the_damage():
    ldr = _ldr_batch()
    error = {
        quality: np.abs(camera.jpeg_compress(ldr, tf.constant([0, 0]), (quality, quality)).numpy() - ldr.numpy()).mean()
        for quality in (5, 100)
    }
    assert error[100] < 2.0 / 255 < error[5]


def test_jpeg_compress_in_tf_function():
    compress = tf.function(lambda image, seed: camera.jpeg_compress(image, seed, (50, 50)))
    ldr = _ldr_batch()
    np.testing.assert_array_equal(
        compress(ldr, tf.constant([7, 7])).numpy(), camera.jpeg_compress(ldr, tf.constant([7, 7]), (50, 50)).numpy()
    )
