"""The HDR-SYNTH training pairs as a ``tf.data`` pipeline.

Element ``i`` of a dataset is a pure function of ``(seed, i)``: every random draw is a stateless
TensorFlow op seeded from them, so batches do not depend on parallelism or timing, and a run
resumes at any batch with ``start_batch``. The whole pipeline is TensorFlow (no Python in the
loop), so it runs on all cores and can be saved in a ``tf.train.Checkpoint``.

One element, in the order of the camera (eq. (1) of the paper, ``L = Q(F(C(H)))``):

1. the image: each epoch visits every file (and the ``procedural_scenes`` dead-leaves scenes of
   :mod:`.procedural`) once, in an order shuffled from ``(seed, epoch)``;
2. geometry (:mod:`.geometry`): a flat crop rescaled by a random factor or, for panoramas, a
   pinhole view at a random direction and field of view (flat crops of panoramas stay in the
   middle band, away from the stretched poles); a random flip and 90-degree rotation;
3. photometry, on the linear crop ``X`` with luminance ``Y`` (mean of R, G, B)::

       H = v * (X / percentile(Y, q)) ** p * wb

   ``q`` uniform in ``exposure_percentile_range`` (50-99.9), ``v`` log-uniform in
   ``exposure_value_range`` (0.1-1.5), ``p`` log-uniform in ``power_range`` (off by default) and
   ``wb`` per-channel gains in ``white_balance_range``. The brightness the networks see is thus
   drawn afresh for every crop, whatever the scene's own units and brightness: ``q = 99.9,
   v = 0.1`` leaves a crop dark with nothing clipped, ``q = 50, v = 1.5`` clips over half of it.
   ``H`` is the ``"hdr"`` target: radiance in units where the clipping level is 1;
4. a response curve ``F``: a DoRF training-split curve or, with probability
   ``modern_curve_fraction``, a modern camera encoding (:mod:`singlehdr_tf.modern_curves`); the
   DoRF test split only for ``curves="test"``. With ``curves_per_crop = k``, elements ``k i`` to
   ``k i + k - 1`` share the crop and exposure of step 1-3 and differ in the curve (and noise);
5. :func:`singlehdr_tf.camera.forward` (clip, curve, quantize); with ``sensor_noise`` the input
   is made from the exposed image plus noise (before clipping, as on a sensor), with ``jpeg`` it
   is then re-encoded. The targets stay noise- and JPEG-free.
"""

from __future__ import annotations

import math
import os

import numpy as np
import tensorflow as tf

from singlehdr_tf import camera, crf, modern_curves
from singlehdr_tf.data import geometry, procedural
from singlehdr_tf.data.config import DataConfig
from singlehdr_tf.data.loading import build_pyramid, list_hdr_files, load_hdr_images
from singlehdr_tf.errors import SingleHDRError

CURVE_SETS = ("train", "test", "held_out")

PERCENTILE_STRIDE = 2
"""The exposure percentile is taken over every 2nd pixel of every 2nd row (a quarter of the crop)."""

_ENDLESS = 1 << 62
_EPOCH_STREAM, _ELEMENT_STREAM, _CURVE_STREAM, _CURVE_CHOICE_STREAM = 1, 2, 3, 4  # tags keeping the streams apart


def _log_uniform(seed: tf.Tensor, bounds: tuple[float, float], shape=()) -> tf.Tensor:
    return tf.exp(tf.random.stateless_uniform(shape, seed, math.log(bounds[0]), math.log(bounds[1])))


def _percentile(values: tf.Tensor, q: tf.Tensor) -> tf.Tensor:
    """The ``q``-th percentile of a 1-D tensor, linearly interpolated (as ``numpy.percentile``)."""
    ordered = tf.sort(values)
    position = q / 100.0 * tf.cast(tf.size(ordered) - 1, tf.float32)
    below = tf.floor(position)
    lower = tf.gather(ordered, tf.cast(below, tf.int32))
    upper = tf.gather(ordered, tf.minimum(tf.cast(below, tf.int32) + 1, tf.size(ordered) - 1))
    return lower + (position - below) * (upper - lower)


