"""Can a network tell a modern camera encoding from a DoRF (film-era) curve in one 8-bit photo?

No released curve beats ``g0`` on DoRF curves and inverse sRGB on modern encodings at once, because
the estimator outputs nearly the same curve for both kinds (a linear probe of its weights tells
them apart on 58 % of held-out crops). This tool measures whether the information is in the
input at all, and at which resolution: a small classifier network (:func:`family_classifier`) is
trained from scratch to say "modern" or "DoRF" from

- ``resized``: the whole crop area-resized to ``--side`` pixels, what the Linearization-Net sees;
- ``native``: a random ``--side`` x ``--side`` window of the crop at native resolution, where
  edges between two colours (blends in radiance, bent by the curve) and sensor noise (whose
  strength follows the curve's slope) survive,

on the training pipeline's crops (sensor noise before clipping, JPEG, as at inference), each crop
rendered through two curves so that content alone cannot predict the label, and scored on the
run's held-out training scenes (never ``hdr/val``). Accuracy near 50 % on held-out scenes means
the family cannot be read at that resolution by a network of this size in these steps.

    python tools/probe_curve_family.py ../shared/data/hdr/train --view native \
        --out release/logs/experiments/curve_family/native.json
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np
import tensorflow as tf

from singlehdr_tf import crf
from singlehdr_tf.data import DataConfig, list_hdr_files, make_dataset
from singlehdr_tf.io import write_json
from singlehdr_tf.layers import area_resize

VIEWS = ("resized", "native")


def family_classifier(filters: int = 32) -> keras.Model:
    """``[B, S, S, 3]`` in [0, 1] -> logit of "modern encoding": 3x3 convolutions (the first two
    at full resolution, where per-pixel traces live), stride-2 downsampling, global mean and max
    pooling (a rare trace anywhere in the view counts), one dense logit in float32."""
    inputs = keras.Input((None, None, 3))
    x = inputs
    for index, (width, stride) in enumerate([(1, 1), (1, 1), (2, 2), (2, 1), (4, 2), (4, 1)]):
        x = keras.layers.Conv2D(width * filters, 3, strides=stride, padding="same", name=f"conv{index}")(x)
        x = keras.layers.BatchNormalization(name=f"norm{index}")(x)
        x = keras.layers.Activation("relu")(x)
    pooled = keras.layers.Concatenate()([keras.layers.GlobalAveragePooling2D()(x),
                                         keras.layers.GlobalMaxPooling2D()(x)])
    logit = keras.layers.Dense(1, dtype="float32", name="logit")(pooled)
    return keras.Model(inputs, logit)


def views_and_labels(batch: dict, view: str, side: int, seed: int, dorf_inverse: np.ndarray):
    """The classifier's inputs ``[B, side, side, 3]`` and labels ``[B]`` (1 = modern) of one batch."""
    ldr = batch["ldr"]
    if view == "resized":
        images = area_resize(ldr, side)
    else:
        images = tf.image.stateless_random_crop(ldr, (ldr.shape[0], side, side, 3), (seed, 0))
    # Each element's inverse curve is a row of its bank: DoRF when it is one of the DoRF rows.
    distance = np.min(np.abs(batch["inverse_crf"].numpy()[:, None] - dorf_inverse[None]).max(-1), axis=1)
    return images, (distance > 1e-6).astype(np.float32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="folder of training HDR files (the last --holdout are held out)")
    parser.add_argument("--view", choices=VIEWS, required=True)
    parser.add_argument("--side", type=int, default=128)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--holdout", type=int, default=6)
    parser.add_argument("--eval-batches", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="JSON file for the accuracies")
    args = parser.parse_args(argv)

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    files = list_hdr_files(args.data)
    config = DataConfig.from_dict({"crop_size": 384, "curves_per_crop": 2, "modern_curve_fraction": 0.5})
    train = iter(make_dataset(None, config, batch_size=args.batch_size, seed=args.seed, files=files[:-args.holdout]))
    held_out = make_dataset(None, config, batch_size=args.batch_size, seed=args.seed + 1, files=files[-args.holdout:])
    dorf_inverse = crf.invert_curve(crf.training_curves())
    held_out = [views_and_labels(batch, args.view, args.side, index, dorf_inverse)
                for index, batch in enumerate(held_out.take(args.eval_batches))]

    model = family_classifier()
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, args.steps, alpha=0.05))
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            loss = loss_fn(labels[:, None], model(images, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    def evaluate() -> dict:
        logits = np.concatenate([model(images, training=False).numpy()[:, 0] for images, _ in held_out])
        labels = np.concatenate([labels for _, labels in held_out])
        return {"accuracy": float(np.mean((logits > 0) == (labels > 0.5))),
                "cross_entropy": float(np.mean(np.logaddexp(0, logits) - labels * logits)),
                "samples": int(len(labels)), "modern_fraction": float(labels.mean())}

    history, start, losses = [], time.time(), []
    for step in range(1, args.steps + 1):
        images, labels = views_and_labels(next(train), args.view, args.side, 1000 + step, dorf_inverse)
        losses.append(float(train_step(images, labels)))
        if step % 250 == 0 or step == args.steps:
            record = {"step": step, "train_cross_entropy": float(np.mean(losses)), **evaluate(),
                      "seconds": round(time.time() - start)}
            losses = []
            history.append(record)
            print(record, flush=True)
            write_json(args.out, {"view": args.view, "side": args.side, "batch_size": args.batch_size,
                                  "held_out_files": args.holdout, "history": history})


if __name__ == "__main__":
    main()
