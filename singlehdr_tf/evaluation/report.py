"""Score methods on a test set written by :mod:`singlehdr_tf.evaluation.synth` and write a report.

``evaluate`` runs every method on every sample, aligns each HDR output to the ground truth by the
one rule of :func:`singlehdr_tf.metrics.align_scale`, scores it (:func:`singlehdr_tf.metrics.score_hdr`)
and writes to ``OUT_DIR``:

* ``report.json``: mean, standard deviation and count of every metric per method, the stage
  ablation, seconds per image, and every per-sample score;
* ``report.md``: the same as tables, with the metric definitions;
* ``contact_sheet.png``: one row per source image (its most clipped exposure): input, the two
  best baselines by PU21-PSNR (oracle excluded), each model, ground truth, tone-mapped alike.

The stage ablation follows Liu et al. 2020, Tables 2-3: dequantization PSNR against the
noise-free ``F(C(H))`` without (the 8-bit input) and with the model's dequantization, and for
every method with a global curve the inverse-CRF L2 error and the PSNR of its linear image
against ``C(H)``.

Run: ``singlehdr evaluate --data SET_DIR [--model NAME|PATH ...]
[--baselines all] --out REPORT_DIR``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from singlehdr_tf import io, metrics
from singlehdr_tf.errors import SingleHDRError
from singlehdr_tf.evaluation import contact_sheet, render
from singlehdr_tf.evaluation import methods as methods_module
from singlehdr_tf.evaluation.baselines import BASELINES
from singlehdr_tf.evaluation.synth import MANIFEST, MANIFEST_VERSION

METRICS = {
    "pu21_psnr": (
        "PU21-PSNR (dB)",
        True,
        "PSNR of PU21-encoded luminance (Mantiuk and Azimi 2021, banding_glare), reference peak at "
        "4000 cd/m^2, PSNR peak 256.",
    ),
    "mu_psnr": (
        "mu-PSNR (dB)",
        True,
        "PSNR of mu-law tone-mapped RGB (mu = 5000), both divided by the reference maximum.",
    ),
    "ssim_mu": (
        "SSIM-mu",
        True,
        "SSIM (11-tap Gaussian, sigma 1.5) of the mu-law tone-mapped RGB, mean over channels.",
    ),
    "log_rmse": (
        "log RMSE (stops)",
        False,
        "RMS of log2(output / reference) over all RGB values, both floored at 2^-10 of the clipping level.",
    ),
    "log_rmse_clipped": (
        "log RMSE clipped (stops)",
        False,
        "The same over the pixels the camera clipped only: how well highlights are recovered.",
    ),
    "chroma_error_clipped": (
        "chroma error clipped (deg)",
        False,
        "Mean angle between output and reference RGB over the pixels the camera clipped: colour casts in highlights.",
    ),
    "normalized_psnr": (
        "norm. PSNR (dB)",
        True,
        "PSNR after the paper's normalisation of each image (0.1/99.9th luminance percentiles to 1/999).",
    ),
    "curve_error": (
        "inverse-CRF L2",
        False,
        "Mean squared difference of the estimated and true inverse curves (1024 samples), Table 3 of Liu et al. 2020.",
    ),
    "linear_psnr": (
        "linear PSNR (dB)",
        True,
        "PSNR of the linearised image (the curve applied, before hallucination) against C(H).",
    ),
    "dequantized_psnr": (
        "dequantized PSNR (dB)",
        True,
        "PSNR of the dequantized image against F(C(H)) before 8-bit quantization.",
    ),
}
"""Every score in the report: column title, whether higher is better, definition."""


ALIGNMENT_RULE = (
    "Each HDR output is multiplied by median(Y_ref) / median(Y_out) over the pixels whose input LDR "
    "value is inside (0.05, 0.95) in all channels (Y: Rec. 709 luminance), the same rule for every method."
)

INPUT_KINDS = ("png", "jpeg")

SHEET_ROWS = 12
"""At most this many rows (source images) in the contact sheet."""


def load_manifest(set_dir: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a test set, checked."""
    path = pathlib.Path(set_dir) / MANIFEST
    if not path.is_file():
        raise SingleHDRError(f"{os.fspath(path)}: no test-set manifest (make the set with `synth` first)")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise SingleHDRError(f"{os.fspath(path)}: unreadable manifest ({error})") from None
    if manifest.get("version") != MANIFEST_VERSION or not manifest.get("samples"):
        raise SingleHDRError(f"{os.fspath(path)}: not a version-{MANIFEST_VERSION} manifest with samples")
    return manifest


