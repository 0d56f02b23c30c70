"""Fit the ``camera`` curve basis: the prior inverse curve and principal components that the
Linearization-Net predicts in, refitted on the training curve bank (DoRF training split plus
modern camera encodings) instead of the paper's DoRF-only inverse-EMoR model.

The bank is :func:`singlehdr_tf.modern_curves.basis_bank`: DoRF and modern draws at equal total
weight, the modern ones from a stream that neither the evaluation bank nor the data pipeline uses. The
report gives, for each curve set and basis, the mean squared error of the best curve of the form
``prior + w @ basis`` (the floor of any network predicting the weights) and of the prior alone.

Usage: ``python tools/fit_curve_basis.py [--components 16] [--report release/benchmarks/curve_basis.json]``
(writes the files of ``crf.FITTED_BASES`` to ``singlehdr_tf/resources/crf/``).
"""

from __future__ import annotations

import argparse
import json
import pathlib

import numpy as np

from singlehdr_tf import crf, io, modern_curves


def _errors(inverse: np.ndarray, k: int) -> dict:
    errors = {}
    for name in crf.CURVE_BASES:
        prior, _ = crf.load_curve_basis(name, k)
        errors[name] = {
            "prior_l2": float(np.mean((inverse - prior) ** 2)),
            "best_fit_l2": float(np.mean((crf.project_to_basis(inverse, name, k) - inverse) ** 2)),
        }
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--components", type=int, default=16, help="components stored (default 16)")
    parser.add_argument("--k", type=int, default=11, help="components the report scores (default 11)")
    parser.add_argument("--report", default="release/benchmarks/curve_basis.json")
    args = parser.parse_args()
    for file_name, prior_kind in crf.FITTED_BASES.values():
        prior, components = crf.fit_curve_basis(*modern_curves.basis_bank(), args.components, prior_kind)
        with io.atomic_write(crf.RESOURCE_DIR / file_name) as temporary:
            with open(temporary, "wb") as handle:
                np.savez(handle, prior=prior, components=components)
    crf.load_curve_basis.cache_clear()
    test_modern = crf.invert_curve(modern_curves.test_bank()[0])
    report = {
        "k": args.k,
        "sets": {
            "dorf_train": _errors(crf.invert_curve(crf.training_curves()), args.k),
            "dorf_test": _errors(crf.invert_curve(crf.test_curves()), args.k),
            "modern_test": _errors(test_modern, args.k),
        },
    }
    path = pathlib.Path(args.report)
    path.parent.mkdir(parents=True, exist_ok=True)
    with io.atomic_write(path) as temporary:
        temporary.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
