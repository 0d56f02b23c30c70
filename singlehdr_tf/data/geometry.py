"""Where a training crop's pixels come from: flat crops, pinhole views of equirectangular
panoramas, flips and 90-degree rotations, and bilinear sampling from an image pyramid.

Everything runs in TensorFlow (inside ``tf.data`` maps, without the Python lock) and draws its
randomness with stateless ops from a ``seed`` of shape ``[2]``. A crop is described by a *grid*:
``[S, S, 2]`` sampling positions ``(v, u)`` as fractions of the image's height and width (so one
grid serves every pyramid level), plus ``shrink``, the number of finest-level pixels per output
pixel, which picks the pyramid level.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

PANORAMA_ASPECT_TOLERANCE = 0.02
"""An image is an equirectangular panorama when its width / height is 2 within 2% (1000x500 is)."""


def is_panorama(height: int, width: int) -> bool:
    """True for a 2:1 (equirectangular 360 x 180 degree) image size."""
    return abs(width / height - 2.0) <= 2.0 * PANORAMA_ASPECT_TOLERANCE


def _uniform(seed: tf.Tensor, low, high) -> tf.Tensor:
    return tf.random.stateless_uniform([], seed, tf.cast(low, tf.float32), tf.cast(high, tf.float32))


def flat_grid(
    seed: tf.Tensor, height: tf.Tensor, width: tf.Tensor, size: int, scale_range: tuple[float, float], band: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """A random axis-aligned crop: ``(grid [size, size, 2], shrink)``.

    The scale (finest-level pixels per output pixel) is drawn log-uniformly from ``scale_range``
    and reduced when the crop would not fit. The crop stays inside the middle ``band`` (a fraction
    of the height); ``band < 1`` marks a panorama, whose crops may also wrap around horizontally.
    """
    seeds = tf.random.experimental.stateless_split(seed, 3)
    height, width = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    usable_height = height * band
    scale = tf.exp(_uniform(seeds[0], math.log(scale_range[0]), math.log(scale_range[1])))
    scale = tf.minimum(scale, tf.minimum(usable_height, width) / size)
    side = scale * size
    top = height * (1.0 - band) / 2.0 + _uniform(seeds[1], 0.0, usable_height - side)
    left = _uniform(seeds[2], 0.0, tf.where(band < 1.0, width, width - side))
    steps = (tf.range(size, dtype=tf.float32) + 0.5) * scale
    v, u = tf.meshgrid((top + steps) / height, (left + steps) / width, indexing="ij")
    return tf.stack([v, u], axis=-1), scale


def perspective_grid(
    seed: tf.Tensor, width: tf.Tensor, size: int, fov_range: tuple[float, float], max_pitch: float
) -> tuple[tf.Tensor, tf.Tensor]:
    """A random pinhole view of an equirectangular panorama: ``(grid [size, size, 2], shrink)``.

    Yaw is uniform, pitch uniform in ``+-max_pitch`` degrees and the horizontal field of view
    uniform in ``fov_range`` degrees. Each output pixel's ray is tilted (pitch), turned (yaw) and
    converted to longitude and latitude, i.e. to panorama coordinates.
    """
    seeds = tf.random.experimental.stateless_split(seed, 3)
    fov = _uniform(seeds[0], math.radians(fov_range[0]), math.radians(fov_range[1]))
    yaw = _uniform(seeds[1], -math.pi, math.pi)
    pitch = _uniform(seeds[2], -math.radians(max_pitch), math.radians(max_pitch))
    focal = 0.5 * size / tf.tan(0.5 * fov)
    coords = tf.range(size, dtype=tf.float32) + 0.5 - 0.5 * size
    ray_y, ray_x = tf.meshgrid(-coords, coords, indexing="ij")  # x right, y up, z forward
    ray_z = tf.fill(tf.shape(ray_x), focal)
    ray_y, ray_z = (
        tf.cos(pitch) * ray_y + tf.sin(pitch) * ray_z,
        -tf.sin(pitch) * ray_y + tf.cos(pitch) * ray_z,
    )
    longitude = tf.atan2(ray_x, ray_z) + yaw
    latitude = tf.atan2(ray_y, tf.sqrt(ray_x**2 + ray_z**2))
    grid = tf.stack([0.5 - latitude / math.pi, longitude / (2.0 * math.pi) + 0.5], axis=-1)
    shrink = (fov / size) / (2.0 * math.pi / tf.cast(width, tf.float32))
    return grid, shrink


def flip_and_rotate(seed: tf.Tensor, grid: tf.Tensor, flip: bool, rotate90: bool) -> tf.Tensor:
    """Randomly mirror a grid ``[S, S, 2]`` left-right and turn it by a multiple of 90 degrees
    (the same as doing so to the sampled image, but on two channels instead of three)."""
    seeds = tf.random.experimental.stateless_split(seed, 2)
    if flip:
        mirror = tf.random.stateless_uniform([], seeds[0]) < 0.5
        grid = tf.where(mirror, grid[:, ::-1], grid)
    if rotate90:
        grid = tf.image.rot90(grid, tf.random.stateless_uniform([], seeds[1], 0, 4, dtype=tf.int32))
    return grid


class ImagePyramids:
    """Image pyramids packed into one ``[N, 3]`` float32 tensor, sampled bilinearly by grid.

    Args:
        pyramids: per image, a list of ``[H, W, 3]`` levels, finest first, each half the last.
    """

    def __init__(self, pyramids: list[list[np.ndarray]]):
        levels = [level for pyramid in pyramids for level in pyramid]
        sizes = np.array([level.shape[0] * level.shape[1] for level in levels], dtype=np.int64)
        self.pixels = tf.constant(np.concatenate([level.reshape(-1, 3) for level in levels]))
        self.level_offset = tf.constant(np.concatenate([[0], np.cumsum(sizes)[:-1]]), tf.int64)
        self.level_shape = tf.constant([level.shape[:2] for level in levels], tf.int64)
        counts = [len(pyramid) for pyramid in pyramids]
        self.first_level = tf.constant(np.concatenate([[0], np.cumsum(counts)[:-1]]), tf.int64)
        self.level_count = tf.constant(counts, tf.int64)
        self.panorama = tf.constant([is_panorama(*pyramid[0].shape[:2]) for pyramid in pyramids])
        self.count = len(pyramids)

    def shape(self, image: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """``(height, width)`` of an image's finest level."""
        level_shape = self.level_shape[self.first_level[image]]
        return level_shape[0], level_shape[1]

    def sample(self, image: tf.Tensor, grid: tf.Tensor, shrink: tf.Tensor, wrap: tf.Tensor) -> tf.Tensor:
        """Bilinear samples ``[S, S, 3]`` of ``image`` at ``grid``, from the coarsest level that still
        has at least one pixel per output pixel (no aliasing when shrinking by up to 2x per level).
        Rows clamp at the border; columns clamp, or wrap around if ``wrap`` (a panorama's seam)."""
        level = tf.cast(tf.floor(tf.math.log(tf.maximum(shrink, 1.0)) / math.log(2.0)), tf.int64)
        level = self.first_level[image] + tf.minimum(level, self.level_count[image] - 1)
        height, width = self.level_shape[level][0], self.level_shape[level][1]
        y = grid[..., 0] * tf.cast(height, tf.float32) - 0.5
        x = grid[..., 1] * tf.cast(width, tf.float32) - 0.5
        y0, x0 = tf.floor(y), tf.floor(x)
        fy, fx = (y - y0)[..., None], (x - x0)[..., None]
        y0, x0 = tf.cast(y0, tf.int64), tf.cast(x0, tf.int64)
        x1 = tf.where(wrap, tf.math.floormod(x0 + 1, width), tf.clip_by_value(x0 + 1, 0, width - 1))
        x0 = tf.where(wrap, tf.math.floormod(x0, width), tf.clip_by_value(x0, 0, width - 1))
        y1, y0 = tf.clip_by_value(y0 + 1, 0, height - 1), tf.clip_by_value(y0, 0, height - 1)
        offset = self.level_offset[level]

        def at(rows, columns):
            return tf.gather(self.pixels, offset + rows * width + columns)

        top = at(y0, x0) * (1.0 - fx) + at(y0, x1) * fx
        bottom = at(y1, x0) * (1.0 - fx) + at(y1, x1) * fx
        return top * (1.0 - fy) + bottom * fy
