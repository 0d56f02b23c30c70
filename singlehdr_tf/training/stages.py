"""The training stages, each in one place: what it feeds, which networks it trains, which model
output its HDR terms score and how it weighs the loss terms of :mod:`singlehdr_tf.training.losses`.

============== ============================= ======================= ==========================
stage          forward (``D``: frozen deq.)  trains                  objective
============== ============================= ======================= ==========================
dequantization ``dequantization(L)``          Dequantization-Net      ``L_deq``
linearization  ``linearization(D(L))``        Linearization-Net       ``L_lin + 0.1 L_crf + 0.004 L_crf,log``
hallucination  ``hallucination(C(H))``        Hallucination-Net       ``L_hal + .001 L_p + .1 L_tv``
refinement     ``model(L)``                   Refinement-Net only     the joint HDR terms
joint          ``model(L)``                   all four                all, joint weights
============== ============================= ======================= ==========================

The weights follow the paper, plus the log-domain curve term ``inverse_crf_log`` (see
:mod:`~singlehdr_tf.training.losses` for why); the joint objective is
``1 L_deq + 10 L_lin + 1 L_crf + 0.04 L_crf,log + 1 L_hal + 0.001 L_p + 0.1 L_tv`` on the refined
output. The Linearization-Net sees what it sees at inference, the dequantized 8-bit (noisy, JPEG)
input, not the reference code's clean ``F(C(H))``: the curve must be read from the photo users
have. ``refinement`` freezes the first three networks (``trainable = False``, so their batch norms
also run in inference mode): Refinement-Net starts from random weights and its early gradients
would otherwise disturb the three pretrained networks; ``joint`` then fine-tunes end to end.

Example::

    total, terms = stage_loss("linearization", stage_outputs(model, "linearization", batch), batch)
    loss = tf.nn.compute_average_loss(total, global_batch_size=8)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import keras
import tensorflow as tf

from singlehdr_tf.models.single_hdr import NETWORKS
from singlehdr_tf.training import losses

_HDR_TERMS = {"hallucination": 1.0, "perceptual": 0.001, "total_variation": 0.1}


@dataclasses.dataclass(frozen=True)
class Stage:
    """One training stage: the networks it trains, its loss weights and the output its HDR terms score."""

    name: str
    networks: tuple[str, ...]
    weights: Mapping[str, float]
    hdr_output: str | None = None


STAGES: dict[str, Stage] = {stage.name: stage for stage in (
    Stage("dequantization", ("dequantization",), {"dequantization": 1.0}),
    Stage("linearization", ("linearization",), {"linear": 1.0, "linear_log": 0.0, "inverse_crf": 0.1,
                                                "inverse_crf_log": 0.004}),
    Stage("hallucination", ("hallucination",), _HDR_TERMS, "hallucinated"),
    # Refinement-Net alone: the other terms score the frozen networks and are constants here.
    Stage("refinement", ("refinement",), _HDR_TERMS, "hdr"),
    Stage("joint", NETWORKS, {"dequantization": 1.0, "linear": 10.0, "linear_log": 0.0, "inverse_crf": 1.0,
                              "inverse_crf_log": 0.04,
                              **_HDR_TERMS}, "hdr"),
)}
"""Every training stage by name, in the order a full run trains them."""


def get_stage(name: str) -> Stage:
    """The stage called ``name``; a ValueError listing the stages for any other name."""
    if name not in STAGES:
        raise ValueError(f"unknown training stage {name!r}; expected one of {list(STAGES)}")
    return STAGES[name]


def stage_outputs(model: keras.Model, stage: str, batch: Mapping[str, tf.Tensor], training: bool = True) -> dict:
    """The model outputs a stage's objective needs, computed from the stage's input (table above)."""
    if stage == "dequantization":
        return {"dequantized": model.dequantization(batch["ldr"], training=training)}
    if stage == "linearization":
        return model.linearization(model.dequantization(batch["ldr"], training=False), training=training)
    if stage == "hallucination":
        return {"hallucinated": model.hallucination(batch["clipped"], training=training)}
    return model(batch["ldr"], training=training)


def set_stage(model: keras.Model, stage: str) -> list:
    """Mark the stage's sub-networks trainable and the others frozen; return the trainable variables.

    Call before tracing the stage's step: Keras reads ``trainable`` when the step is traced.
    """
    networks = get_stage(stage).networks
    for name in NETWORKS:
        getattr(model, name).trainable = name in networks
    return [variable for name in networks for variable in getattr(model, name).trainable_variables]


def stage_weights(stage: str, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """The term weights of ``stage`` with ``overrides`` (``{term: weight}``, terms of that stage
    only) in place of its defaults."""
    weights = dict(get_stage(stage).weights)
    unknown = sorted(set(overrides or {}) - set(weights))
    if unknown:
        raise ValueError(f"stage {stage!r} has no loss terms {unknown}; its terms are {sorted(weights)}")
    weights.update(overrides or {})
    return weights


def stage_loss(
    stage: str,
    outputs: Mapping[str, tf.Tensor],
    batch: Mapping[str, tf.Tensor],
    perceptual: losses.PerceptualLoss | None = None,
    weight_overrides: Mapping[str, float] | None = None,
) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """The weighted objective of a training stage: ``(total [B], {term: [B]})``, with the weights
    of :func:`stage_weights`.

    Example::

        total, terms = stage_loss("dequantization", {"dequantized": d}, batch)
    """
    weights = stage_weights(stage, weight_overrides)
    terms = losses.loss_terms(outputs, batch, weights, get_stage(stage).hdr_output, perceptual)
    total = tf.add_n([weights[name] * value for name, value in terms.items()])
    return total, terms
