"""Write a fixed HDR-SYNTH-style test set: LDR inputs made by the true camera pipeline from real
HDR images, with everything needed to score each stage of a reconstruction.

For every HDR image (sorted by name) one crop is cut: the largest square that fits, at most
``crop_size`` pixels a side; for equirectangular panoramas (2:1) only from the middle half of the
height, where the projection barely stretches (the poles are excluded). For each target clipped
fraction ``f`` the exposure is set so that a fraction ``f`` of the crop's pixels exceed 1 in some
channel, and the crop goes through :func:`singlehdr_tf.camera.forward` with one response curve;
curves are dealt from the chosen set in a seeded random order, so every curve is used about equally.
With ``--crfs modern`` (the fixed evaluation bank of :mod:`singlehdr_tf.modern_curves`, disjoint
from every training draw) each exposure is rendered once per curve family, so the report can break
the scores down by family; those samples are named ``ID_<family>``.

Layout of ``OUT_DIR`` (``ID`` is ``<image stem>_c<k>``, ``k`` the index of the clipped fraction):

* ``ldr/ID.png`` the 8-bit input ``Q(F(C(eH)))``; ``jpeg/ID.jpg`` the same at ``jpeg_quality``;
* ``hdr/ID.exr`` the ground truth ``eH`` (half float, at most 65504, exactly what the camera was
  given; 1 is the clipping level);
* ``clipped/ID.exr`` ``C(eH)`` (half); ``nonlinear/ID.exr`` ``F(C(eH))`` before quantization (float);
* ``inverse_crf/ID.npy`` the true inverse response curve ``F^-1``, float32 ``[1024]``;
* ``manifest.json`` every sample's source, crop, exposure, clipped fraction, curve and files.

The same arguments always give the same files (identical pixels; EXR headers carry the date).

Run: ``singlehdr synth HDR_DIR OUT_DIR [--crfs test] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from singlehdr_tf import camera, crf, io, modern_curves
from singlehdr_tf.data.geometry import is_panorama
from singlehdr_tf.data.loading import list_hdr_files
from singlehdr_tf.errors import SingleHDRError

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1

CLIP_FRACTIONS = (0.03, 0.08, 0.2)
"""Default target fractions of clipped pixels, one exposure (one sample) per fraction."""

PANORAMA_BAND = 0.5
"""Crops of panoramas stay in this middle fraction of the height (latitudes within +-45 degrees)."""

CURVE_SETS = ("test", "train", "modern", "modern_train")
"""``test``: the 10 held-out DoRF curves; ``train``: the 191 training curves; ``modern``: the
evaluation bank of modern camera encodings (:func:`singlehdr_tf.modern_curves.test_bank`);
``modern_train``: modern encodings drawn as in training from the set's seed (for release choices
on held-out training scenes, which must not see the evaluation bank)."""

HALF_MAX = float(np.finfo(np.float16).max)
"""Ground-truth values are clamped to the largest half float (65504 times the clipping level; only
the sun's disc gets there) rather than overflow to infinity."""

FOLDERS = {"ldr": ".png", "jpeg": ".jpg", "hdr": ".exr", "clipped": ".exr", "nonlinear": ".exr", "inverse_crf": ".npy"}


MODERN_TRAIN_SEED_OFFSET = 1000
"""``modern_train`` curves come from ``seed + 1000``, apart from the crops' generator."""


def _curve_groups(name: str, seed: int,
                  held_out_dorf_curves: int = 0) -> list[tuple[str | None, np.ndarray, list[dict]]]:
    """``[(family or None, curves [N, 1024], manifest facts of each curve)]`` of curve set ``name``:
    one group per family for the modern sets, one group of DoRF rows otherwise."""
    if name in ("modern", "modern_train"):
        curves, families, params = (
            modern_curves.test_bank() if name == "modern" else
            modern_curves.family_bank(seed + MODERN_TRAIN_SEED_OFFSET, modern_curves.TEST_CURVES_PER_FAMILY))
        return [
            (family, curves[[i for i, f in enumerate(families) if f == family]],
             [{"family": family, "params": p} for f, p in zip(families, params) if f == family])
            for family in modern_curves.FAMILIES
        ]
    if name not in ("test", "train"):
        raise SingleHDRError(f"--crfs {name!r}: unknown curve set (expected one of {', '.join(CURVE_SETS)})")
    if name == "test":
        rows = crf.dorf_split()[1]
    else:
        rows = crf.dorf_holdout(held_out_dorf_curves)[1] if held_out_dorf_curves else crf.dorf_split()[0]
    return [(None, crf.load_dorf()[rows], [{"dorf_row": int(row)} for row in rows])]


def _crop(rng: np.random.Generator, image: np.ndarray, crop_size: int) -> np.ndarray:
    """The largest square of ``image`` ``[H, W, 3]`` that fits (inside the middle band of a
    panorama) at a random position, downscaled (area filter) to ``crop_size`` if larger."""
    height, width = image.shape[:2]
    rows = round(height * PANORAMA_BAND) if is_panorama(height, width) else height
    side = min(rows, width)
    top = (height - rows) // 2 + int(rng.integers(rows - side + 1))
    left = int(rng.integers(width - side + 1))
    square = image[top : top + side, left : left + side]
    if side > crop_size:
        square = tf.image.resize(square, (crop_size, crop_size), method="area").numpy()
    return np.ascontiguousarray(square, dtype=np.float32)


def exposure_for_clipped_fraction(hdr: np.ndarray, fraction: float) -> float:
    """The exposure ``e`` at which a ``fraction`` of the pixels of ``hdr`` ``[H, W, 3]`` have some
    channel above 1 (``e = 1 / quantile(max channel, 1 - fraction)``)."""
    brightest = np.max(hdr, axis=-1)
    level = float(np.quantile(brightest, 1.0 - fraction))
    if not level > 0:
        level = float(brightest.max())
    if not level > 0:
        raise SingleHDRError("exposure_for_clipped_fraction: the image is black")
    return 1.0 / level


def _write_jpeg(path: pathlib.Path, ldr: np.ndarray, quality: int) -> None:
    encoded = tf.io.encode_jpeg(ldr, quality=quality, chroma_downsampling=True).numpy()
    with io.atomic_write(path) as temporary:
        temporary.write_bytes(encoded)


def _write_npy(path: pathlib.Path, array: np.ndarray) -> None:
    with io.atomic_write(path) as temporary:
        np.save(temporary, array)


def _write_sample(out_dir: pathlib.Path, sample_id: str, hdr: np.ndarray, curve: np.ndarray, facts: dict,
                  jpeg_quality: int) -> dict:
    """Run the camera with ``curve`` on ``hdr``, write every file of one sample, return its manifest entry."""
    stages = camera.forward(hdr[None], curve[None])
    paths = {folder: f"{folder}/{sample_id}{suffix}" for folder, suffix in FOLDERS.items()}
    ldr = np.asarray(tf.cast(tf.round(stages.ldr[0] * 255.0), tf.uint8))
    io.write_ldr(out_dir / paths["ldr"], ldr)
    _write_jpeg(out_dir / paths["jpeg"], ldr, jpeg_quality)
    io.write_hdr(out_dir / paths["hdr"], hdr, half=True)
    io.write_hdr(out_dir / paths["clipped"], np.asarray(stages.clipped[0]), half=True)
    # Full precision: the dequantization target must resolve far below one 8-bit step.
    io.write_hdr(out_dir / paths["nonlinear"], np.asarray(stages.nonlinear[0]))
    _write_npy(out_dir / paths["inverse_crf"], crf.invert_curve(curve))
    return {"id": sample_id, **facts, "files": paths}


def write_synth_set(
    hdr_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    crfs: str = "test",
    clip_fractions: Sequence[float] = CLIP_FRACTIONS,
    seed: int = 0,
    jpeg_quality: int = 90,
    crop_size: int = 512,
    held_out_dorf_curves: int = 0,
) -> pathlib.Path:
    """Write the test set (see the module docstring) and return the path of its manifest.

    Args:
        hdr_dir: folder of ``.hdr`` / ``.exr`` images (never the training images).
        out_dir: output folder, created if missing; files of the same names are replaced.
        crfs: curve set, one of :data:`CURVE_SETS`.
        clip_fractions: target fractions of clipped pixels, each in (0, 1); one sample per
            image and fraction.
        seed: seeds the crops and the order of the curves.
        jpeg_quality: quality of the JPEG copies (1-100).
        crop_size: longest side of a crop, in pixels.
        held_out_dorf_curves: with ``crfs="train"``, only the training-split curves that a run
            with ``data.held_out_dorf_curves`` of this value left out of training
            (:func:`singlehdr_tf.crf.dorf_holdout`): curves it never saw.
    """
    if held_out_dorf_curves and crfs != "train":
        raise SingleHDRError(f"--held-out-dorf-curves applies to --crfs train only, not {crfs!r}")
    if not clip_fractions or any(not 0.0 < f < 1.0 for f in clip_fractions):
        raise SingleHDRError(f"clip fractions {list(clip_fractions)}: each must be in (0, 1)")
    if not 1 <= jpeg_quality <= 100:
        raise SingleHDRError(f"jpeg quality {jpeg_quality}: must be in 1..100")
    if crop_size < 16:
        raise SingleHDRError(f"crop size {crop_size}: must be at least 16 pixels")
    files = list_hdr_files(hdr_dir)
    out_dir = pathlib.Path(out_dir)
    for folder in FOLDERS:
        (out_dir / folder).mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(seed)
    count = len(files) * len(clip_fractions)
    groups = _curve_groups(crfs, seed, held_out_dorf_curves)
    orders = [np.concatenate([rng.permutation(len(curves)) for _ in range(-(-count // len(curves)))])
              for _, curves, _ in groups]
    samples = []
    for image_index, path in enumerate(files):
        image = io.read_hdr(path)
        crop = _crop(rng, image, crop_size)
        for k, fraction in enumerate(clip_fractions):
            try:
                exposure = exposure_for_clipped_fraction(crop, fraction)
            except SingleHDRError as error:
                raise SingleHDRError(f"{os.fspath(path)}: {error}") from None
            # The ground truth is stored as half floats: the camera sees exactly the stored values.
            hdr = np.minimum(crop * np.float32(exposure), HALF_MAX).astype(np.float16).astype(np.float32)
            for (family, curves, facts), order in zip(groups, orders):
                curve_index = int(order[image_index * len(clip_fractions) + k])
                sample_id = f"{path.stem}_c{k}" + (f"_{family}" if family else "")
                samples.append(_write_sample(out_dir, sample_id, hdr, curves[curve_index], {
                    "source": path.name,
                    "size": list(crop.shape[:2]),
                    "panorama": bool(is_panorama(*image.shape[:2])),
                    "exposure": exposure,
                    "target_clipped_fraction": fraction,
                    "clipped_fraction": float(np.mean(np.max(hdr, axis=-1) >= 1.0)),
                    "curve": {"set": crfs, "index": curve_index, **facts[curve_index]},
                }, jpeg_quality))
    manifest = {
        "version": MANIFEST_VERSION,
        "source_dir": os.fspath(hdr_dir),
        "crfs": crfs,
        "held_out_dorf_curves": held_out_dorf_curves,
        "clip_fractions": list(clip_fractions),
        "seed": seed,
        "jpeg_quality": jpeg_quality,
        "crop_size": crop_size,
        "samples": samples,
    }
    manifest_path = out_dir / MANIFEST
    with io.atomic_write(manifest_path) as temporary:
        temporary.write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``synth`` (shared with the ``singlehdr synth`` command)."""
    parser.add_argument("hdr_dir", help="folder of .hdr/.exr images (held-out scenes)")
    parser.add_argument("out_dir", help="output folder of the test set")
    parser.add_argument("--crfs", default="test", choices=CURVE_SETS, help="response curves (default: DoRF test split)")
    parser.add_argument(
        "--clip-fractions",
        type=float,
        nargs="+",
        default=list(CLIP_FRACTIONS),
        help="target fractions of clipped pixels; one exposure per fraction (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of crops and curve order (default: 0)")
    parser.add_argument("--jpeg-quality", type=int, default=90, help="quality of the JPEG copies (default: 90)")
    parser.add_argument("--crop-size", type=int, default=512, help="longest side of a crop (default: 512)")
    parser.add_argument("--held-out-dorf-curves", type=int, default=0, metavar="N",
                        help="with --crfs train: only the N curves a run with data.held_out_dorf_curves = N "
                             "left out of training (default: 0, every training curve)")


def run(args: argparse.Namespace) -> pathlib.Path:
    """Write the set described by parsed :func:`add_arguments` options."""
    return write_synth_set(
        args.hdr_dir, args.out_dir, args.crfs, args.clip_fractions, args.seed, args.jpeg_quality, args.crop_size,
        args.held_out_dorf_curves,
    )

