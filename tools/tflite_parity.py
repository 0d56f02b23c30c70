"""Measure how far the exported SavedModel and TFLite variants are from the Keras model.

    python tools/tflite_parity.py lite [--out release/benchmarks/tflite_parity.json]
    python tools/tflite_parity.py --config lite     # freshly initialised weights (a smoke figure only)

Exports the model to a temporary folder (:func:`singlehdr_tf.export.export_all`), runs Keras, the
SavedModel's ``serving_default`` and the float32, float16 and dynamic-range TFLite files on the
``examples/`` photos at three sizes, and writes, per variant and output, the largest
``max |value - keras| / max |keras|`` over the sizes, with the file sizes, as JSON.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import tempfile

import numpy as np
import tensorflow as tf

from singlehdr_tf import api, export, io, models

REPO = pathlib.Path(__file__).resolve().parent.parent


def parity_images() -> dict[str, np.ndarray]:
    """Three sizes from ``examples/``, float32 ``[1, H, W, 3]``."""
    photo = io.to_float(io.read_ldr(REPO / "examples" / "chelsea.png"))
    synthetic = io.to_float(io.read_ldr(REPO / "examples" / "st_peters_ldr.png"))
    images = {"chelsea": photo, "st_peters_ldr": synthetic, "chelsea_crop": photo[80:208, 150:310]}
    return {f"{name} {image.shape[1]}x{image.shape[0]}": image[None] for name, image in images.items()}


def measure(model, images: dict[str, np.ndarray]) -> dict:
    """Export ``model`` and compare every variant with Keras on ``images``."""
    with tempfile.TemporaryDirectory() as folder:
        version_dir, *tflite_paths = export.export_all(model, folder, "model", 1)
        variants = dict(zip(export.TFLITE_FILES, tflite_paths))
        serving = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
        worst: dict[str, dict[str, float]] = {}
        for image in images.values():
            expected = {name: np.asarray(value) for name, value in model(image, training=False).items()}
            results = {"saved_model": {name: value.numpy() for name, value in serving(image=tf.constant(image)).items()}}
            results.update({variant: export.run_tflite(path, image) for variant, path in variants.items()})
            for variant, outputs in results.items():
                for name, value in outputs.items():
                    reference = expected[name]
                    difference = float(np.abs(value - reference).max() / np.abs(reference).max())
                    worst.setdefault(variant, {})[name] = max(worst.get(variant, {}).get(name, 0.0), difference)
        sizes = {variant: path.stat().st_size for variant, path in variants.items()}
    return {"max_relative_difference": worst, "tflite_bytes": sizes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="shipped model name or model path (see singlehdr_tf.load)")
    parser.add_argument("--config", help="measure a freshly initialised model of this config instead")
    parser.add_argument("--out", type=pathlib.Path, default=REPO / "release" / "benchmarks" / "tflite_parity.json")
    args = parser.parse_args()
    if (args.model is None) == (args.config is None):
        parser.error("give a model or --config")
    model = models.build_model(args.config) if args.config else api.load(args.model).model
    images = parity_images()
    result = {"model": args.model or f"{args.config} (freshly initialised)", "images": list(images), **measure(model, images)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
