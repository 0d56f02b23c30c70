"""Regenerate ``examples/``: a real photo, and a synthetic LDR photo with its HDR ground truth.

    python tools/make_examples.py [--data ../shared/data] [--out examples]

* ``chelsea.png`` is copied unchanged from ``DATA/ldr/`` (a real 8-bit photograph, no ground truth).
* ``st_peters_ldr.png`` is made from a 512x256 crop of the validation panorama
  ``DATA/hdr/val/st_peters_square_night_1k.hdr`` with the camera model ``L = Q(F(C(e H)))``
  (:func:`singlehdr_tf.camera.forward`): the exposure ``e`` clips ``CLIPPED_FRACTION`` of the
  pixels, ``F`` is a held-out DoRF response curve. ``st_peters_hdr.exr`` (half float) holds the
  ground truth ``e H`` in the units the model predicts (1 = the clipping level) and
  ``st_peters_curve.csv`` the curve ``F`` (the format of ``singlehdr reconstruct --curve-csv``).
"""

from __future__ import annotations

import argparse
import pathlib
import shutil

import numpy as np

from singlehdr_tf import camera, crf, io
from singlehdr_tf.api import write_curve_csv
from singlehdr_tf.evaluation.synth import exposure_for_clipped_fraction

REPO = pathlib.Path(__file__).resolve().parent.parent
PHOTO = "chelsea.png"
PANORAMA = "st_peters_square_night_1k.hdr"
CROP = (slice(96, 352), slice(320, 832))  # rows, columns: the lamp, the obelisk and the colonnade
CLIPPED_FRACTION = 0.03
DORF_TEST_CURVE = 3  # row of crf.test_curves()


def make_examples(data_dir: pathlib.Path, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write the example files to ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(data_dir / "ldr" / PHOTO, out_dir / PHOTO)
    hdr = io.read_hdr(data_dir / "hdr" / "val" / PANORAMA)[CROP]
    exposed = hdr * exposure_for_clipped_fraction(hdr, CLIPPED_FRACTION)
    curve = crf.test_curves()[DORF_TEST_CURVE]
    ldr = camera.forward(exposed[None], curve[None]).ldr.numpy()[0]
    io.write_ldr(out_dir / "st_peters_ldr.png", np.round(ldr * 255.0).astype(np.uint8))
    io.write_hdr(out_dir / "st_peters_hdr.exr", exposed, half=True)
    write_curve_csv(out_dir / "st_peters_curve.csv", curve)
    return [out_dir / name for name in (PHOTO, "st_peters_ldr.png", "st_peters_hdr.exr", "st_peters_curve.csv")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path, default=REPO.parent / "shared" / "data",
                        help="the shared data folder (default: ../shared/data)")
    parser.add_argument("--out", type=pathlib.Path, default=REPO / "examples", help="output folder (default: examples)")
    args = parser.parse_args()
    for path in make_examples(args.data, args.out):
        print(f"{path}  {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
