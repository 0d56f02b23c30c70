"""PU21 and log error in stops of fixed inverse curves applied alone (no other stage) to the LDRs
of synthetic sets: the basis priors (``g0`` of each curve basis) next to the evaluation's fixed
curves and the true curve. For choices of the prior on held-out training scenes
(``sets/held_out_*``, see ``tools/choose_stage_settings.py``), never on the validation sets.

    python tools/score_fixed_curves.py sets/held_out_modern sets/held_out_dorf \
        [--out training_logs/fixed_curves.json]
"""

from __future__ import annotations

import argparse
import json
import pathlib

import numpy as np

from singlehdr_tf import baselines, crf, metrics
from singlehdr_tf.evaluation import report
from singlehdr_tf.io import atomic_write

FIXED_BASELINES = ("srgb", "gamma_2.2", "dorf_mean", "square")


def fixed_curves() -> dict[str, np.ndarray]:
    """``{name: inverse curve [1024]}``: each basis prior and the fixed-curve baselines."""
    probe = np.full((4, 4, 3), 0.5, np.float32)
    curves = {f"prior_{name}": crf.load_curve_basis(name, 11)[0] for name in crf.CURVE_BASES}
    curves.update({name: baselines.BASELINES[name](probe)[1] for name in FIXED_BASELINES})
    return curves


def score(set_dir: pathlib.Path) -> dict[str, dict[str, float]]:
    """Mean PU21 (dB) and log RMSE (stops) of every fixed curve and of the true curve on one set."""
    curves = fixed_curves()
    scores: dict[str, list[tuple[float, float]]] = {}
    for entry in report.load_manifest(set_dir)["samples"]:
        sample = report.load_sample(set_dir, entry)
        ldr, reference = sample["ldr"], sample["hdr"]
        clipped = np.max(ldr, axis=-1) >= 1.0
        for name, curve in [*curves.items(), ("true_curve", sample["inverse_crf"])]:
            linear = np.asarray(crf.apply_curve(ldr[None], np.asarray(curve, np.float32)[None]))[0]
            result = metrics.score_hdr(linear, reference, ldr, clipped)
            scores.setdefault(name, []).append((result["pu21_psnr"], result["log_rmse"]))
    return {name: {"pu21_psnr": float(np.mean([s[0] for s in values])),
                   "log_rmse": float(np.mean([s[1] for s in values])), "samples": len(values)}
            for name, values in scores.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", type=pathlib.Path, nargs="+")
    parser.add_argument("--out", type=pathlib.Path)
    args = parser.parse_args(argv)
    text = json.dumps({str(set_dir): score(set_dir) for set_dir in args.sets}, indent=1)
    print(text)
    if args.out:
        with atomic_write(args.out) as temporary:
            temporary.write_text(text + "\n")


if __name__ == "__main__":
    main()
