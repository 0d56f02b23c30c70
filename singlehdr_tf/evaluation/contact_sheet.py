"""Contact sheets: a grid of small images a person can look at, one row per photo.

* :func:`synthetic_sheet` (a test set with ground truth): input | methods ... | ground truth,
  every HDR image tone-mapped alike within a row: :func:`singlehdr_tf.io.tonemap` with the
  exposure and white point of the row's ground truth.
* :func:`real_sheet` (real photos, no ground truth): input | each method's HDR, tone-mapped with
  its own exposure.

Run on real photos: ``singlehdr sheet LDR_DIR OUT.png --model NAME|PATH``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw

from singlehdr_tf import io
from singlehdr_tf.errors import SingleHDRError
from singlehdr_tf.evaluation import methods as methods_module

THUMBNAIL_HEIGHT = 192
"""Height of every cell, in pixels."""

GAP = 4
LABEL_HEIGHT = 16
BACKGROUND = (32, 32, 32)


def thumbnail(image: np.ndarray, height: int = THUMBNAIL_HEIGHT) -> np.ndarray:
    """``image`` ``[H, W, 3]`` (float or uint8) resized to ``height`` rows by box filtering (so HDR
    highlights are averaged, not aliased); float32."""
    image = np.asarray(image, np.float32)
    width = max(1, round(image.shape[1] * height / image.shape[0]))
    channels = [
        np.asarray(Image.fromarray(image[..., c], mode="F").resize((width, height), Image.BOX)) for c in range(3)
    ]
    return np.stack(channels, axis=-1)


def compose(rows: Sequence[Sequence[np.ndarray]], labels: Sequence[str], path: str | os.PathLike) -> None:
    """Write a grid of uint8 ``[h, w, 3]`` cells (all cells of a row as tall) with one label per
    column above the first row, as PNG (atomic)."""
    if not rows:
        raise SingleHDRError(f"{os.fspath(path)}: no rows for the contact sheet")
    columns = max(len(row) for row in rows)
    widths = [max(row[c].shape[1] for row in rows if c < len(row)) for c in range(columns)]
    heights = [max(cell.shape[0] for cell in row) for row in rows]
    sheet = Image.new(
        "RGB", (sum(widths) + GAP * (columns + 1), LABEL_HEIGHT + sum(heights) + GAP * (len(rows) + 1)), BACKGROUND
    )
    draw = ImageDraw.Draw(sheet)
    left = GAP
    for c, width in enumerate(widths):
        if c < len(labels):
            draw.text((left + 2, 2), labels[c], fill=(230, 230, 230))
        top = LABEL_HEIGHT + GAP
        for row, height in zip(rows, heights, strict=True):
            if c < len(row):
                sheet.paste(Image.fromarray(np.asarray(row[c], np.uint8)), (left, top))
            top += height + GAP
        left += width + GAP
    io.write_ldr(path, np.asarray(sheet))


def synthetic_sheet(rows: Sequence[Mapping[str, np.ndarray]], columns: Sequence[str], path: str | os.PathLike) -> None:
    """Contact sheet of a test set. Each row maps ``"input"`` to the LDR thumbnail (float in [0, 1]),
    ``"ground truth"`` and every name in ``columns`` to an HDR thumbnail (scale-aligned to the
    ground truth); columns are input, ``columns`` in order, ground truth."""
    cells = []
    for row in rows:
        reference = row["ground truth"]
        hdr_cells = [io.tonemap(row[name], reference=reference) for name in [*columns, "ground truth"]]
        cells.append([np.round(np.clip(row["input"], 0.0, 1.0) * 255.0).astype(np.uint8), *hdr_cells])
    compose(cells, ["input", *columns, "ground truth"], path)


LDR_SUFFIXES = (".png", ".jpg", ".jpeg")


def real_sheet(
    ldr_dir: str | os.PathLike,
    methods: Mapping[str, methods_module.Method],
    path: str | os.PathLike,
    max_images: int = 8,
    max_side: int = 1024,
) -> None:
    """Contact sheet of real photos without ground truth: input | each method's HDR (tone-mapped
    with its own exposure), for the first ``max_images`` photos of ``ldr_dir`` by name, each
    first downscaled (box filter) to at most ``max_side`` pixels a side."""
    folder = pathlib.Path(ldr_dir)
    if not folder.is_dir():
        raise SingleHDRError(f"{os.fspath(folder)}: not a folder of photos")
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in LDR_SUFFIXES)[:max_images]
    if not photos:
        raise SingleHDRError(f"{os.fspath(folder)}: no PNG or JPEG photos in this folder")
    rows = []
    for photo in photos:
        ldr = io.to_float(io.read_ldr(photo))
        if max(ldr.shape[:2]) > max_side:
            ldr = np.clip(thumbnail(ldr, round(ldr.shape[0] * max_side / max(ldr.shape[:2]))), 0.0, 1.0)
        cells = [np.round(thumbnail(ldr) * 255.0).astype(np.uint8)]
        for method in methods.values():
            cells.append(io.tonemap(thumbnail(methods_module.run_method(method, ldr)["hdr"])))
        rows.append(cells)
    compose(rows, ["input", *methods], path)



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``singlehdr sheet``."""
    parser.add_argument("ldr_dir", help="folder of PNG/JPEG photos")
    parser.add_argument("out", help="output PNG")
    parser.add_argument("--model", action="append", default=[], help="model name or path (repeatable)")
    parser.add_argument("--baselines", default="", help="comma-separated baselines to add (no oracle: no true curve)")
    parser.add_argument("--max-images", type=int, default=8, help="first N photos by name (default: 8)")
    parser.add_argument(
        "--max-side", type=int, default=1024, help="photos are downscaled to this longest side (default: 1024)"
    )


def run(args: argparse.Namespace) -> pathlib.Path:
    """Write the sheet described by parsed :func:`add_arguments` options; returns its path."""
    methods = methods_module.build_methods(args.model, args.baselines)
    real_sheet(args.ldr_dir, methods, args.out, args.max_images, args.max_side)
    return pathlib.Path(args.out)
