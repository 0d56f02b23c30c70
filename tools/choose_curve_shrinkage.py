"""Choose how strongly the shipped model's camera curves are pulled toward the prior ``g0``.

Learning a camera curve from ~50 scenes may not generalise (see the training issue). The model
card's rule: the shipped linearization must never be worse than a fixed curve. This tool measures,
on training scenes held out from training (the run's ``validation.holdout_files``) and with the
*training* curve mix (DoRF training split + parametric tone curves, so the DoRF test curves stay
untouched for evaluation), the inverse-curve error (mean squared, the paper's Table 3) of

    g(s) = P(g0 + s * w @ H),   s in {0, 0.1, ..., 1}

(:class:`singlehdr_tf.layers.InverseCRF` with ``shrinkage=s``) next to ``g0`` and gamma 2.2, and
writes the best ``s`` to a JSON file. ``singlehdr export --curve-shrinkage`` then bakes it in.

    python tools/choose_curve_shrinkage.py runs/lite --data ../shared/data/hdr/train \
        --out training_logs/curve_shrinkage.json
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import numpy as np
import yaml

from singlehdr_tf import api, crf
from singlehdr_tf.data import DataConfig, list_hdr_files, make_dataset
from singlehdr_tf.io import atomic_write
from singlehdr_tf.layers import InverseCRF


def measure(run_dir: pathlib.Path, data_dir: pathlib.Path, batches: int, seed: int) -> dict:
    """Curve errors for every shrinkage on the run's held-out training scenes."""
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    held_out = int(config.get("validation", {}).get("holdout_files", 0))
    if held_out < 1:
        sys.exit(f"{run_dir}: the run held out no training scenes (validation.holdout_files); "
                 "choosing the shrinkage on scenes it trained on would overrate the network")
    files = list_hdr_files(data_dir)[-held_out:]
    model = api.load_model(run_dir)
    data_config = DataConfig.from_dict(config.get("data", {}))
    dataset = make_dataset(None, data_config, batch_size=8, seed=seed, curves="train", files=files)
    raw_weights, true_curves = [], []
    for batch in dataset.take(batches):
        dequantized = model.dequantization(batch["ldr"], training=False)
        raw_weights.append(np.asarray(model.linearization.predict_crf_weights(dequantized)))
        true_curves.append(batch["inverse_crf"].numpy())
    raw_weights, true_curves = np.concatenate(raw_weights), np.concatenate(true_curves)
    k = raw_weights.shape[-1]

    def error(curves) -> float:
        return float(np.mean((np.asarray(curves) - true_curves) ** 2))

    shrinkages = [round(0.1 * i, 1) for i in range(11)]
    errors = {s: error(InverseCRF(k, shrinkage=s).inverse_crf(raw_weights)) for s in shrinkages}
    best = min(errors, key=errors.get)
    g0, _ = crf.load_inverse_emor(k)
    return {
        "run": str(run_dir),
        "held_out_files": [path.name for path in files],
        "samples": int(len(true_curves)),
        "curves": "training mix (DoRF training split + parametric tone curves)",
        "curve_l2_by_shrinkage": {str(s): e for s, e in errors.items()},
        "curve_l2_g0": error(np.broadcast_to(g0, true_curves.shape)),
        "curve_l2_gamma_2_2": error(np.broadcast_to(crf.curve_grid() ** 2.2, true_curves.shape)),
        "chosen_shrinkage": best,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=pathlib.Path, help="training run folder")
    parser.add_argument("--data", type=pathlib.Path, required=True, help="the run's training HDR folder")
    parser.add_argument("--batches", type=int, default=24, help="batches of 8 crops to measure on")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the held-out crops")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("training_logs/curve_shrinkage.json"))
    args = parser.parse_args(argv)
    result = measure(args.run_dir, args.data, args.batches, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out) as temporary:
        temporary.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
