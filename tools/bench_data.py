"""Throughput of the HDR-SYNTH data pipeline, and what its exposure augmentation produces.

    python tools/bench_data.py DIR [--seconds 30] [--batch 8] [--crop 256] [--out release/benchmarks/data.json]

Builds :func:`singlehdr_tf.data.make_dataset` on the HDR folder ``DIR`` with the default
``DataConfig`` (crop ``--crop``), pulls one untimed warm-up batch (tracing), then batches for
``--seconds`` -> images/s. From the timed batches it also records how exposed the crops are: the
share of pixels clipped (any channel at 1) per crop and the median 8-bit value per crop, as
percentiles over the crops. Results and the machine go to ``--out`` (JSON, written atomically).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import time

import numpy as np

from singlehdr_tf import io
from singlehdr_tf.data import DataConfig, make_dataset

REPO = pathlib.Path(__file__).resolve().parent.parent
PERCENTILES = (10, 25, 50, 75, 90)


def percentiles(values: np.ndarray) -> dict[str, float]:
    return {str(q): round(float(np.percentile(values, q)), 3) for q in PERCENTILES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hdr_dir", type=pathlib.Path)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=pathlib.Path, default=REPO / "release" / "benchmarks" / "data.json")
    args = parser.parse_args()

    config = DataConfig(crop_size=args.crop)
    start = time.perf_counter()
    dataset = make_dataset(args.hdr_dir, config, batch_size=args.batch, seed=args.seed)
    build_seconds = time.perf_counter() - start
    iterator = iter(dataset)
    next(iterator)
    clipped, medians = [], []
    start = time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        batch = next(iterator)
        clipped.append((batch["clipped"].numpy().max(axis=-1) >= 1.0).mean(axis=(1, 2)))
        medians.append(np.median(batch["ldr"].numpy(), axis=(1, 2, 3)))
    seconds = time.perf_counter() - start
    images = len(clipped) * args.batch
    clipped, medians = np.concatenate(clipped), np.concatenate(medians)

    result = {
        "folder": os.fspath(args.hdr_dir),
        "batch_size": args.batch,
        "crop_size": args.crop,
        "config": config.to_dict(),
        "build_seconds": round(build_seconds, 2),
        "images": images,
        "seconds": round(seconds, 2),
        "images_per_second": round(images / seconds, 2),
        "clipped_fraction_percentiles": percentiles(clipped),
        "share_of_crops_under_1pct_clipped": round(float((clipped < 0.01).mean()), 3),
        "share_of_crops_over_30pct_clipped": round(float((clipped > 0.3).mean()), 3),
        "median_ldr_percentiles": percentiles(medians),
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with io.atomic_write(args.out) as temporary:
        temporary.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
