"""PU21 and log error in stops of fixed inverse curves applied alone (no other stage) to the LDRs
of synthetic sets: the basis priors (``g0`` of each curve basis) next to the evaluation's fixed
curves and the true curve. For choices of the prior on held-out training scenes
(``sets/held_out_*``, see ``tools/choose_stage_settings.py``), never on the validation sets.

    python tools/score_fixed_curves.py sets/held_out_modern sets/held_out_dorf \
        [--out release/logs/fixed_curves.json]
"""

from __future__ import annotations

import argparse
import json
import pathlib

import numpy as np

from singlehdr_tf import crf, metrics
from singlehdr_tf.evaluation import baselines, report
from singlehdr_tf.io import write_json


def fixed_curves() -> dict[str, np.ndarray]:
    """``{name: inverse curve [1024]}``: each basis prior and the fixed-curve baselines."""
    curves = {f"prior_{name}": crf.load_curve_basis(name, 11)[0] for name in crf.CURVE_BASES}
    return {**curves, **baselines.fixed_inverse_curves()}


def score(set_dir: pathlib.Path) -> dict[str, dict[str, float]]:
    """Mean PU21 (dB) and log RMSE (stops) of every fixed curve and of the true curve on one set."""
    curves = fixed_curves()
    scores: dict[str, list[tuple[float, float]]] = {}
    for entry in report.load_manifest(set_dir)["samples"]:
        sample = report.load_sample(set_dir, entry)
        ldr, reference = sample["ldr"], sample["hdr"]
        clipped = np.max(ldr, axis=-1) >= 1.0
        for name, curve in [*curves.items(), ("true_curve", sample["inverse_crf"])]:
            result = metrics.score_hdr(baselines.apply_inverse_crf(ldr, curve), reference, ldr, clipped)
            scores.setdefault(name, []).append((result["pu21_psnr"], result["log_rmse"]))
    return {name: {"pu21_psnr": float(np.mean([s[0] for s in values])),
                   "log_rmse": float(np.mean([s[1] for s in values])), "samples": len(values)}
            for name, values in scores.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", type=pathlib.Path, nargs="+")
    parser.add_argument("--out", type=pathlib.Path)
    args = parser.parse_args(argv)
    result = {str(set_dir): score(set_dir) for set_dir in args.sets}
    print(write_json(args.out, result) if args.out else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
