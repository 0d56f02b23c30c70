"""Training speed of every stage of the ``lite`` and ``paper`` models, and of the data pipeline.

    python tools/bench_train.py [--data ../shared/data/hdr/train] [--out release/benchmarks/train.json]

For each model and stage: one training step (:func:`singlehdr_tf.training.steps.make_train_step`,
Adam, the default strategy) on a fixed batch of 8 256x256 crops from the pipeline, ``--warmup``
untimed steps (tracing), then timed steps for about ``--seconds`` (at least 1, at most 20) ->
steps/s and images/s. Then the pipeline alone (:func:`singlehdr_tf.data.make_dataset`, default
``DataConfig``): images/s over ``--batches`` batches after one warm-up batch. Results, with the
machine and its load average, go to ``release/benchmarks/train.json``. The perceptual term is off (no
VGG16 weights), as in a run without ``perceptual_weights``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import time

import keras
import tensorflow as tf

from singlehdr_tf.data import DataConfig, make_dataset
from singlehdr_tf.models import build_model
from singlehdr_tf.training import STAGES
from singlehdr_tf.training.steps import make_train_step

REPO = pathlib.Path(__file__).resolve().parent.parent
BATCH = 8
CROP = 256
MAX_TIMED_STEPS = 20


def time_stage(model_name: str, stage: str, batch: dict, warmup: int, seconds: float) -> dict:
    keras.utils.set_random_seed(0)
    model = build_model(model_name)
    model(batch["ldr"][:1])
    step = make_train_step(model, stage, keras.optimizers.Adam(1e-4), tf.distribute.get_strategy(), BATCH)
    for _ in range(warmup):
        float(step(batch)["loss"])
    start = time.perf_counter()
    steps = 0
    while steps < MAX_TIMED_STEPS and (steps == 0 or time.perf_counter() - start < seconds):
        float(step(batch)["loss"])
        steps += 1
    elapsed = time.perf_counter() - start
    return {"steps": steps, "seconds": round(elapsed, 3), "steps_per_second": round(steps / elapsed, 4),
            "images_per_second": round(steps * BATCH / elapsed, 3)}


def time_pipeline(data_dir: pathlib.Path, batches: int) -> dict:
    iterator = iter(make_dataset(data_dir, DataConfig(crop_size=CROP), batch_size=BATCH, seed=1))
    next(iterator)  # decoding the files and starting the workers is not throughput
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    seconds = time.perf_counter() - start
    return {"batches": batches, "seconds": round(seconds, 3), "images_per_second": round(batches * BATCH / seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path, default=REPO.parent / "shared" / "data" / "hdr" / "train",
                        help="folder of training HDR images (default: ../shared/data/hdr/train)")
    parser.add_argument("--out", type=pathlib.Path, default=REPO / "release" / "benchmarks" / "train.json")
    parser.add_argument("--models", nargs="+", default=["lite", "paper"])
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per stage (the first traces)")
    parser.add_argument("--seconds", type=float, default=8.0,
                        help="time steps of each stage for about this long (at least one step)")
    parser.add_argument("--batches", type=int, default=20, help="timed pipeline batches")
    args = parser.parse_args()

    batch = next(iter(make_dataset(args.data, DataConfig(crop_size=CROP), batch_size=BATCH, seed=0)))
    results = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "tensorflow": tf.__version__,
                    "keras": keras.__version__, "devices": [d.name for d in tf.config.list_logical_devices()],
                    # Other work on the machine slows every number below; this says how much there was.
                    "load_average_at_start": os.getloadavg()},
        "batch_size": BATCH,
        "crop_size": CROP,
        "pipeline": time_pipeline(args.data, args.batches),
        "models": {},
    }
    print(f"pipeline: {results['pipeline']['images_per_second']} images/s", flush=True)
    for model_name in args.models:
        results["models"][model_name] = {}
        for stage in STAGES:
            result = time_stage(model_name, stage, batch, args.warmup, args.seconds)
            results["models"][model_name][stage] = result
            print(f"{model_name} {stage}: {result['steps_per_second']} steps/s, "
                  f"{result['images_per_second']} images/s", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