def load_sample(
    set_dir: str | os.PathLike, sample: Mapping[str, Any], input_kind: str = "png"
) -> dict[str, np.ndarray]:
    """The arrays of one sample: ``ldr`` (float in [0, 1]), ``hdr``, ``clipped``, ``nonlinear``
    ``[H, W, 3]``, ``inverse_crf`` ``[1024]`` and ``clip_mask`` ``[H, W]``."""
    set_dir = pathlib.Path(set_dir)
    files = sample["files"]
    ldr_file = files["ldr" if input_kind == "png" else "jpeg"]
    clipped = io.read_hdr(set_dir / files["clipped"])
    inverse_path = set_dir / files["inverse_crf"]
    try:
        inverse_crf = np.load(inverse_path)
    except (OSError, ValueError) as error:
        raise SingleHDRError(f"{os.fspath(inverse_path)}: unreadable curve ({error})") from None
    return {
        "ldr": io.to_float(io.read_ldr(set_dir / ldr_file)),
        "hdr": io.read_hdr(set_dir / files["hdr"]),
        "clipped": clipped,
        "nonlinear": io.read_hdr(set_dir / files["nonlinear"]),
        "inverse_crf": inverse_crf,
        "clip_mask": np.max(clipped, axis=-1) >= 1.0,
    }


def iter_samples(set_dirs: Sequence[str | os.PathLike]) -> Iterator[dict[str, np.ndarray]]:
    """Every sample (:func:`load_sample`, PNG input) of every set in ``set_dirs``, in order."""
    for set_dir in set_dirs:
        for entry in load_manifest(set_dir)["samples"]:
            yield load_sample(set_dir, entry)


