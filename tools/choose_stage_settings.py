"""Choose which stages a release switches on, on held-out training scenes: the Dequantization-Net's
largest step (``dequantization_max_step``, 0 = off) and the Refinement-Net (``use_refinement``).

Every shipped stage must earn its place. The Dequantization-Net's output is kept within
``max_step`` of the 8-bit input (see :class:`singlehdr_tf.models.DequantizationNet`); a net trained
with sensor noise also "corrects" clean values, and in the darkest codes a shift of a fraction of a
code is a large relative error that the inverse curve carries into the HDR output. The
Refinement-Net was measured to lose dB on modern encodings. This tool scores every combination
(PU21-PSNR, log RMSE in stops over all pixels and over the clipped ones, the evaluation's metrics)
on synthetic sets made from training scenes the run held out, each set apart, and chooses the
combination with the lowest log RMSE averaged over the sets (each set weighing the same). Make the
sets from the held-out files (never from validation), with training curves and modern draws:

    mkdir -p sets/held_out_scenes && ln -s $PWD/../shared/data/hdr/train/<each held-out file> sets/held_out_scenes/
    singlehdr synth sets/held_out_scenes sets/held_out_dorf --crfs train --seed 1
    singlehdr synth sets/held_out_scenes sets/held_out_modern --crfs modern_train --seed 1
    python tools/choose_stage_settings.py runs/NEW sets/held_out_dorf sets/held_out_modern \
        --out release/logs/stage_settings.json --curve-choice release/logs/curve_shrinkage.json

with the curve settings the release chose first (``tools/choose_curve_shrinkage.py``), so the
stages are chosen for the curves they will get.
"""

from __future__ import annotations

import argparse
import itertools
import json
import pathlib

import numpy as np

from singlehdr_tf import metrics, models
from singlehdr_tf.evaluation import methods as methods_module
from singlehdr_tf.evaluation import report
from singlehdr_tf.io import atomic_write

CANDIDATE_STEPS = (0.0, 0.125, 0.5)
"""Candidate steps in 8-bit code values (0.5: the whole quantization bin; 0: no dequantization)."""

KEYS = ("pu21_psnr", "log_rmse", "log_rmse_clipped")


def _name(step: float, refinement: bool) -> str:
    return f"dequantization {step}/255, refinement {'on' if refinement else 'off'}"


def variants(model) -> dict[str, tuple[float, bool]]:
    """Every combination measured, by its name in the output: ``(step in codes, Refinement-Net on)``;
    the Refinement-Net only off for a model without its weights (one trained after a release
    switched it off)."""
    refinement = (True, False) if model.use_refinement else (False,)
    return {_name(step, on): (step, on) for step, on in itertools.product(CANDIDATE_STEPS, refinement)}


def measure(model, set_dirs: list[pathlib.Path], candidates: dict[str, tuple[float, bool]]) -> dict:
    """``{set: {variant: {"pu21_psnr", "log_rmse", "log_rmse_clipped", "samples"}}}``, means over
    each set's samples, for every combination in ``candidates`` (:func:`variants`)."""
    variants_of_model = {
        name: methods_module.model_method(
            models.rebuild_model(model, dequantization_max_step=step / 255, use_refinement=refinement))
        for name, (step, refinement) in candidates.items()
    }
    result = {}
    for set_dir in set_dirs:
        scores = {name: [] for name in variants_of_model}
        for sample in report.iter_samples([set_dir]):
            for name, run in variants_of_model.items():
                hdr = run(sample["ldr"])["hdr"]
                scores[name].append(metrics.score_hdr(hdr, sample["hdr"], sample["ldr"], sample["clip_mask"]))
        result[str(set_dir)] = {
            name: {**{key: float(np.nanmean([score[key] for score in values])) for key in KEYS},
                   "samples": len(values)}
            for name, values in scores.items()
        }
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="shipped name, run folder, .keras or SavedModel")
    parser.add_argument("sets", type=pathlib.Path, nargs="+", help="synthetic sets of held-out training scenes")
    parser.add_argument("--out", type=pathlib.Path, help="write the numbers to this JSON file")
    parser.add_argument("--curve-choice", type=pathlib.Path, default=None,
                        help="the release's curve choice, chosen first (tools/choose_curve_shrinkage.py's JSON)")
    args = parser.parse_args(argv)
    model = methods_module.load_model(args.model)[1]
    if args.curve_choice is not None:  # the release's curve settings, applied in one rebuild
        choice = json.loads(args.curve_choice.read_text())
        model = models.rebuild_model(model, curve_shrinkage=choice["chosen_shrinkage"],
                                     curve_shrink_toward=choice["shrink_toward"],
                                     curve_shrink_toward_share=choice["shrink_toward_share"],
                                     fixed_curve=choice["fixed_curve"])
    candidates = variants(model)
    by_set = measure(model, args.sets, candidates)
    mean_log_rmse = {name: float(np.mean([scores[name]["log_rmse"] for scores in by_set.values()]))
                     for name in candidates}
    chosen = min(candidates, key=mean_log_rmse.get)
    for set_dir, scores in by_set.items():
        print(set_dir)
        for name in candidates:
            s = scores[name]
            print(f"  {name}: PU21 {s['pu21_psnr']:.2f} dB, log RMSE {s['log_rmse']:.4f}, "
                  f"clipped {s['log_rmse_clipped']:.4f}{'  <- chosen' if name == chosen else ''}")
    step, refinement = candidates[chosen]
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        result = {"model": args.model, "by_set": by_set, "mean_log_rmse": mean_log_rmse, "chosen": chosen,
                  "dequantization_max_step_in_codes": step, "use_refinement": refinement}
        with atomic_write(args.out) as temporary:
            temporary.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
