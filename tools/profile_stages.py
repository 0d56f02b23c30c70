"""Where the time of one photo goes: each part of the model timed alone, float32 and bfloat16.

    python tools/profile_stages.py [--model lite] [--megapixels 1] [--repeats 5] \
        [--out release/benchmarks/stages.json]

The parts, each a ``tf.function`` on the inputs it gets inside the model (measured in one process,
one untimed call first, then the median of ``--repeats``):

* ``curve_estimator``: the Linearization-Net's inverse curve from the photo (it resizes the photo
  to its own small size first; an ensemble's members share that copy), not applied;
* ``curve_lookup``: :func:`singlehdr_tf.crf.apply_curve` at full resolution;
* ``hallucination_gain``: the Hallucination-Net's encoder-decoder, up to its gain map;
* ``hallucination_blend``: the blend of the gain into the linear image;
* ``whole``: the model end to end.

Each part's share is its time over ``whole`` in the same precision; under bfloat16 only the inner
convolution stacks change precision (:mod:`singlehdr_tf.models.precision`), so a part whose time
does not fall there is float32 work that bounds the bfloat16 speed-up. Ratios, not absolute
times, carry between machines.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np
import tensorflow as tf

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # bench_infer, beside this file

from bench_infer import image_shape  # noqa: E402

from singlehdr_tf import crf, loading, models  # noqa: E402
from singlehdr_tf.io import write_json  # noqa: E402
from singlehdr_tf.models.precision import dtype_policy  # noqa: E402


def median_seconds(function, argument, repeats: int) -> float:
    """Median wall time of ``function(argument)`` (results fetched) after one untimed call."""
    np.asarray(function(argument))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.asarray(function(argument))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def profile(model, photo: np.ndarray, repeats: int) -> dict[str, float]:
    """Seconds per part (see the module docstring) of ``model`` on ``photo`` ``[1, H, W, 3]``."""
    photo = tf.constant(photo)
    linearized = model.linearization(model.dequantization(photo))
    linear, curve = linearized["linear"], linearized["inverse_crf"]
    gain = model.hallucination.gain(linear)
    parts = {
        "curve_estimator": (lambda x: model.linearization.curve(x), photo),
        "curve_lookup": (lambda x: crf.apply_curve(x, curve), photo),
        "hallucination_gain": (lambda x: model.hallucination.gain(x), linear),
        "hallucination_blend": (lambda x: model.hallucination.blend(x, gain), linear),
        "whole": (lambda x: model(x)["hdr"], photo),
    }
    return {name: median_seconds(tf.function(function), argument, repeats)
            for name, (function, argument) in parts.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lite", help="shipped model name or path (see singlehdr_tf.load)")
    parser.add_argument("--megapixels", type=float, default=1.0, help="photo size, 4:3 (as tools/bench_infer.py)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("release/benchmarks/stages.json"))
    args = parser.parse_args(argv)
    height, width = image_shape(args.megapixels)
    photo = np.random.default_rng(0).uniform(0.0, 1.0, (1, height, width, 3)).astype(np.float32)
    float32 = loading.load_model(args.model)
    with dtype_policy("mixed_bfloat16"):
        bfloat16 = models.rebuild_model(float32)
    result = {"model": args.model, "size": f"{width}x{height}", "repeats": args.repeats}
    for precision, model in (("float32", float32), ("bfloat16", bfloat16)):
        seconds = profile(model, photo, args.repeats)
        result[precision] = {name: {"seconds": value, "share_of_whole": value / seconds["whole"]}
                             for name, value in seconds.items()}
    result["bfloat16_over_float32"] = {name: result["bfloat16"][name]["seconds"] / result["float32"][name]["seconds"]
                                       for name in result["float32"]}
    write_json(args.out, result, indent=2)
    for name, ratio in result["bfloat16_over_float32"].items():
        print(f"{name:20s} float32 {result['float32'][name]['seconds']:.3f} s  "
              f"bfloat16 {result['bfloat16'][name]['seconds']:.3f} s  ({ratio:.2f}x)")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
