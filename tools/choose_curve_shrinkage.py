"""Choose the shipped model's camera curve: the learned estimate blended with a fallback curve
(the basis prior ``g0``, gamma 2.2 or inverse sRGB) and by how much, or a fixed curve alone.

Learning a camera curve from ~50 scenes may not generalise (see the training issue). The rule
(the model card's): a learned stage ships switched on only where it beats every fixed curve on
photos from modern cameras, what users send. This tool measures, on training scenes held out from
training (the run's ``validation.holdout_files``), the inverse-curve error (mean squared, the
paper's Table 3) and the log error in stops of the linearized image (the dequantized input through
the curve, scale-aligned as the evaluation does, against ``C(H)`` on the pixels no channel clipped:
what the release metrics see of the curve) of

    g(f, s) = s P(g0 + w @ H) + (1 - s) f,   f in {g0, gamma 2.2, inverse sRGB},  s in {0, 0.1, ..., 1}
                                           f = t sRGB^-1 + (1 - t) g0,  t in {0.25, 0.5, 0.75},  0 < s < 1

(:class:`singlehdr_tf.layers.InverseCRF` with ``shrinkage=s``, ``shrink_toward=f`` and
``shrink_toward_share=t``; ``s = 0`` is the fixed curve ``f``; the mixed fallbacks sit between the
best fixed curves of the two sets) and of the evaluation's other fixed curves alone (the mean DoRF
curve, x^2), with two sets of *training* curves (the DoRF test curves and the modern evaluation
bank stay untouched for evaluation): modern encodings drawn as in training (:mod:`singlehdr_tf.modern_curves`)
and the DoRF training split (curves measured on real cameras; only the curves the run left out,
``data.held_out_dorf_curves``, where it left some out, so that the estimator is scored on camera
curves it never saw, as on the test curves). Each set is scored apart (an average of the two can
hide one behind the other).

A blend ``(f, s > 0)`` qualifies when its modern log error is below the best fixed curve's there
(the best of all five) with 95 % confidence (a paired bootstrap over the crops,
:func:`upper_bound_of_difference`); of the qualifying blends the one with the smallest larger ratio
of its error to the best fixed curve's, over the two sets, is chosen (``shrink_toward``,
``chosen_shrinkage``). If none qualifies, every photo gets the fallback curve best on the modern
set (``fixed_curve``; ``null`` with ``s = 0`` where that is the basis prior).
``beats_every_fixed_curve`` says whether the choice also beats every fixed curve on the DoRF
curves. ``singlehdr export --curve-shrinkage S --shrink-toward F --shrink-toward-share T
--fixed-curve C`` then bakes the choice in.

    python tools/choose_curve_shrinkage.py runs/lite --data ../shared/data/hdr/train \
        --out release/logs/curve_shrinkage.json

Several run folders are scored as an ensemble of their estimators, each photo getting the mean of
their curves (:func:`ensemble_curve`), with the first run's other networks: estimators trained
apart from different seeds err on different crops, and their mean can keep the better one's score
on each curve set. A model whose Linearization-Net is an ensemble already
(``linearization_ensemble_size``; ``tools/assemble_ensemble.py``) is scored with all its members.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np
import yaml

from singlehdr_tf import crf, loading, metrics
from singlehdr_tf.data import DataConfig, list_hdr_files, make_dataset
from singlehdr_tf.evaluation import baselines
from singlehdr_tf.io import write_json
from singlehdr_tf.layers import InverseCRF
from singlehdr_tf.training.run_dir import held_out_of

CURVE_SETS = {"modern": 1.0, "dorf_train": 0.0}
"""The curve sets measured: name -> ``DataConfig.modern_curve_fraction``."""

SHRINKAGES = [round(0.1 * i, 1) for i in range(11)]

FIXED_CURVE_NAMES = {"g0": None, "gamma_2_2": "gamma_2.2", "srgb": "srgb"}
"""Each fixed fallback curve -> the model's ``fixed_curve`` / ``shrink_toward`` that gives it
(``g0``: None, the basis prior)."""

MIXED_SHARES = (0.25, 0.5, 0.75)
"""The shares ``t`` of inverse sRGB in the mixed fallbacks ``t sRGB^-1 + (1 - t) g0``: modern
encodings sit near inverse sRGB, film-era camera curves near ``g0`` (each set's best fixed
fallback), so a fallback between them can serve both."""

FALLBACKS = {name: (curve, 1.0) for name, curve in FIXED_CURVE_NAMES.items()} | {
    f"srgb{share}+g0": ("srgb", share) for share in MIXED_SHARES}
"""Each fallback of a blend -> its ``(shrink_toward, shrink_toward_share)``."""

COMPARED_ONLY = tuple(name for name in baselines.FIXED_CURVES if name not in FIXED_CURVE_NAMES.values())
"""The evaluation's other fixed-curve baselines (``dorf_mean``, ``square``): scored alone (key
``name@0.0``) so that the choice has to beat every fixed curve the release is judged against, but
never blended (the model has no such fallback)."""

BOOTSTRAP_SAMPLES = 2000


def image_log_errors(dequantized: np.ndarray, curves, clipped: np.ndarray, ldr: np.ndarray) -> list[float]:
    """Per sample: log RMSE in stops of ``g(dequantized)`` against ``C(H)`` over the pixels where
    no channel of the input clipped, after the evaluation's scale alignment."""
    curves = np.broadcast_to(np.asarray(curves, np.float32), (len(dequantized), crf.CURVE_SAMPLES))
    linear = np.asarray(crf.apply_curve(dequantized, curves))
    errors = []
    for image, target, photo in zip(linear, clipped, ldr):
        aligned, _ = metrics.align_scale(image, target, photo)
        errors.append(metrics.log_rmse(aligned, target, mask=photo.max(axis=-1) < 1.0))
    return errors


