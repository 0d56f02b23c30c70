"""Quality of the faster runtimes against float32 Keras on the validation sets (issue 15).

    python tools/precision_quality.py lite --sets sets/val_modern sets/val [--limit N]

Runs the shipped model as users get it, on every sample of each test set (made with
``singlehdr synth``): Keras in float32 and in bfloat16 (``singlehdr_tf.load(..., precision=
"bfloat16")``), and its TFLite files in float32, float16 and dynamic-range int8 (converted from the
shipped SavedModel here when the package does not ship that file), each TFLite file through one
kept :class:`singlehdr_tf.tflite_runner.TFLiteRunner`. Writes, per set and runtime, the mean
PU21-PSNR and log RMSE in stops and the mean per-sample difference from float32 Keras, to
``release/benchmarks/precision_quality.json`` and ``.md``. The bars (issue 15): bfloat16 within
0.2 dB PU21 of float32, a quantized model within 0.5 dB.
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile
import time

import numpy as np

from singlehdr_tf import api, export, loading
from singlehdr_tf.evaluation import report
from singlehdr_tf.io import atomic_write, write_json
from singlehdr_tf.tflite_runner import TFLiteRunner

REPO = pathlib.Path(__file__).resolve().parent.parent
BARS_DB = {"keras_bfloat16": 0.2, "tflite_float16": 0.5, "tflite_dynamic_range": 0.5}
"""Largest PU21 loss (dB) against float32 Keras each runtime may have on every set."""


def tflite_files(model: str, scratch: pathlib.Path) -> dict[str, pathlib.Path]:
    """The model's TFLite variants by runtime name: the shipped files, and what is missing converted
    from its SavedModel."""
    model_dir = loading.SHIPPED_MODELS / model
    version_dir = model_dir / str(loading.latest_version(model_dir))
    files = {}
    for variant, pattern in export.TFLITE_FILES.items():
        path = loading.SHIPPED_MODELS / pattern.format(name=model)
        if not path.is_file():
            path = scratch / pattern.format(name=model)
            path.write_bytes(export.convert_tflite(version_dir, variant))
        files[f"tflite_{variant}"] = path
    return files


def runtimes(model: str, scratch: pathlib.Path) -> dict:
    """``{name: image [H, W, 3] -> hdr [H, W, 3]}``, float32 Keras first."""
    float32 = api.load(model)
    bfloat16 = api.load(model, precision="bfloat16")
    result = {"keras_float32": float32.reconstruct, "keras_bfloat16": bfloat16.reconstruct}
    for name, path in tflite_files(model, scratch).items():
        runner = TFLiteRunner(path)
        result[name] = lambda image, runner=runner: runner(image[None])["hdr"][0]
    return result


def measure(model: str, set_dirs: list[str], limit: int | None) -> dict:
    """Scores of every runtime on every set (see the module docstring)."""
    results: dict = {"model": model, "date": time.strftime("%Y-%m-%d"), "sets": {}}
    with tempfile.TemporaryDirectory() as scratch:
        functions = runtimes(model, pathlib.Path(scratch))
        for set_dir in set_dirs:
            scores = {name: {"pu21_psnr": [], "log_rmse": []} for name in functions}
            for index, sample in enumerate(report.iter_samples([set_dir])):
                if limit is not None and index >= limit:
                    break
                for name, function in functions.items():
                    values = report.score_sample({"hdr": np.asarray(function(sample["ldr"]))}, sample)
                    for metric in scores[name]:
                        scores[name][metric].append(values[metric])
            reference = scores["keras_float32"]
            results["sets"][pathlib.Path(set_dir).name] = {
                name: {
                    "samples": len(values["pu21_psnr"]),
                    "pu21_psnr": float(np.mean(values["pu21_psnr"])),
                    "log_rmse": float(np.mean(values["log_rmse"])),
                    "pu21_minus_float32": float(np.mean(np.subtract(values["pu21_psnr"], reference["pu21_psnr"]))),
                    "log_rmse_minus_float32": float(np.mean(np.subtract(values["log_rmse"], reference["log_rmse"]))),
                }
                for name, values in scores.items()
            }
    results["within_bar"] = {name: all(-per_set[name]["pu21_minus_float32"] <= bar
                                       for per_set in results["sets"].values()) for name, bar in BARS_DB.items()}
    return results


def markdown(results: dict) -> str:
    lines = [
        "# Quality of the faster runtimes", "",
        f"Written by `tools/precision_quality.py` ({results['date']}). Model: **{results['model']}**. "
        "Mean over each set's samples; differences are per sample against float32 Keras "
        "(PU21-PSNR in dB, higher is better; log RMSE in stops, lower is better).", "",
        "| set | runtime | samples | PU21 | vs float32 (dB) | stops | vs float32 (stops) |",
        "|---|---|---|---|---|---|---|",
    ]
    for set_name, per_runtime in results["sets"].items():
        for name, row in per_runtime.items():
            lines.append(f"| {set_name} | {name} | {row['samples']} | {row['pu21_psnr']:.2f} | "
                         f"{row['pu21_minus_float32']:+.3f} | {row['log_rmse']:.3f} | "
                         f"{row['log_rmse_minus_float32']:+.4f} |")
    lines += ["", "Within the bar (PU21 loss against float32 on every set): " + ", ".join(
        f"{name} {'yes' if ok else 'no'} (<= {BARS_DB[name]} dB)" for name, ok in results["within_bar"].items()), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="lite", help="shipped model name")
    parser.add_argument("--sets", nargs="+", default=["sets/val_modern", "sets/val"],
                        help="test-set folders (singlehdr synth)")
    parser.add_argument("--limit", type=int, help="at most this many samples per set (a quick look)")
    parser.add_argument("--out", type=pathlib.Path,
                        default=REPO / "release" / "benchmarks" / "precision_quality.json")
    args = parser.parse_args()
    results = measure(args.model, args.sets, args.limit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, results, indent=2)
    with atomic_write(args.out.with_suffix(".md")) as temporary:
        temporary.write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
