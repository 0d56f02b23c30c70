"""Inverse-curve error (mean squared, 1024 samples) of a model's Linearization-Net on synthetic
sets, by curve family, at several curve shrinkages, next to the fixed curves: where the learned
curves win and lose. For held-out training scenes (``sets/held_out_*``, see
``tools/choose_stage_settings.py``); the validation sets are scored by ``singlehdr evaluate``.

    python tools/curve_error_by_family.py runs/lite_modern sets/held_out_modern sets/held_out_dorf \
        [--out release/logs/curve_error_by_family.json]

The model is loaded as it was trained or exported (``singlehdr_tf.loading.load_model``) and each
shrinkage ``s`` blends its curve toward its own fallback (``curve_shrink_toward``); an ensemble's
curve is the mean of its members' (:meth:`singlehdr_tf.models.LinearizationNet.curve`).
"""

from __future__ import annotations

import argparse
import json
import pathlib

import numpy as np

from singlehdr_tf import loading
from singlehdr_tf.evaluation import baselines, report
from singlehdr_tf.io import write_json
from singlehdr_tf.models import rebuild_model

SHRINKAGES = (1.0, 0.8, 0.6, 0.4, 0.0)


def measure(model_spec: str, set_dirs: list[pathlib.Path]) -> dict:
    model = loading.load_model(model_spec)
    blended = {s: rebuild_model(model, curve_shrinkage=s).linearization for s in SHRINKAGES}
    fixed = baselines.fixed_inverse_curves()
    result = {}
    for set_dir in set_dirs:
        errors: dict[str, dict[str, list[float]]] = {}
        for entry in report.load_manifest(set_dir)["samples"]:
            sample = report.load_sample(set_dir, entry)
            dequantized = model.dequantization(sample["ldr"][None], training=False)
            row = errors.setdefault(entry["curve"].get("family", "dorf"), {})
            for s, linearization in blended.items():
                curve = np.asarray(linearization.curve(dequantized))[0]
                row.setdefault(f"s={s}", []).append(float(np.mean((curve - sample["inverse_crf"]) ** 2)))
            for name, curve in fixed.items():
                row.setdefault(name, []).append(float(np.mean((curve - sample["inverse_crf"]) ** 2)))
        result[str(set_dir)] = {family: {name: float(np.mean(values)) for name, values in row.items()}
                                for family, row in errors.items()}
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="training run folder (or any model singlehdr_tf.load takes)")
    parser.add_argument("sets", type=pathlib.Path, nargs="+")
    parser.add_argument("--out", type=pathlib.Path)
    args = parser.parse_args(argv)
    result = {"model": args.model, "curve_l2": measure(args.model, args.sets)}
    print(write_json(args.out, result) if args.out else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
