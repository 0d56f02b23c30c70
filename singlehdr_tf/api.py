"""Load a model and reconstruct linear HDR from a photo of any size.

:func:`load` finds a model by name (shipped with the package) or by path; a :class:`Reconstructor`
runs it on one photo, from 32x32 pixels to tens of megapixels:

* up to ``max_pixels`` pixels the whole image goes through the model at once;
* beyond, memory stays bounded by the tile size: the Dequantization-Net runs on overlapping tiles,
  the camera curve is estimated once on a downscaled copy of the dequantized image (the
  Linearization-Net's own ``size``, or ``max_pixels`` for a net without one), and the
  Hallucination- and Refinement-Nets run on overlapping tiles with that one curve.

Tiles start at multiples of the networks' downsampling factor (so pooling grids line up with the
whole image's) and overlap by at least ``tile_overlap`` pixels. In an overlap each tile ignores its
outer ``tile_overlap // 4`` pixels, where its own zero padding shows, and the two tiles are blended
by complementary linear ramps in between, so no seam shows.

Example:
    >>> import numpy as np, singlehdr_tf
    >>> reconstructor = singlehdr_tf.load("runs/lite")  # doctest: +SKIP
    >>> hdr = reconstructor.reconstruct(np.zeros((64, 96, 3), np.uint8))  # doctest: +SKIP
    >>> hdr.shape, hdr.dtype  # doctest: +SKIP
    ((64, 96, 3), dtype('float32'))
"""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from singlehdr_tf import crf, gainmap, io, models, tiling
from singlehdr_tf.errors import SingleHDRError
from singlehdr_tf.loading import MIN_SIZE, build_variables, load_model
from singlehdr_tf.models.precision import POLICIES as precision_policies
from singlehdr_tf.models.precision import dtype_policy, resolve_precision

DEFAULT_MAX_PIXELS = 1 << 21
"""Images up to this many pixels (2 megapixels) run whole; larger ones in tiles."""
DEFAULT_TILE_SIZE = 1536  # 24 MP 4:3 in 4 x 3 tiles: 1.18x the pixels computed, against 1.53x with 1024
DEFAULT_TILE_OVERLAP = 128

OUTPUT_FORMATS = ("exr", "hdr", "uhdr")
"""``file_format`` values of :meth:`Reconstructor.reconstruct_file`: OpenEXR float, Radiance RGBE,
or an Ultra HDR (gain-map) JPEG."""

_FLOAT_TOLERANCE = 1e-3  # float inputs may exceed [0, 1] by rounding noise, which is clipped


def load(name_or_path: str | os.PathLike = models.DEFAULT_MODEL, *, precision: str = "float32",
         **options) -> Reconstructor:
    """A :class:`Reconstructor` for a shipped model name or a model path.

    Args:
        name_or_path: a name from :func:`shipped_model_names` (default ``"lite"``), or the path of
            a SavedModel written by :mod:`singlehdr_tf.export` (a version folder, or the model
            folder holding versions: the highest is used), a ``.keras`` file, or a training run
            folder (``model_config.json`` with ``model.weights.h5`` or ``checkpoints/``; the newer wins).
        precision: ``"float32"`` (default), ``"bfloat16"`` (the networks' convolutions in bfloat16,
            the curve, sums and outputs in float32: about twice as fast on CPUs with AVX512-BF16
            or AMX; its difference on the validation sets is in the README) or ``"auto"``
            (bfloat16 where the CPU has those instructions; the choice is logged).
        **options: :class:`Reconstructor` options (``max_pixels``, ``tile_size``, ``tile_overlap``).

    Raises:
        SingleHDRError: unknown name (the message lists the shipped ones), unreadable model, or
            weights that do not fit their model config (the message names the config).
    """
    model = load_model(name_or_path)
    policy = precision_policies[resolve_precision(precision)]
    if policy != "float32":
        with dtype_policy(policy):
            model = models.rebuild_model(model)
    return Reconstructor(model, **options)


