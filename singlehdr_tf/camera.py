"""The forward camera pipeline of the paper, eq. (1): ``L = Q(F(C(H)))``, plus the sensor-noise
and JPEG augmentations used in training.

``C`` clips the exposed scene radiance to [0, 1], ``F`` is a 1024-sample response curve applied by
linear interpolation (:func:`singlehdr_tf.crf.apply_curve`) and ``Q`` is 8-bit quantization
``floor(255 x + 0.5) / 255``. All functions take batched tensors ``[B, H, W, 3]`` with one curve
(``[B, 1024]``) and one exposure (``[B]``) per image, and run eagerly or inside ``tf.function``.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from singlehdr_tf import crf


def _float32(values) -> tf.Tensor:
    """``values`` (array, list, tensor or variable of any real dtype) as a float32 tensor."""
    return tf.cast(tf.convert_to_tensor(values), tf.float32)


class CameraStages(NamedTuple):
    """Every intermediate of :func:`forward`, each ``[B, H, W, 3]`` float32."""

    clipped: tf.Tensor  # C(H): exposed radiance clipped to [0, 1]
    nonlinear: tf.Tensor  # F(C(H)): the response curve applied, before quantization
    ldr: tf.Tensor  # Q(F(C(H))): the 8-bit image, as float in [0, 1]


def expose(hdr: tf.Tensor, exposure: tf.Tensor | float | None = None) -> tf.Tensor:
    """Scale the radiance ``[B, H, W, 3]`` by one exposure per image (``[B]``, scalar or None = 1)."""
    hdr = _float32(hdr)
    if exposure is None:
        return hdr
    exposure = _float32(exposure)
    return hdr * tf.reshape(exposure, [-1, 1, 1, 1])


def clip(hdr: tf.Tensor) -> tf.Tensor:
    """``C(H) = min(max(H, 0), 1)``: the sensor saturates at 1 and cannot record negative light.
    NaN counts as no light (0), as :func:`singlehdr_tf.io.read_hdr` reads it."""
    hdr = _float32(hdr)
    return tf.clip_by_value(tf.where(tf.math.is_nan(hdr), 0.0, hdr), 0.0, 1.0)


def quantize(image: tf.Tensor) -> tf.Tensor:
    """``Q(x) = floor(255 x + 0.5) / 255`` on [0, 1] (8-bit rounding; zero gradient)."""
    image = tf.clip_by_value(_float32(image), 0.0, 1.0)
    return tf.floor(image * 255.0 + 0.5) / 255.0


def forward(hdr: tf.Tensor, curves: tf.Tensor, exposure: tf.Tensor | float | None = None) -> CameraStages:
    """Run the camera: expose, clip, apply the response curve, quantize.

    Args:
        hdr: linear radiance ``[B, H, W, 3]`` (any positive scale).
        curves: response curves ``F`` ``[B, 1024]``.
        exposure: multiplier per image ``[B]`` (or scalar) applied before clipping.
    """
    clipped = clip(expose(hdr, exposure))
    # A tensor, not a tf.Variable: keras.ops passes variables through and its take_along_axis fails on them.
    nonlinear = crf.apply_curve(clipped, _float32(curves))
    return CameraStages(clipped=clipped, nonlinear=nonlinear, ldr=quantize(nonlinear))


def synthesize_ldr(hdr: tf.Tensor, curves: tf.Tensor, exposure: tf.Tensor | float | None = None) -> tf.Tensor:
    """The 8-bit LDR image ``Q(F(C(exposure * H)))`` as float32 in [0, 1], ``[B, H, W, 3]``."""
    return forward(hdr, curves, exposure).ldr


def add_sensor_noise(
    linear: tf.Tensor,
    seed: tf.Tensor,
    shot_range: tuple[float, float] = (0.0, 0.01),
    read_range: tuple[float, float] = (0.0, 0.002),
) -> tf.Tensor:
    """Heteroscedastic sensor noise on a linear image in [0, 1]: variance ``a * x + b**2``.

    ``a`` (shot) and ``b`` (read) are drawn per image, uniformly in the given ranges, from the
    stateless ``seed`` (shape ``[2]`` int), so the same seed gives the same noise (the data
    pipeline's ``sensor_noise``); the result is clipped back to [0, 1].
    """
    linear = tf.convert_to_tensor(linear, tf.float32)
    batch = tf.shape(linear)[0]
    seeds = tf.random.experimental.stateless_split(seed, 3)
    shot = tf.random.stateless_uniform([batch, 1, 1, 1], seeds[0], *shot_range)
    read = tf.random.stateless_uniform([batch, 1, 1, 1], seeds[1], *read_range)
    sigma = tf.sqrt(shot * linear + tf.square(read))
    noise = tf.random.stateless_normal(tf.shape(linear), seeds[2]) * sigma
    return tf.clip_by_value(linear + noise, 0.0, 1.0)


def jpeg_compress(ldr: tf.Tensor, seed: tf.Tensor, quality_range: tuple[int, int] = (70, 100)) -> tf.Tensor:
    """Re-encode each 8-bit image ``[B, H, W, 3]`` (float in [0, 1]) as JPEG at a quality drawn per
    image from ``quality_range`` (inclusive) with the stateless ``seed``; returns float in [0, 1]."""
    ldr = tf.convert_to_tensor(ldr, tf.float32)
    low, high = quality_range
    qualities = tf.random.stateless_uniform([tf.shape(ldr)[0]], seed, low, high + 1, dtype=tf.int32)

    def encode_one(args):
        image, quality = args
        # encode_jpeg takes the quality only as a Python int; this op takes a tensor, so it runs
        # inside tf.function. Decoded with the accurate DCT, as Pillow/libjpeg decode photos.
        return tf.image.adjust_jpeg_quality(image, quality, dct_method="INTEGER_ACCURATE")

    return tf.map_fn(encode_one, (ldr, qualities), fn_output_signature=tf.float32)
