"""Finding and decoding the HDR images of a training folder, once per process.

Each image is decoded with :func:`singlehdr_tf.io.read_hdr` (alpha dropped, negatives and
non-finite values set to 0), downscaled so its longer side is at most ``max_side`` and kept in
memory as a small pyramid (each level half the previous, by 2x2 averaging), so crops that shrink
the image sample a level close to their scale instead of aliasing. A file that cannot be used is
reported once, with a logging warning naming it, and skipped.
"""

from __future__ import annotations

import logging
import os
import pathlib
import threading

import numpy as np
import tensorflow as tf

from singlehdr_tf import io
from singlehdr_tf.errors import SingleHDRError

logger = logging.getLogger(__name__)

EXTENSIONS = (".hdr", ".exr")
"""File types :func:`list_hdr_files` picks up (case-insensitive)."""

MIN_LEVEL_SIDE = 32
"""The pyramid stops before a level's shorter side would drop below this."""

_cache: dict[tuple, list[np.ndarray] | None] = {}
_cache_lock = threading.Lock()


def list_hdr_files(hdr_dir: str | os.PathLike) -> list[pathlib.Path]:
    """The ``.hdr`` and ``.exr`` files directly inside ``hdr_dir``, sorted by name.

    Raises :class:`SingleHDRError` if the folder does not exist or holds no such file.
    """
    folder = pathlib.Path(hdr_dir)
    if not folder.is_dir():
        raise SingleHDRError(f"{os.fspath(folder)}: not a folder of HDR images")
    files = sorted(path for path in folder.iterdir() if path.suffix.lower() in EXTENSIONS and path.is_file())
    if not files:
        raise SingleHDRError(f"{os.fspath(folder)}: no HDR images ({', '.join(EXTENSIONS)}) in this folder")
    return files


def _downscale(image: np.ndarray, max_side: int) -> np.ndarray:
    height, width = image.shape[:2]
    factor = max_side / max(height, width)
    if factor >= 1.0:
        return image
    size = (max(1, round(height * factor)), max(1, round(width * factor)))
    return tf.image.resize(image, size, method="area").numpy()


def build_pyramid(image: np.ndarray) -> list[np.ndarray]:
    """``image`` and its 2x2-averaged halvings, finest first, down to :data:`MIN_LEVEL_SIDE`."""
    levels = [image]
    while min(levels[-1].shape[:2]) >= 2 * MIN_LEVEL_SIDE:
        top = levels[-1]
        height, width = top.shape[0] // 2 * 2, top.shape[1] // 2 * 2
        levels.append(top[:height, :width].reshape(height // 2, 2, width // 2, 2, 3).mean(axis=(1, 3)))
    return levels


def _decode(path: pathlib.Path, max_side: int) -> list[np.ndarray]:
    image = io.read_hdr(path)
    if not np.any(image > 0):
        raise SingleHDRError(f"{os.fspath(path)}: no positive finite pixel (all zero or not a number)")
    return build_pyramid(_downscale(image, max_side))


def load_hdr_images(
    files: list[str | os.PathLike], max_side: int = 1024
) -> list[tuple[pathlib.Path, list[np.ndarray]]]:
    """Decode ``files`` (each once per process; later calls reuse the cache) into
    ``(path, pyramid)`` pairs; a pyramid is a list of ``[H, W, 3]`` float32 levels, finest first.

    Unusable files (unreadable, corrupt, empty, all zero) are logged once and left out. Raises
    :class:`SingleHDRError` when no file is usable.
    """
    if not files:
        raise SingleHDRError("load_hdr_images: no HDR files given")
    loaded = []
    for path in map(pathlib.Path, files):
        stat = path.stat() if path.is_file() else None
        key = (os.fspath(path.resolve()), stat and stat.st_mtime_ns, stat and stat.st_size, max_side)
        with _cache_lock:
            known = key in _cache
            pyramid = _cache.get(key)
        if not known:
            try:
                pyramid = _decode(path, max_side)
            except SingleHDRError as error:
                logger.warning("skipping HDR file %s", error)
                pyramid = None
            with _cache_lock:
                _cache[key] = pyramid
        if pyramid is not None:
            loaded.append((path, pyramid))
    if not loaded:
        names = ", ".join(os.fspath(path) for path in files[:3]) + (" ..." if len(files) > 3 else "")
        raise SingleHDRError(f"{names}: none of these {len(files)} files is a usable HDR image")
    return loaded
