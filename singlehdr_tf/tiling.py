"""Tiles for photos too large to run whole: spans aligned to the networks' downsampling factor,
overlapping, and blended by complementary linear ramps so no seam shows (see :mod:`singlehdr_tf.api`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


def size_multiple(model) -> int:
    """The largest downsampling factor of the model's image networks: tile offsets must be
    multiples of it for the tiles' pooling grids to match the whole image's."""
    refinement = (model.refinement.unet.multiple,) if model.use_refinement else ()
    return max(model.dequantization.unet.multiple, model.hallucination.multiple, *refinement)


def tile_spans(length: int, tile: int, overlap: int, multiple: int) -> list[tuple[int, int]]:
    """``[start, end)`` spans of tiles covering ``[0, length)`` along one axis.

    Starts are multiples of ``multiple``; neighbours overlap by at least ``overlap`` pixels; every
    tile is ``tile`` long except the last, which ends at ``length`` (``tile`` to
    ``tile + multiple - 1`` long). ``tile`` and ``overlap`` must be multiples of ``multiple``.
    """
    last = (length - tile) // multiple * multiple
    if last <= 0:
        return [(0, length)]
    count = math.ceil((length - overlap) / (tile - overlap))
    starts = sorted({(index * last // (count - 1)) // multiple * multiple for index in range(count)})
    return [(start, start + tile) for start in starts[:-1]] + [(last, length)]


def _ramp(position: np.ndarray, start: int, end: int, margin: int) -> np.ndarray:
    """0 on the first ``margin`` pixels of ``[start, end)``, 1 from ``margin`` before its end, linear between."""
    return np.clip((position - start - margin + 0.5) / (end - start - 2 * margin), 0.0, 1.0)


def blend_weights(spans: list[tuple[int, int]], margin: int) -> list[np.ndarray]:
    """Per span, float32 blending weights along its length: 1 inside, complementary linear ramps
    where it overlaps a neighbour (each neighbour's outer ``margin`` pixels get 0), so that the
    weights of all tiles sum to 1 at every position."""
    weights = []
    for index, (start, end) in enumerate(spans):
        position = np.arange(start, end, dtype=np.float64)
        weight = np.ones(end - start)
        if index > 0:
            weight *= _ramp(position, start, spans[index - 1][1], margin)
        if index + 1 < len(spans):
            weight *= 1.0 - _ramp(position, spans[index + 1][0], end, margin)
        weights.append(weight.astype(np.float32))
    return weights


def run_tiled(function: Callable[[np.ndarray], dict], image: np.ndarray, tile_size: int, overlap: int,
              multiple: int, keep: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """Run ``function`` (``[1, h, w, C] -> {name: [1, h, w, 3]}``) on overlapping tiles of
    ``image`` ``[H, W, C]`` (:func:`tile_spans`) and blend the outputs named in ``keep`` (all if
    None) with :func:`blend_weights`, each tile's outer ``overlap // 4`` pixels ignored."""
    margin = overlap // 4
    axes = []
    for length in image.shape[:2]:
        spans = tile_spans(length, tile_size, overlap, multiple)
        axes.append(list(zip(spans, blend_weights(spans, margin))))
    sums: dict[str, np.ndarray] = {}
    total = np.zeros(image.shape[:2], np.float32)
    for (top, bottom), row_weight in axes[0]:
        for (left, right), column_weight in axes[1]:
            outputs = function(np.ascontiguousarray(image[None, top:bottom, left:right]))
            weight = row_weight[:, None] * column_weight[None, :]
            total[top:bottom, left:right] += weight
            for name, value in outputs.items():
                if keep is not None and name not in keep:
                    continue
                if name not in sums:
                    sums[name] = np.zeros(image.shape[:2] + (3,), np.float32)
                sums[name][top:bottom, left:right] += weight[..., None] * np.asarray(value)[0]
    for value in sums.values():
        value /= total[..., None]
    return sums