def upper_bound_of_difference(errors: np.ndarray, reference: np.ndarray, seed: int = 0) -> float:
    """The 95th percentile of ``mean(errors - reference)`` over bootstrap resamples of the paired
    samples: below 0, ``errors`` beat ``reference`` with 95 % confidence (crops of a few scenes are
    not independent, so this is optimistic about rare scenes, never about noise between crops)."""
    differences = np.asarray(errors, np.float64) - np.asarray(reference, np.float64)
    picks = np.random.default_rng(seed).integers(0, len(differences), (BOOTSTRAP_SAMPLES, len(differences)))
    return float(np.percentile(differences[picks].mean(axis=1), 95))


def curve_key(fallback: str, shrinkage: float) -> str:
    return f"{fallback}@{shrinkage}"


def ensemble_curve(inverse_crf, member_weights: list[np.ndarray]) -> np.ndarray:
    """The mean of the members' curves ``inverse_crf(w)`` (one member: its curve). Each curve is
    non-decreasing from 0 to 1, so their mean is one; and the mean of the members' blends toward
    one fallback is the blend of their mean curve, so every key of ``measure`` scores the ensemble."""
    return np.mean([np.asarray(inverse_crf(weights)) for weights in member_weights], axis=0)


def measure(run_dirs: list[pathlib.Path], data_dir: pathlib.Path, batches: int, seed: int) -> dict:
    """Per curve set, the stops and curve L2 of every blend on the runs' held-out training scenes;
    with several runs, of their estimators as an ensemble (:func:`ensemble_curve`)."""
    configs = [yaml.safe_load((run_dir / "config.yaml").read_text()) for run_dir in run_dirs]
    config = configs[0]
    held_out, held_out_curves = held_out_of(config)
    if held_out < 1:
        sys.exit(f"{run_dirs[0]}: the run held out no training scenes (validation.holdout_files); "
                 "choosing the shrinkage on scenes it trained on would overrate the network")
    for run_dir, other in zip(run_dirs[1:], configs[1:]):
        if held_out_of(other) != (held_out, held_out_curves):
            sys.exit(f"{run_dir}: holds out other scenes or DoRF curves than {run_dirs[0]} "
                     "(validation.holdout_files, data.held_out_dorf_curves); an ensemble is scored on what none saw")
    files = list_hdr_files(data_dir)[-held_out:]
    runs = [loading.load_model(run_dir) for run_dir in run_dirs]
    model = runs[0]
    members = [member for run in runs for member in run.linearization.members()]
    k = model.linearization.crf_weights
    basis = model.linearization.curve_basis
    curve_of = {"learned": InverseCRF(k, basis=basis).inverse_crf} | {
        curve_key(fallback, s): InverseCRF(k, shrinkage=s, basis=basis, shrink_toward=name,
                                           shrink_toward_share=share).inverse_crf
        for fallback, (name, share) in FALLBACKS.items() for s in SHRINKAGES
        if s < 1.0 and (s > 0.0 or fallback in FIXED_CURVE_NAMES)}
    evaluation_curves = baselines.fixed_inverse_curves()
    curve_of |= {curve_key(name, 0.0): (lambda weights, curve=evaluation_curves[name]: curve[None])
                 for name in COMPARED_ONLY}
    result = {"run": " + ".join(map(str, run_dirs)), "held_out_files": [path.name for path in files],
              "dorf_curves": (f"the {held_out_curves} training-split curves the run left out" if held_out_curves
                              else "the training split, seen in training (the run left none out)")}
    for name, modern_fraction in CURVE_SETS.items():
        data_config = DataConfig.from_dict({**config.get("data", {}), "modern_curve_fraction": modern_fraction,
                                            "procedural_scenes": 0, "curves_per_crop": 1})
        curves = "held_out" if name == "dorf_train" and held_out_curves else "train"
        dataset = make_dataset(None, data_config, batch_size=8, seed=seed, curves=curves, files=files)
        stops = {key: [] for key in curve_of}
        squared = {key: [] for key in curve_of}
        for batch in dataset.take(batches):
            dequantized = np.asarray(model.dequantization(batch["ldr"], training=False))
            weights = [np.asarray(member.predict_crf_weights(dequantized)) for member in members]
            true_curves, clipped, ldr = (batch[key].numpy() for key in ("inverse_crf", "clipped", "ldr"))
            for key, inverse_crf in curve_of.items():
                curve = np.broadcast_to(ensemble_curve(inverse_crf, weights), true_curves.shape)
                stops[key] += image_log_errors(dequantized, curve, clipped, ldr)
                squared[key].append(np.mean((curve - true_curves) ** 2, axis=-1))
        result[name] = {"samples": len(stops["learned"]),
                        "stops": {key: float(np.mean(values)) for key, values in stops.items()},
                        "curve_l2": {key: float(np.mean(np.concatenate(values))) for key, values in squared.items()},
                        "per_sample_stops": {key: np.asarray(values) for key, values in stops.items()}}
    return choose(result)


