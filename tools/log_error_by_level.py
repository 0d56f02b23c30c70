"""Where a model's log error comes from: log RMSE (stops) by the brightness of the input pixel.

The evaluation's log RMSE over all pixels mixes the clipped highlights with the shadows, where an
8-bit input keeps only a few code values and a wrong curve toe costs whole stops. This tool splits
it by input level (the pixel's largest channel, in 8-bit codes) plus the clipped pixels, pooled over
every sample of one or more synthetic sets (`singlehdr synth`), with the evaluation's scale
alignment and floor. Decide on sets made from held-out *training* scenes, not on validation:

    python tools/log_error_by_level.py SET [SET ...] --model lite runs/NEW --baselines dorf_mean \
        --out log_error_by_level.json
"""

from __future__ import annotations

import argparse
import json
import pathlib

import numpy as np

from singlehdr_tf import metrics
from singlehdr_tf.evaluation import baselines, report
from singlehdr_tf.evaluation import methods as methods_module
from singlehdr_tf.io import atomic_write

LEVELS = ((0, 0), (1, 3), (4, 15), (16, 59), (60, 255))
"""Inclusive ranges of input codes (largest channel) of the unclipped pixels (code 255 without
clipping: a value that rounded up)."""


def breakdown(set_dirs: list[pathlib.Path], methods: dict) -> dict:
    """``{method: {"log_rmse": mean over samples, "levels": {name: {"rms", "values"}}}}``."""
    names = [f"codes {low}-{high}" for low, high in LEVELS] + ["clipped"]
    sums = {method: {name: [0.0, 0] for name in names} for method in methods}
    per_sample = {method: [] for method in methods}
    for sample in report.iter_samples(set_dirs):
        codes = np.round(sample["ldr"].max(axis=-1) * 255)
        masks = [(codes >= low) & (codes <= high) & ~sample["clip_mask"] for low, high in LEVELS]
        masks.append(sample["clip_mask"])
        for method, run in methods.items():
            hdr, _ = metrics.align_scale(methods_module.run_method(run, sample["ldr"])["hdr"], sample["hdr"],
                                         sample["ldr"])
            per_sample[method].append(metrics.log_rmse(hdr, sample["hdr"]))
            for name, mask in zip(names, masks):
                if mask.any():
                    sums[method][name][0] += metrics.log_rmse(hdr, sample["hdr"], mask) ** 2 * mask.sum() * 3
                    sums[method][name][1] += int(mask.sum()) * 3
    return {
        method: {
            "log_rmse": float(np.mean(per_sample[method])),
            "samples": len(per_sample[method]),
            "levels": {name: {"rms": float(np.sqrt(total / count)) if count else None, "values": count}
                       for name, (total, count) in sums[method].items()},
        }
        for method in methods
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", type=pathlib.Path, nargs="+", help="synthetic set folders (singlehdr synth)")
    parser.add_argument("--model", nargs="*", default=[], help="models: shipped name, run folder, .keras or SavedModel")
    parser.add_argument("--baselines", default="dorf_mean", help="baselines, comma-separated (default: dorf_mean)")
    parser.add_argument("--out", type=pathlib.Path, help="write the numbers to this JSON file")
    args = parser.parse_args(argv)
    methods = {}
    for spec in args.model:
        methods[f"singlehdr:{spec}"] = methods_module.model_method(methods_module.load_model(spec)[1])
    for name in methods_module.parse_baselines(args.baselines):
        methods[name] = baselines.BASELINES[name]
    result = {"sets": [str(path) for path in args.sets], "methods": breakdown(args.sets, methods)}
    for method, scores in result["methods"].items():
        levels = "  ".join(f"{name}: {level['rms']:.3f}" for name, level in scores["levels"].items()
                           if level["rms"] is not None)
        print(f"{method}: log RMSE {scores['log_rmse']:.3f} ({scores['samples']} samples) | {levels}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(args.out) as temporary:
            temporary.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
