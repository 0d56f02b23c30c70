"""Validation during training: a fixed set of batches scored with every stage's error, the
inverse-curve error next to two curves that learn nothing (``g0`` and gamma 2.2).

A Linearization-Net can beat ``g0`` on its training scenes by learning how bright they are rather
than how the camera bends light; on held-out scenes and curves it then does worse than ``g0``.
Logging the three curve errors side by side makes that visible while the run goes on.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from singlehdr_tf import crf
from singlehdr_tf.data import DataConfig, make_dataset
from singlehdr_tf.training import losses


def _psnr(prediction: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """PSNR per example for signals with peak 1, ``[B, ...] -> [B]``."""
    return -10.0 * tf.math.log(tf.maximum(losses.l2(prediction, target), 1e-12)) / np.log(10.0)


def validation_batches(
    files: Sequence[str | os.PathLike], data_config: DataConfig, *, batches: int, batch_size: int, seed: int
) -> list[dict[str, np.ndarray]]:
    """``batches`` fixed batches from ``files`` as NumPy (real scenes only: no procedural ones),
    with the DoRF training curves the run left out (``data_config.held_out_dorf_curves``), or,
    where it left none out, the DoRF test curves."""
    real_scenes = dataclasses.replace(data_config, procedural_scenes=0)
    curves = "held_out" if data_config.held_out_dorf_curves else "test"
    dataset = make_dataset(None, real_scenes, batch_size=batch_size, seed=seed, curves=curves, files=list(files))
    return [{name: value.numpy() for name, value in batch.items()} for batch in dataset.take(batches)]


class Validator:
    """Scores a model on fixed batches; :meth:`__call__` returns the metrics of one validation.

    Metrics (means over every validation image):

    - ``curve_l2``: L2 between the predicted inverse curve (from the 8-bit input, through the whole
      pipeline) and the true one; ``curve_l2_g0`` and ``curve_l2_gamma22`` the same for the mean
      inverse-EMoR curve ``g0`` and for ``x ** 2.2``; ``curve_log_l2`` and ``curve_log_l2_g0`` the
      same in stops (:func:`singlehdr_tf.training.losses.log_curve_l2`, which weights the curve's toe).
    - ``dequantized_psnr`` (against ``F(C(H))``; ``ldr_psnr`` is the 8-bit input's own),
      ``linear_psnr`` (against ``C(H)``), ``hallucinated_psnr_tm`` and ``refined_psnr_tm``
      (against ``H``, both tone mapped with :func:`singlehdr_tf.training.losses.tone_map`).

    Example::

        validator = Validator(model, validation_batches(files, DataConfig(), batches=4, batch_size=8, seed=0))
        metrics = validator()
    """

    def __init__(self, model: keras.Model, batches: list[dict[str, np.ndarray]]):
        self.model = model
        self.batches = batches
        self._forward = tf.function(lambda ldr: model(ldr, training=False))
        true = np.concatenate([batch["inverse_crf"] for batch in batches])
        g0 = crf.load_inverse_emor()[0]
        gamma22 = crf.gamma_curve(1.0 / 2.2)  # the inverse of the response x ** (1 / 2.2)
        self.baselines = {
            "curve_l2_g0": float(np.mean((true - g0) ** 2)),
            "curve_l2_gamma22": float(np.mean((true - gamma22) ** 2)),
            "curve_log_l2_g0": float(np.mean(losses.log_curve_l2(true, np.broadcast_to(g0, true.shape)))),
            "ldr_psnr": float(np.mean(np.concatenate([_psnr(b["ldr"], b["nonlinear"]).numpy() for b in batches]))),
        }

    def __call__(self) -> dict[str, float]:
        sums: dict[str, list[np.ndarray]] = {}
        for batch in self.batches:
            outputs = self._forward(tf.constant(batch["ldr"]))
            hdr_tm = losses.tone_map(batch["hdr"])
            scores = {
                "curve_l2": losses.l2(outputs["inverse_crf"], batch["inverse_crf"]),
                "curve_log_l2": losses.log_curve_l2(outputs["inverse_crf"], batch["inverse_crf"]),
                "dequantized_psnr": _psnr(outputs["dequantized"], batch["nonlinear"]),
                "linear_psnr": _psnr(outputs["linear"], batch["clipped"]),
                "hallucinated_psnr_tm": _psnr(losses.tone_map(outputs["hallucinated"]), hdr_tm),
                "refined_psnr_tm": _psnr(losses.tone_map(outputs["hdr"]), hdr_tm),
            }
            for name, value in scores.items():
                sums.setdefault(name, []).append(value.numpy())
        metrics = {name: float(np.mean(np.concatenate(values))) for name, values in sums.items()}
        return {**metrics, **self.baselines}

    def sample_images(self, count: int = 3) -> dict[str, tf.Tensor]:
        """A few input / output / target images of the first batch for TensorBoard, ``[N, H, W, 3]``
        in [0, 1] (HDR tone mapped)."""
        batch = self.batches[0]
        refined = self._forward(tf.constant(batch["ldr"]))["hdr"][:count]
        return {
            "ldr": tf.constant(batch["ldr"][:count]),
            "refined_tm": tf.clip_by_value(losses.tone_map(refined), 0.0, 1.0),
            "hdr_tm": tf.clip_by_value(losses.tone_map(batch["hdr"][:count]), 0.0, 1.0),
        }
