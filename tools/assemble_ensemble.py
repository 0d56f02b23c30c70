"""Assemble one model whose Linearization-Net averages the curve estimators of several training runs.

    python tools/assemble_ensemble.py runs/lite_exposure_free runs/lite_curve_full_seed \
        runs/lite_curve_full_seed2 --out runs/lite_curve_ensemble

The first run gives every network and the first estimator; each further run's Linearization-Net
joins as the next member (``linearization_ensemble_size``,
:class:`singlehdr_tf.models.LinearizationNet`). Estimators trained apart from different seeds err
on different photos; their mean curve scored better on camera curves none of them saw than each
alone (``release/logs/experiments/curve_ensemble/``). The runs must hold out the same training
scenes and DoRF curves (the release's choices are made on what none of them saw) and share the
Linearization-Net's architecture. The folder written is a run folder as ``tools/release_lite.sh``
and ``singlehdr_tf.load`` read it: ``model_config.json``, ``model.weights.h5`` and
``config.yaml`` (the first run's, with ``ensemble_members`` naming the runs).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import keras
import yaml

from singlehdr_tf import loading
from singlehdr_tf.errors import SingleHDRError
from singlehdr_tf.models import build_model, copy_matching_weights
from singlehdr_tf.training import run_dir as layout

ARCHITECTURE_KEYS = ("size", "stem_filters", "stages", "histogram_bins", "crf_weights", "curve_basis", "windows",
                     "window_size")
"""The Linearization-Net's config values that decide its weights' shapes and what they mean."""


def assemble(run_dirs: list[pathlib.Path]) -> tuple[keras.Model, dict]:
    """The ensemble model of ``run_dirs`` and its ``config.yaml`` contents."""
    configs = [yaml.safe_load((run_dir / layout.CONFIG_FILE).read_text()) for run_dir in run_dirs]
    runs = [loading.load_model(run_dir) for run_dir in run_dirs]
    first = runs[0].linearization.get_config()
    for run_dir, config, run in zip(run_dirs, configs, runs, strict=True):
        if layout.held_out_of(config) != layout.held_out_of(configs[0]):
            raise SingleHDRError(f"{run_dir}: holds out other scenes or DoRF curves than {run_dirs[0]} "
                                 "(validation.holdout_files, data.held_out_dorf_curves)")
        linearization = run.linearization.get_config()
        if linearization["ensemble_size"] != 1:
            raise SingleHDRError(f"{run_dir}: its Linearization-Net is an ensemble already; name its members' runs")
        changed = [key for key in ARCHITECTURE_KEYS if linearization[key] != first[key]]
        if changed:
            raise SingleHDRError(f"{run_dir}: another Linearization-Net than {run_dirs[0]}'s ({', '.join(changed)})")
    model = build_model({**runs[0].get_config(), "linearization_ensemble_size": len(runs)})
    loading.build_variables(model)
    missing = copy_matching_weights(runs[0], model)
    if any(not path.startswith("linearization/member") for path in missing):
        raise SingleHDRError(f"{run_dirs[0]}: its weights do not fill the ensemble model ({missing[0]})")
    for member, run in zip(model.linearization.other_members, runs[1:], strict=True):
        member.set_weights(run.linearization.get_weights())
    return model, {**configs[0], "ensemble_members": [str(run_dir) for run_dir in run_dirs]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", type=pathlib.Path, nargs="+",
                        help="training run folders: the first gives every network, each one its estimator")
    parser.add_argument("--out", type=pathlib.Path, required=True, help="the run folder to write (new)")
    args = parser.parse_args(argv)
    if len(args.run_dirs) < 2:
        parser.error("an ensemble needs two runs or more")
    if args.out.exists():
        parser.error(f"{args.out}: exists already")
    try:
        model, config = assemble(args.run_dirs)
    except SingleHDRError as error:
        sys.exit(f"error: {error}")
    args.out.mkdir(parents=True)
    layout.save_weights(model, args.out / loading.WEIGHTS_FILE)
    layout.save_model_config(args.out, model)
    (args.out / layout.CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=False))
    print(f"wrote {args.out}: {len(args.run_dirs)} curve estimators "
          f"({json.dumps([str(run_dir) for run_dir in args.run_dirs])})")


if __name__ == "__main__":
    main()
