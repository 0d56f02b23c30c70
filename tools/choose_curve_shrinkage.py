"""Choose how strongly the shipped model's camera curves are pulled toward the prior ``g0``
(the prior of the model's curve basis, :func:`singlehdr_tf.crf.load_curve_basis`).

Learning a camera curve from ~50 scenes may not generalise (see the training issue). The model
card's rule: the shipped linearization must never be worse than a fixed curve. This tool measures,
on training scenes held out from training (the run's ``validation.holdout_files``), the
inverse-curve error (mean squared, the paper's Table 3) and the log error in stops of the
linearized image (the dequantized input through the curve, scale-aligned as the evaluation does,
against ``C(H)`` on the pixels no channel clipped: what the release metrics see of the curve) of

    g(s) = s P(g0 + w @ H) + (1 - s) g0,   s in {0, 0.05, ..., 1}

(:class:`singlehdr_tf.layers.InverseCRF` with ``shrinkage=s``) next to ``g0``, gamma 2.2 and
inverse sRGB, with two sets of *training* curves (the DoRF test curves and the modern evaluation
bank stay untouched for evaluation): the DoRF training split (curves measured on real cameras) and
modern encodings drawn as in training (:mod:`singlehdr_tf.modern_curves`). Each set is scored
apart, and ``s`` minimises the larger of the two log errors relative to ``g0``'s (the curve L2
weighs the dark codes, which decide the stops and PU21, hardly at all) relative to the best
fixed curve on that set (``g0``, gamma 2.2 or inverse sRGB): the shipped curves must beat every
fixed curve on both kinds of camera, not on their average, where one can hide the other (an
earlier release's mix hid that its curves were no better than ``g0`` on DoRF). A ratio above 1
at the chosen ``s`` says the learned curve does not beat the fixed alternative: the JSON's
``beats_every_fixed_curve`` is then false and ``fixed_curve`` names the fixed curve that is best on
the modern set (today's cameras, what users send), which ``singlehdr export --fixed-curve`` gives
every photo instead of the estimate (``null`` with ``s = 0`` where that is the basis prior).
``singlehdr export --curve-shrinkage`` then bakes ``s`` in.

    python tools/choose_curve_shrinkage.py runs/lite --data ../shared/data/hdr/train \
        --out release/logs/curve_shrinkage.json
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np
import yaml

from singlehdr_tf import crf, loading, metrics
from singlehdr_tf.data import DataConfig, list_hdr_files, make_dataset
from singlehdr_tf.io import write_json
from singlehdr_tf.layers import InverseCRF

CURVE_SETS = {"dorf_train": 0.0, "modern": 1.0}
"""The curve sets measured: name -> ``DataConfig.modern_curve_fraction``."""

SHRINKAGES = [round(0.05 * i, 2) for i in range(21)]

FIXED_CURVE_NAMES = {"g0": None, "gamma_2_2": "gamma_2.2", "srgb": "srgb"}
"""Each fixed curve measured -> the model's ``fixed_curve`` that gives it (``g0``: shrinkage 0)."""


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


def measure(run_dir: pathlib.Path, data_dir: pathlib.Path, batches: int, seed: int) -> dict:
    """Curve errors for every shrinkage on the run's held-out training scenes, per curve set."""
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    held_out = int(config.get("validation", {}).get("holdout_files", 0))
    if held_out < 1:
        sys.exit(f"{run_dir}: the run held out no training scenes (validation.holdout_files); "
                 "choosing the shrinkage on scenes it trained on would overrate the network")
    files = list_hdr_files(data_dir)[-held_out:]
    model = loading.load_model(run_dir)
    k = model.linearization.crf_weights
    basis = model.linearization.curve_basis
    g0, _ = crf.load_curve_basis(basis, k)
    result = {"run": str(run_dir), "held_out_files": [path.name for path in files]}
    fixed = {"g0": g0, **{key: crf.fixed_inverse_curve(name) for key, name in FIXED_CURVE_NAMES.items() if name}}
    for name, modern_fraction in CURVE_SETS.items():
        data_config = DataConfig.from_dict({**config.get("data", {}), "modern_curve_fraction": modern_fraction,
                                            "procedural_scenes": 0, "curves_per_crop": 1})
        dataset = make_dataset(None, data_config, batch_size=8, seed=seed, curves="train", files=files)
        shrunk = {str(s): InverseCRF(k, shrinkage=s, basis=basis) for s in SHRINKAGES}
        stops = {key: [] for key in [*shrunk, *fixed]}
        squared = {key: [] for key in stops}
        for batch in dataset.take(batches):
            dequantized = np.asarray(model.dequantization(batch["ldr"], training=False))
            weights = np.asarray(model.linearization.predict_crf_weights(dequantized))
            true_curves = batch["inverse_crf"].numpy()
            curves = {key: np.asarray(layer.inverse_crf(weights)) for key, layer in shrunk.items()} | fixed
            for key, curve in curves.items():
                stops[key] += image_log_errors(dequantized, curve, batch["clipped"].numpy(), batch["ldr"].numpy())
                squared[key].append(np.mean((curve - true_curves) ** 2, axis=-1))
        curve_l2s = {key: float(np.mean(np.concatenate(values))) for key, values in squared.items()}
        mean_stops = {key: float(np.mean(values)) for key, values in stops.items()}
        result[name] = {
            "samples": len(stops["g0"]),
            "curve_l2_by_shrinkage": {key: curve_l2s[key] for key in shrunk},
            "stops_by_shrinkage": {key: mean_stops[key] for key in shrunk},
            **{f"curve_l2_{key}": curve_l2s[key] for key in fixed},
            **{f"stops_{key}": mean_stops[key] for key in fixed},
        }

    def best_fixed(name: str) -> float:
        return min(result[name][f"stops_{key}"] for key in fixed)

    def worst_ratio(s: str) -> float:
        return max(result[name]["stops_by_shrinkage"][s] / best_fixed(name) for name in CURVE_SETS)

    result["chosen_on"] = "max over curve sets of the linearized image's log error / the best fixed curve's"
    chosen = min(map(str, SHRINKAGES), key=worst_ratio)
    result["chosen_shrinkage"] = float(chosen)
    result["worst_ratio_to_best_fixed"] = worst_ratio(chosen)
    result["beats_every_fixed_curve"] = worst_ratio(chosen) < 1.0
    modern_best = min(fixed, key=lambda key: result["modern"][f"stops_{key}"])
    result["fixed_curve"] = None if result["beats_every_fixed_curve"] else FIXED_CURVE_NAMES[modern_best]
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=pathlib.Path, help="training run folder")
    parser.add_argument("--data", type=pathlib.Path, required=True, help="the run's training HDR folder")
    parser.add_argument("--batches", type=int, default=24, help="batches of 8 crops to measure on")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the held-out crops")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("release/logs/curve_shrinkage.json"))
    args = parser.parse_args(argv)
    result = measure(args.run_dir, args.data, args.batches, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(write_json(args.out, result, indent=2))


if __name__ == "__main__":
    main()