def choose(result: dict) -> dict:
    """Adds the choice (see the module docstring) to ``measure``'s numbers."""
    fallback_keys = [curve_key(fallback, 0.0) for fallback in FIXED_CURVE_NAMES]
    fixed_keys = fallback_keys + [curve_key(name, 0.0) for name in COMPARED_ONLY]

    def best_fixed(name: str, among: list[str] = fixed_keys) -> str:
        return min(among, key=lambda key: result[name]["stops"][key])

    def ratio(name: str, key: str) -> float:
        return result[name]["stops"][key] / result[name]["stops"][best_fixed(name)]

    def worst_ratio(key: str) -> float:
        return max(ratio(name, key) for name in CURVE_SETS)

    modern = result["modern"]
    bounds = {key: upper_bound_of_difference(modern["per_sample_stops"][key],
                                             modern["per_sample_stops"][best_fixed("modern")])
              for key in modern["stops"] if key not in fixed_keys}
    qualifying = [key for key, bound in bounds.items() if bound < 0.0]
    result["modern_upper_bound_of_difference_to_best_fixed"] = bounds
    result["chosen_on"] = ("among blends beating the best fixed curve on modern encodings with 95 % confidence, "
                           "the smallest max over curve sets of the log error / the best fixed curve's")
    if qualifying:
        chosen = min(qualifying, key=worst_ratio)
        fallback, shrinkage = ("g0", 1.0) if chosen == "learned" else chosen.split("@")
        shrink_toward, share = FALLBACKS[fallback]
        result.update(chosen_shrinkage=float(shrinkage), shrink_toward=shrink_toward, shrink_toward_share=share,
                      fixed_curve=None)
    else:
        chosen = best_fixed("modern", among=fallback_keys)
        result.update(chosen_shrinkage=0.0, shrink_toward=None, shrink_toward_share=1.0,
                      fixed_curve=FIXED_CURVE_NAMES[chosen.split("@")[0]])
    result["chosen_curve"] = chosen
    result["ratio_to_best_fixed"] = {name: ratio(name, chosen) for name in CURVE_SETS}
    result["beats_fixed_curves_on_modern"] = bool(qualifying)
    result["beats_every_fixed_curve"] = worst_ratio(chosen) < 1.0
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", type=pathlib.Path, nargs="+",
                        help="training run folder; several: their estimators as an ensemble (mean curve), each "
                             "holding out the same scenes and DoRF curves, the first run's other networks")
    parser.add_argument("--data", type=pathlib.Path, required=True, help="the run's training HDR folder")
    parser.add_argument("--batches", type=int, default=24, help="batches of 8 crops to measure on")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the held-out crops")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("release/logs/curve_shrinkage.json"))
    args = parser.parse_args(argv)
    result = measure(args.run_dirs, args.data, args.batches, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for name in CURVE_SETS:  # the bootstrap's inputs stay out of the file (192 crops x 60 curves per set)
        del result[name]["per_sample_stops"]
    write_json(args.out, result, indent=2)
    print(f"wrote {args.out}: {result['chosen_curve']} (shrinkage {result['chosen_shrinkage']}, "
          f"toward {result['shrink_toward']} at share {result['shrink_toward_share']}, "
          f"fixed curve {result['fixed_curve']}); error / best fixed curve's: "
          + ", ".join(f"{name} {value:.3f}" for name, value in result["ratio_to_best_fixed"].items()))


if __name__ == "__main__":
    main()