def expose(seed: tf.Tensor, linear: tf.Tensor, config: DataConfig) -> tf.Tensor:
    """Step 3 above: random exposure, contrast power and white balance of a linear crop
    ``[S, S, 3]``, independent of the crop's absolute brightness."""
    seeds = tf.random.experimental.stateless_split(seed, 4)
    luminance = tf.reduce_mean(linear[::PERCENTILE_STRIDE, ::PERCENTILE_STRIDE], axis=-1)
    q = tf.random.stateless_uniform([], seeds[0], *config.exposure_percentile_range)
    reference = _percentile(tf.reshape(luminance, [-1]), q)
    # A mostly black crop: normalise by its brightest pixel instead (an all-black one stays black).
    reference = tf.where(reference > 0.0, reference, tf.maximum(tf.reduce_max(luminance), 1e-8))
    power = _log_uniform(seeds[1], config.power_range)
    value = _log_uniform(seeds[2], config.exposure_value_range)
    white_balance = _log_uniform(seeds[3], config.white_balance_range, [3])
    return value * tf.pow(linear / reference, power) * white_balance


def _curve_bank(curves: str, config: DataConfig, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """``(F [N, 1024], F^-1 [N, 1024], number of DoRF rows first)`` to draw curves from."""
    if curves != "train":  # DoRF curves only: the test split or the training curves the run left out
        dorf = crf.test_curves() if curves == "test" else crf.held_out_training_curves(config.held_out_dorf_curves)
        return dorf, crf.invert_curve(dorf), len(dorf)
    dorf = crf.training_curves(config.held_out_dorf_curves)
    modern, _, _ = modern_curves.sample_modern_curves(np.random.default_rng([seed, _CURVE_STREAM]), config.modern_curves)
    bank = np.concatenate([dorf, modern])
    return bank, crf.invert_curve(bank), len(dorf)


def _camera(hdr: tf.Tensor, curve: tf.Tensor, inverse: tf.Tensor, seed: tf.Tensor, config: DataConfig) -> dict:
    """Step 5 on one element ``[S, S, 3]``: the 8-bit input and every supervision target."""
    hdr, curve = hdr[None], curve[None]
    stages = camera.forward(hdr, curve)
    ldr = stages.ldr
    noise_seed, jpeg_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    if config.sensor_noise:
        noisy = camera.add_sensor_noise(hdr, noise_seed, config.shot_noise_range, config.read_noise_range)
        ldr = camera.quantize(crf.apply_curve(noisy, curve))
    if config.jpeg:
        ldr = camera.jpeg_compress(ldr, jpeg_seed, config.jpeg_quality_range)
    return {
        "ldr": ldr[0],
        "nonlinear": stages.nonlinear[0],
        "clipped": stages.clipped[0],
        "inverse_crf": inverse,
        "hdr": hdr[0],
    }


def make_dataset(
    hdr_dir: str | os.PathLike | None,
    config: DataConfig | None = None,
    *,
    batch_size: int,
    seed: int,
    curves: str = "train",
    repeat: bool = True,
    files: list[str | os.PathLike] | None = None,
    start_batch: int = 0,
) -> tf.data.Dataset:
    """Batches of synthetic training pairs from the HDR images in ``hdr_dir`` (or ``files``).

    Args:
        hdr_dir: folder of ``.hdr``/``.exr`` files; ignored when ``files`` is given.
        config: the augmentations (:class:`DataConfig`; defaults when None).
        batch_size: images per batch.
        seed: non-negative; the same seed gives the same batches.
        curves: ``"train"`` (DoRF training split mixed with modern encodings), ``"test"``
            (the held-out DoRF curves only, for evaluation) or ``"held_out"`` (the
            ``config.held_out_dorf_curves`` training-split curves the run left out).
        repeat: endless, full batches only, when True; otherwise one epoch (one crop of each
            image, the last batch may be smaller).
        files: an explicit list of HDR files (e.g. the training scenes minus some held out).
        start_batch: skip this many batches at no cost (resume a run at its data position).

    Returns:
        A dataset of dicts of float32 tensors: ``"ldr"`` ``[B, S, S, 3]`` (the 8-bit input in
        [0, 1]), ``"nonlinear"`` ``F(C(H))`` and ``"clipped"`` ``C(H)`` ``[B, S, S, 3]``,
        ``"inverse_crf"`` ``[B, 1024]`` (the true ``F^-1``) and ``"hdr"`` ``H`` ``[B, S, S, 3]``.
    """
    config = config or DataConfig()
    if curves not in CURVE_SETS:
        raise SingleHDRError(f"make_dataset: curves must be one of {CURVE_SETS}, got {curves!r}")
    if curves == "held_out" and config.held_out_dorf_curves == 0:
        raise SingleHDRError("make_dataset: curves='held_out' needs data config held_out_dorf_curves > 0")
    if seed < 0 or batch_size < 1 or start_batch < 0:
        raise SingleHDRError(
            f"make_dataset: need seed >= 0, batch_size >= 1, start_batch >= 0 (got {seed}, {batch_size}, {start_batch})"
        )
    if files is None:
        if hdr_dir is None:
            raise SingleHDRError("make_dataset: give hdr_dir or files")
        files = list_hdr_files(hdr_dir)
    pyramids = [pyramid for _, pyramid in load_hdr_images(files, config.max_side)]
    scenes = procedural.dead_leaves_scenes(config.procedural_scenes, seed, config.max_side)
    pyramids += [build_pyramid(scene) for scene in scenes]
    images = geometry.ImagePyramids(pyramids)
    bank, bank_inverse, dorf_count = _curve_bank(curves, config, seed)
    bank, bank_inverse = tf.constant(bank), tf.constant(bank_inverse)
    modern_fraction = config.modern_curve_fraction if curves == "train" else 0.0
    per_crop = config.curves_per_crop
    key = tf.constant([seed, 0], tf.int64)
    fold = tf.random.experimental.stateless_fold_in
    size = config.crop_size

    def element(index: tf.Tensor) -> dict:
        crop_index = index // per_crop
        epoch_seed = fold(fold(key, _EPOCH_STREAM), crop_index // images.count)
        order = tf.argsort(tf.random.stateless_uniform([images.count], epoch_seed))
        image = tf.cast(order[crop_index % images.count], tf.int64)
        seeds = tf.random.experimental.stateless_split(fold(fold(key, _ELEMENT_STREAM), crop_index), 4)
        curve_seeds = tf.random.experimental.stateless_split(fold(fold(key, _CURVE_CHOICE_STREAM), index), 3)
        height, width = images.shape(image)
        panorama = images.panorama[image]
        perspective = panorama & (tf.random.stateless_uniform([], seeds[0]) < config.perspective_fraction)
        grid, shrink = tf.cond(
            perspective,
            lambda: geometry.perspective_grid(seeds[1], width, size, config.fov_range, config.max_pitch),
            lambda: geometry.flat_grid(
                seeds[1], height, width, size, config.scale_range, tf.where(panorama, config.panorama_band, 1.0)
            ),
        )
        grid = geometry.flip_and_rotate(seeds[2], grid, config.flip, config.rotate90)
        hdr = expose(seeds[3], images.sample(image, grid, shrink, wrap=panorama), config)
        # Rows [0, dorf_count) of the bank are DoRF curves, the rest modern encodings.
        use_modern = tf.random.stateless_uniform([], curve_seeds[0]) < modern_fraction
        position = tf.random.stateless_uniform([], curve_seeds[1])
        row = tf.cast(
            tf.where(use_modern, dorf_count + position * (bank.shape[0] - dorf_count), position * dorf_count), tf.int32
        )
        return _camera(hdr, bank[row], bank_inverse[row], curve_seeds[2], config)

    start = start_batch * batch_size
    stop = _ENDLESS if repeat else images.count * per_crop
    dataset = tf.data.Dataset.range(start, max(start, stop))
    dataset = dataset.map(element, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.batch(batch_size, drop_remainder=repeat)
    return dataset.prefetch(tf.data.AUTOTUNE)
