"""Parameter counts and GFLOP per megapixel of every model config, per stage and in total.

FLOPs are counted by TensorFlow's graph profiler on the traced graph of each stage at 1024x1024
(one megapixel, batch 1): every op with a registered FLOP count (convolutions and matrix products
as 2 x multiply-adds, plus additions, multiplications, pooling and reductions), so nothing is
estimated by hand. Activations (ReLU, tanh, exp) and gathers have no registered count; they are
a few operations per output element, well under 1% of the total.

Usage: python tools/model_summary.py [--output release/benchmarks/models.json] [--size 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing

import tensorflow as tf  # noqa: E402

from singlehdr_tf.models import MODEL_CONFIGS, build_model  # noqa: E402


def graph_flops(function, *specs: tf.TensorSpec) -> int:
    """FLOPs of ``function`` traced on ``specs``, counted by ``tf.compat.v1.profiler``."""
    graph = tf.function(function).get_concrete_function(*specs).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(graph, options=options).total_float_ops


def summarize(name: str, size: int) -> dict:
    """Parameters and GFLOP per megapixel of config ``name`` on a ``size`` x ``size`` input."""
    model = build_model(name)
    image = tf.TensorSpec([1, size, size, 3], tf.float32)
    model(tf.zeros([1, 32, 32, 3]))
    megapixels = size * size / 1e6
    stages = {
        "dequantization": (model.dequantization, (image,)),
        "linearization": (model.linearization, (image,)),
        "hallucination": (model.hallucination, (image,)),
        "refinement": (model.refinement, (image, image, image)),
    }
    summary = {"params": model.count_params(), "stages": {}}
    for stage, (network, specs) in stages.items():
        gflops = graph_flops(network, *specs) / 1e9 / megapixels
        summary["stages"][stage] = {"params": network.count_params(), "gflops_per_megapixel": round(gflops, 2)}
    total = graph_flops(model, image) / 1e9
    summary["gflops_per_megapixel"] = round(total / megapixels, 2)
    summary["gflops_at_input_size"] = round(total, 2)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=pathlib.Path, default=REPO / "release" / "benchmarks" / "models.json")
    parser.add_argument("--size", type=int, default=1024, help="square input side for the FLOP count")
    parser.add_argument("--configs", nargs="+", default=[n for n in MODEL_CONFIGS if n != "tiny"])
    args = parser.parse_args()
    results = {}
    for name in args.configs:
        results[name] = summarize(name, args.size)
        stages = ", ".join(f"{s} {v['params'] / 1e6:.2f}M/{v['gflops_per_megapixel']:.1f}"
                           for s, v in results[name]["stages"].items())
        print(f"{name:6s} {results[name]['params'] / 1e6:6.2f}M params "
              f"{results[name]['gflops_per_megapixel']:8.1f} GFLOP/MP  ({stages})")
    report = {"input_size": args.size, "megapixel": "1e6 pixels",
              "flops": "tf.compat.v1.profiler float_operation, multiply-add = 2",
              "configs": results}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.output.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(temporary, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