class Reconstructor:
    """Runs a :class:`~singlehdr_tf.models.SingleHDR` on photos of any size (see the module doc).

    Args:
        model: the Keras model (``SingleHDR``).
        max_pixels: images up to this many pixels run whole; larger ones in tiles.
        tile_size: tile side in pixels (rounded up to the networks' downsampling factor).
        tile_overlap: minimum overlap of neighbouring tiles (rounded up likewise; at most half
            of ``tile_size``).

    Example:
        >>> from singlehdr_tf import models
        >>> reconstructor = Reconstructor(models.build_model("tiny"), max_pixels=64 * 64, tile_size=48, tile_overlap=16)
        >>> reconstructor.reconstruct(np.full((80, 120, 3), 128, np.uint8)).shape  # in 2 x 4 tiles
        (80, 120, 3)
    """

    def __init__(self, model: keras.Model, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                 tile_size: int = DEFAULT_TILE_SIZE, tile_overlap: int = DEFAULT_TILE_OVERLAP):
        self.model = model
        build_variables(model)
        multiple = tiling.size_multiple(model)
        round_up = lambda value: -(-int(value) // multiple) * multiple  # noqa: E731
        self.multiple = multiple
        self.max_pixels = int(max_pixels)
        self.tile_size = round_up(tile_size)
        self.tile_overlap = round_up(tile_overlap)
        if self.max_pixels < MIN_SIZE * MIN_SIZE:
            raise SingleHDRError(f"max_pixels must be at least {MIN_SIZE * MIN_SIZE}, got {max_pixels}")
        if self.tile_overlap < 4 or 2 * self.tile_overlap > self.tile_size:
            raise SingleHDRError(f"tile_overlap ({self.tile_overlap}) must be at least 4 and at most half "
                                 f"of tile_size ({self.tile_size}) after rounding to multiples of {multiple}")
        image = tf.TensorSpec([1, None, None, 3], tf.float32)
        curve = tf.TensorSpec([1, crf.CURVE_SAMPLES], tf.float32)
        self._whole = tf.function(lambda ldr: model(ldr, training=False), input_signature=[image])
        self._dequantize = tf.function(lambda ldr: model.dequantization(ldr, training=False), input_signature=[image])
        self._inverse_crf = tf.function(model.linearization.curve, input_signature=[image])
        self._refine = tf.function(self._refine_with_curve, input_signature=[image, curve])

    def _refine_with_curve(self, dequantized, inverse_crf):
        """The stages after linearization for a given inverse curve (tiles share the whole image's)."""
        linear = crf.apply_curve(dequantized, inverse_crf)
        hallucinated = self.model.hallucination(linear, training=False)
        return {"linear": linear, "hdr": self.model.refine(hallucinated, linear, dequantized, training=False)}

    def reconstruct(self, image: np.ndarray | str | os.PathLike, return_stages: bool = False) -> np.ndarray | dict:
        """Linear HDR ``[H, W, 3]`` float32 (1 = the clipping level) from one photo.

        Args:
            image: ``[H, W, 3]`` uint8, uint16 or float in [0, 1], or an image file's path.
            return_stages: return a dict with ``hdr``, ``dequantized`` ``[H, W, 3]``, ``linear``
                ``[H, W, 3]`` and ``inverse_crf`` ``[1024]`` instead.

        Raises:
            SingleHDRError: unreadable file, wrong shape or dtype, NaN/Inf, values outside [0, 1],
                or an image smaller than 32x32.
        """
        ldr = self._prepare(image)
        if self._runs_whole(ldr):
            stages = self._whole(ldr[None])
            result = {"hdr": stages["hdr"], "dequantized": stages["dequantized"],
                      "linear": stages["linear"], "inverse_crf": stages["inverse_crf"]}
            result = {name: np.asarray(value)[0] for name, value in result.items()}
        else:
            dequantized, inverse_crf = self._tiled_dequantization_and_curve(ldr)
            result = self._tiled(lambda tile: self._refine(tile, inverse_crf[None]), dequantized,
                                 keep=("hdr", "linear") if return_stages else ("hdr",))
            result.update(dequantized=dequantized, inverse_crf=inverse_crf)
        if not return_stages:
            return result["hdr"]
        return {name: result[name] for name in ("hdr", "dequantized", "inverse_crf", "linear")}

    def camera_curve(self, image: np.ndarray | str | os.PathLike) -> np.ndarray:
        """The estimated camera response ``F`` (brightness of irradiance) ``[1024]`` float32 on
        ``linspace(0, 1, 1024)``: the inverse of the predicted inverse curve."""
        ldr = self._prepare(image)
        if self._runs_whole(ldr):
            inverse_crf = np.asarray(self._inverse_crf(self._dequantize(ldr[None])))[0]
        else:
            inverse_crf = self._tiled_dequantization_and_curve(ldr)[1]
        return crf.invert_curve(inverse_crf)

    def _runs_whole(self, ldr: np.ndarray) -> bool:
        return ldr.shape[0] * ldr.shape[1] <= self.max_pixels

    def _tiled_dequantization_and_curve(self, ldr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The dequantized image ``[H, W, 3]`` (in tiles; the photo itself where the
        Dequantization-Net is switched off) and its inverse curve ``[1024]``."""
        if self.model.dequantization.switched_off:
            dequantized = ldr
        else:
            dequantize = lambda tile: {"dequantized": self._dequantize(tile)}  # noqa: E731
            dequantized = self._tiled(dequantize, ldr)["dequantized"]
        return dequantized, self._estimate_curve(dequantized)

    def _estimate_curve(self, dequantized: np.ndarray) -> np.ndarray:
        """The inverse curve ``[1024]`` of the full dequantized image ``[H, W, 3]``.

        A Linearization-Net with a fixed input ``size`` (``lite``) area-resizes the image itself,
        as it does for a whole image, so the curve is the whole image's; one that works at full
        resolution (``size=None``, the ``paper`` config) gets a copy area-downscaled to ``max_pixels``.
        """
        height, width = dequantized.shape[:2]
        small = dequantized[None]
        if self.model.linearization.size is None and height * width > self.max_pixels:
            scale = math.sqrt(self.max_pixels / (height * width))
            small = tf.image.resize(small, (max(1, int(height * scale)), max(1, int(width * scale))), method="area")
        return np.asarray(self._inverse_crf(small))[0]

    def _tiled(self, function: Callable[[np.ndarray], dict], image: np.ndarray,
               keep: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
        """Run ``function`` on overlapping tiles of ``image`` and blend the outputs (see :func:`tiling.run_tiled`)."""
        return tiling.run_tiled(function, image, self.tile_size, self.tile_overlap, self.multiple, keep)

    def _prepare(self, image: np.ndarray | str | os.PathLike) -> np.ndarray:
        """Validate a photo (array or path) and return it as float32 ``[H, W, 3]`` in [0, 1]."""
        if isinstance(image, (str, os.PathLike)):
            label, array = os.fspath(image), io.read_ldr(image)
        else:
            label, array = "input image", np.asarray(image)
        if array.ndim != 3 or array.shape[-1] != 3:
            raise SingleHDRError(f"{label}: expected an [H, W, 3] RGB image, got shape {array.shape}")
        if min(array.shape[:2]) < MIN_SIZE:
            raise SingleHDRError(f"{label}: {array.shape[1]}x{array.shape[0]} pixels is too small "
                                 f"(at least {MIN_SIZE}x{MIN_SIZE})")
        if array.dtype not in (np.uint8, np.uint16) and not np.issubdtype(array.dtype, np.floating):
            raise SingleHDRError(f"{label}: unsupported dtype {array.dtype} (expected uint8, uint16 or float in [0, 1])")
        if np.issubdtype(array.dtype, np.floating):
            if not np.isfinite(array).all():
                raise SingleHDRError(f"{label}: contains NaN or infinite values")
            low, high = float(array.min()), float(array.max())
            if low < -_FLOAT_TOLERANCE or high > 1.0 + _FLOAT_TOLERANCE:
                raise SingleHDRError(f"{label}: float values must be in [0, 1], found [{low:g}, {high:g}] "
                                     "(pass 8-bit data as uint8)")
        return io.to_float(array)

    def reconstruct_file(self, path: str | os.PathLike, out_dir: str | os.PathLike, file_format: str = "exr",
                         preview: bool = False, curve_csv: bool = False, overwrite: bool = False) -> list[pathlib.Path]:
        """Reconstruct one photo file into ``out_dir``: ``<stem>.exr``, ``<stem>.hdr`` or, for
        ``file_format="uhdr"``, the Ultra HDR JPEG ``<stem>_hdr.jpg`` (the photo with a gain map,
        :func:`singlehdr_tf.gainmap.write_gainmap_jpeg`); with ``preview``, ``<stem>_preview.png``
        (:func:`singlehdr_tf.io.write_preview`) and ``<stem>_exposures.png``
        (:func:`singlehdr_tf.io.write_exposures`); with ``curve_csv``, ``<stem>_curve.csv``
        (:func:`write_curve_csv`). Every write is atomic; existing files are only replaced with
        ``overwrite``; ``out_dir`` must be a writable folder (both checked before any work).
        Returns the written paths, in :func:`output_paths` order."""
        outputs = output_paths(path, out_dir, file_format, preview, curve_csv)
        out_dir = pathlib.Path(out_dir)
        if not out_dir.is_dir() or not os.access(out_dir, os.W_OK | os.X_OK):
            raise SingleHDRError(f"{os.fspath(path)}: output folder {os.fspath(out_dir)} is not a writable folder")
        existing = [output for output in outputs if output.exists()]
        if existing and not overwrite:
            raise SingleHDRError(f"{os.fspath(path)}: {os.fspath(existing[0])} already exists (use --overwrite)")
        stages = self.reconstruct(path, return_stages=True)
        # The photo itself for the gain map's base and the exposure strip: read again, in a
        # fraction of the networks' time.
        photo = io.read_ldr(path) if file_format == "uhdr" or preview else None
        if file_format == "uhdr":
            gainmap.write_gainmap_jpeg(outputs[0], stages["hdr"], io.to_uint8(photo))
        else:
            io.write_hdr(outputs[0], stages["hdr"])
        if preview:
            io.write_preview(outputs[1], stages["hdr"])
            io.write_exposures(outputs[2], photo, stages["hdr"])
        if curve_csv:
            write_curve_csv(outputs[-1], crf.invert_curve(stages["inverse_crf"]))
        return outputs


def output_paths(path: str | os.PathLike, out_dir: str | os.PathLike, file_format: str = "exr",
                 preview: bool = False, curve_csv: bool = False) -> list[pathlib.Path]:
    """The files :meth:`Reconstructor.reconstruct_file` writes for the photo ``path`` into
    ``out_dir``, the HDR file first: ``<stem>.exr``, ``<stem>.hdr`` or ``<stem>_hdr.jpg`` (format
    ``uhdr``), then ``<stem>_preview.png`` and ``<stem>_exposures.png``, and ``<stem>_curve.csv``
    if asked. Raises :class:`SingleHDRError` for an unknown format."""
    if file_format not in OUTPUT_FORMATS:
        raise SingleHDRError(f"{os.fspath(path)}: unknown output format {file_format!r} "
                             f"(expected one of {', '.join(OUTPUT_FORMATS)})")
    out_dir, stem = pathlib.Path(out_dir), pathlib.Path(path).stem
    outputs = [out_dir / (f"{stem}_hdr.jpg" if file_format == "uhdr" else f"{stem}.{file_format}")]
    if preview:
        outputs += [out_dir / f"{stem}_preview.png", out_dir / f"{stem}_exposures.png"]
    if curve_csv:
        outputs.append(out_dir / f"{stem}_curve.csv")
    return outputs


def write_curve_csv(path: str | os.PathLike, response: np.ndarray) -> None:
    """Write a response curve ``F`` ``[N]`` as CSV with the header ``irradiance,brightness``: one
    row per sample, irradiance on ``linspace(0, 1, N)`` (atomic)."""
    grid = crf.curve_grid(len(response))
    with io.atomic_write(path) as temporary:
        with open(temporary, "w", encoding="utf-8", newline="") as file:
            file.write("irradiance,brightness\n")
            for irradiance, brightness in zip(grid, np.asarray(response, np.float64)):
                file.write(f"{irradiance:.6f},{brightness:.6f}\n")