def score_sample(outputs: Mapping[str, np.ndarray], sample: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Every score of one method's ``outputs`` (see :func:`methods.run_method`) on one sample."""
    scores = metrics.score_hdr(outputs["hdr"], sample["hdr"], sample["ldr"], sample["clip_mask"])
    if outputs.get("inverse_crf") is not None:
        scores["curve_error"] = metrics.curve_error(outputs["inverse_crf"], sample["inverse_crf"])
    if outputs.get("linear") is not None:
        scores["linear_psnr"] = metrics.psnr(outputs["linear"], sample["clipped"])
    if outputs.get("dequantized") is not None:
        scores["dequantized_psnr"] = metrics.psnr(outputs["dequantized"], sample["nonlinear"])
    return scores


def summarize(values: Sequence[float]) -> dict[str, float | int | None]:
    """Mean, standard deviation (population) and count of the finite ``values``."""
    finite = np.asarray([v for v in values if v is not None and math.isfinite(v)], np.float64)
    if finite.size == 0:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": float(finite.mean()), "std": float(finite.std()), "n": int(finite.size)}


def _json_value(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _sheet_samples(samples: Sequence[Mapping[str, Any]], rows: int) -> set[str]:
    """Ids of the contact-sheet samples: per source image the most clipped one, first ``rows`` sources."""
    chosen: dict[str, Mapping[str, Any]] = {}
    for sample in samples:
        best = chosen.get(sample["source"])
        if best is None or sample["target_clipped_fraction"] > best["target_clipped_fraction"]:
            chosen[sample["source"]] = sample
    return {sample["id"] for sample in list(chosen.values())[:rows]}


def evaluate(
    set_dir: str | os.PathLike,
    methods: Mapping[str, methods_module.Method],
    out_dir: str | os.PathLike,
    input_kind: str = "png",
    sheet_rows: int = SHEET_ROWS,
) -> dict[str, Any]:
    """Score ``methods`` (name -> method, see :mod:`.methods`) on the test set in ``set_dir``,
    write ``report.json``, ``report.md`` and ``contact_sheet.png`` to ``out_dir`` (created if
    missing) and return the report dict (``report.json``'s content)."""
    if input_kind not in INPUT_KINDS:
        raise SingleHDRError(f"input kind {input_kind!r}: expected one of {', '.join(INPUT_KINDS)}")
    if not methods:
        raise SingleHDRError("nothing to evaluate: no methods given")
    manifest = load_manifest(set_dir)
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sheet_ids = _sheet_samples(manifest["samples"], sheet_rows)

    per_sample: dict[str, dict[str, Any]] = {}
    seconds: dict[str, list[float]] = {name: [] for name in methods}
    sheet_rows_data = []
    for entry in manifest["samples"]:
        sample = load_sample(set_dir, entry, input_kind)
        row_scores: dict[str, Any] = {"input_psnr": metrics.psnr(sample["ldr"], sample["nonlinear"])}
        thumbnails = {}
        for name, method in methods.items():
            start = time.perf_counter()
            outputs = methods_module.run_method(method, sample["ldr"], sample["inverse_crf"])
            seconds[name].append(time.perf_counter() - start)
            row_scores[name] = score_sample(outputs, sample)
            if entry["id"] in sheet_ids:
                aligned = np.asarray(outputs["hdr"], np.float64) * row_scores[name]["scale"]
                thumbnails[name] = contact_sheet.thumbnail(np.nan_to_num(np.maximum(aligned, 0.0), posinf=0.0))
        per_sample[entry["id"]] = row_scores
        if thumbnails:
            thumbnails["input"] = contact_sheet.thumbnail(sample["ldr"])
            thumbnails["ground truth"] = contact_sheet.thumbnail(sample["hdr"])
            sheet_rows_data.append(thumbnails)

    summary = {
        name: {
            **{key: summarize([per_sample[i][name].get(key) for i in per_sample]) for key in METRICS},
            "seconds_per_image": float(np.mean(seconds[name])),
        }
        for name in methods
    }
    summary = {
        name: {k: v for k, v in scores.items() if not isinstance(v, dict) or v["n"] > 0}
        for name, scores in summary.items()
    }
    families = sorted({entry["curve"].get("family") for entry in manifest["samples"]} - {None})
    by_family = {
        family: {
            name: {key: summarize([per_sample[entry["id"]][name].get(key) for entry in manifest["samples"]
                                   if entry["curve"].get("family") == family]) for key in render.FAMILY_COLUMNS}
            for name in methods
        }
        for family in families
    }
    models = [name for name in methods
              if "dequantized_psnr" in summary[name] and not getattr(methods[name], "ablation_of", None)]
    ranked = sorted(
        (name for name in methods if name in BASELINES and not getattr(methods[name], "needs_true_curve", False)),
        key=lambda name: summary[name]["pu21_psnr"]["mean"],
        reverse=True,
    )
    sheet_columns = [*ranked[:2], *models] or list(methods)[:3]
    contact_sheet.synthetic_sheet(sheet_rows_data, sheet_columns, out_dir / "contact_sheet.png")

    report = {
        "set": os.fspath(set_dir),
        "input": input_kind,
        "samples": len(per_sample),
        "set_settings": {key: manifest[key] for key in ("crfs", "clip_fractions", "seed", "jpeg_quality", "crop_size")},
        "alignment": ALIGNMENT_RULE,
        "metrics": {
            key: {"title": title, "higher_is_better": higher, "definition": text}
            for key, (title, higher, text) in METRICS.items()
        },
        "methods": summary,
        "by_family": by_family,
        "ablation": {
            "dequantization_psnr": {
                "input (no dequantization)": summarize([scores["input_psnr"] for scores in per_sample.values()]),
                **{name: summary[name]["dequantized_psnr"] for name in models},
            },
            "linearization": {
                name: {key: summary[name][key] for key in ("curve_error", "linear_psnr")}
                for name in methods
                if "curve_error" in summary[name] and "linear_psnr" in summary[name]
            },
        },
        "contact_sheet": {"file": "contact_sheet.png", "columns": ["input", *sheet_columns, "ground truth"]},
        "per_sample": {
            sample_id: {
                name: (
                    _json_value(value) if not isinstance(value, dict) else {k: _json_value(v) for k, v in value.items()}
                )
                for name, value in scores.items()
            }
            for sample_id, scores in per_sample.items()
        },
    }
    with io.atomic_write(out_dir / "report.json") as temporary:
        temporary.write_text(json.dumps(report, indent=1, allow_nan=False) + "\n")
    with io.atomic_write(out_dir / "report.md") as temporary:
        temporary.write_text(render.markdown(report))
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``evaluate`` (shared with the ``singlehdr evaluate`` command)."""
    parser.add_argument("--data", required=True, help="test-set folder written by synth")
    parser.add_argument(
        "--model", action="append", default=[], help="model config name (fresh weights) or saved model; repeatable"
    )
    parser.add_argument("--baselines", default="", help="'all' or comma-separated names: " + ", ".join(BASELINES))
    parser.add_argument("--out", required=True, help="report folder")
    parser.add_argument("--input", default="png", choices=INPUT_KINDS, help="which inputs to feed (default: png)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Evaluate as described by parsed :func:`add_arguments` options."""
    methods = methods_module.build_methods(args.model, args.baselines)
    return evaluate(args.data, methods, args.out, args.input)

