"""Choose the Dequantization-Net's largest step (``dequantization_max_step``) on held-out scenes.

The net's output is kept within ``max_step`` of the 8-bit input (see
:class:`singlehdr_tf.models.DequantizationNet`). The truth lies within half a code value, but a
net trained with sensor noise also "corrects" clean values, and in the darkest codes a shift of a
fraction of a code is a large relative error that the inverse curve carries into the HDR output.
This tool scores the model with each candidate step (PU21-PSNR, log RMSE in stops over all pixels
and over the clipped ones, the evaluation's metrics) on synthetic sets made from training scenes
the run held out, with training curves, and writes the numbers and the step with the lowest log
RMSE to a JSON file. Make the sets from the held-out files (never from validation):

    mkdir held_out && ln -s $PWD/../shared/data/hdr/train/<each held-out file> held_out/
    singlehdr synth held_out sets/held_out_0 --crfs train --seed 0     # and seeds 1, 2
    python tools/choose_dequantization_step.py runs/NEW sets/held_out_* \
        --out training_logs/dequantization_step.json
"""

from __future__ import annotations

import argparse
import json
import pathlib

import numpy as np

from singlehdr_tf import metrics, models
from singlehdr_tf.evaluation import methods as methods_module
from singlehdr_tf.evaluation import report
from singlehdr_tf.io import atomic_write

CANDIDATE_STEPS = (0.0, 0.125, 0.25, 0.5)
"""Candidate steps in 8-bit code values (0.5: the whole quantization bin; 0: no dequantization)."""


def measure(model, set_dirs: list[pathlib.Path], steps=CANDIDATE_STEPS) -> dict:
    """``{step: {"pu21_psnr", "log_rmse", "log_rmse_clipped", "samples"}}``, means over every sample."""
    variants = {step: methods_module.model_method(models.rebuild_model(model, dequantization_max_step=step / 255))
                for step in steps}
    scores = {step: [] for step in steps}
    for sample in report.iter_samples(set_dirs):
        for step, run in variants.items():
            hdr = run(sample["ldr"])["hdr"]
            scores[step].append(metrics.score_hdr(hdr, sample["hdr"], sample["ldr"], sample["clip_mask"]))
    return {
        str(step): {**{key: float(np.nanmean([score[key] for score in values]))
                       for key in ("pu21_psnr", "log_rmse", "log_rmse_clipped")}, "samples": len(values)}
        for step, values in scores.items()
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="shipped name, run folder, .keras or SavedModel")
    parser.add_argument("sets", type=pathlib.Path, nargs="+", help="synthetic sets of held-out training scenes")
    parser.add_argument("--out", type=pathlib.Path, help="write the numbers to this JSON file")
    args = parser.parse_args(argv)
    by_step = measure(methods_module.load_model(args.model)[1], args.sets)
    chosen = min(by_step, key=lambda step: by_step[step]["log_rmse"])
    for step, scores in by_step.items():
        print(f"max step {step}/255: PU21 {scores['pu21_psnr']:.2f} dB, log RMSE {scores['log_rmse']:.4f}, "
              f"clipped {scores['log_rmse_clipped']:.4f}{'  <- chosen' if step == chosen else ''}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        result = {"model": args.model, "sets": [str(path) for path in args.sets],
                  "samples": by_step[chosen]["samples"],
                  "by_step_in_codes": by_step, "chosen_step_in_codes": float(chosen)}
        with atomic_write(args.out) as temporary:
            temporary.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
