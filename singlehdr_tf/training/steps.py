"""One optimisation step of each training stage, under any ``tf.distribute.Strategy``.

What each stage feeds, trains and scores (``D`` is the frozen Dequantization-Net in inference
mode):

============== ============================= ======================= ==========================
stage          forward                        trains                  objective (losses.py)
============== ============================= ======================= ==========================
dequantization ``dequantization(L)``          Dequantization-Net      ``L_deq``
linearization  ``linearization(D(L))``        Linearization-Net       ``L_lin + 0.1 L_crf``
hallucination  ``hallucination(C(H))``        Hallucination-Net       ``L_hal + .001 L_p + .1 L_tv``
refinement     ``model(L)``                   Refinement-Net only     the joint HDR terms
joint          ``model(L)``                   all four                all, joint weights
============== ============================= ======================= ==========================

The Linearization-Net sees what it sees at inference, the dequantized 8-bit (noisy, JPEG) input,
not the reference code's clean ``F(C(H))``: the curve must be read from the photo users have.
``refinement`` freezes the first three networks (``trainable = False``, so their batch norms also
run in inference mode): the reference fine-tunes everything at once, but Refinement-Net starts from
random weights and its early gradients would otherwise disturb the three pretrained networks; the
``joint`` stage after it then fine-tunes end to end.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import keras
import tensorflow as tf

from singlehdr_tf import losses
from singlehdr_tf.models.single_hdr import NETWORKS

STAGE_NETWORKS = {
    "dequantization": ("dequantization",),
    "linearization": ("linearization",),
    "hallucination": ("hallucination",),
    "refinement": ("refinement",),
    "joint": NETWORKS,
}
"""The sub-networks each stage trains."""


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
    for name in NETWORKS:
        getattr(model, name).trainable = name in STAGE_NETWORKS[stage]
    return [variable for name in STAGE_NETWORKS[stage] for variable in getattr(model, name).trainable_variables]


def make_train_step(
    model: keras.Model,
    stage: str,
    optimizer: keras.optimizers.Optimizer,
    strategy: tf.distribute.Strategy,
    global_batch_size: int,
    perceptual: losses.PerceptualLoss | None = None,
    loss_weights: Mapping[str, float] | None = None,
) -> Callable[[Mapping[str, tf.Tensor]], dict[str, tf.Tensor]]:
    """A ``tf.function`` running one step of ``stage`` on a distributed batch.

    The batch is what a distributed iterator yields (each replica's share); the loss is averaged
    over ``global_batch_size`` so the gradients summed across replicas are the global mean. Returns
    ``{"loss", "grad_norm", <each loss term>}`` as scalars: ``loss`` and the terms are global
    means, ``grad_norm`` is the sum over replicas of each replica's gradient norm (an upper bound of
    the global norm, exact on one replica; it exists to catch overflow early). ``loss_weights``
    overrides some of the stage's term weights (see :func:`singlehdr_tf.losses.stage_weights`).

    Example::

        step = make_train_step(model, "dequantization", optimizer, tf.distribute.get_strategy(), 8)
        metrics = step(next(iterator))
    """
    variables = set_stage(model, stage)

    def replica_step(batch):
        with tf.GradientTape() as tape:
            outputs = stage_outputs(model, stage, batch, training=True)
            total, terms = losses.stage_loss(stage, outputs, batch, perceptual, loss_weights)
            loss = tf.nn.compute_average_loss(total, global_batch_size=global_batch_size)
        gradients = tape.gradient(loss, variables)
        pairs = [(gradient, variable) for gradient, variable in zip(gradients, variables) if gradient is not None]
        optimizer.apply_gradients(pairs)
        metrics = {name: tf.nn.compute_average_loss(value, global_batch_size=global_batch_size)
                   for name, value in terms.items()}
        metrics["loss"] = loss
        metrics["grad_norm"] = tf.linalg.global_norm([gradient for gradient, _ in pairs])
        return metrics

    # A partial, not a closure: tf.function counts traces per code object, and one trace per stage
    # of a shared closure would set off its "frequent retracing" warning.
    return tf.function(functools.partial(_distributed_step, strategy, replica_step))


def _distributed_step(strategy: tf.distribute.Strategy, replica_step: Callable, batch) -> dict[str, tf.Tensor]:
    metrics = strategy.run(replica_step, args=(batch,))
    return {name: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None) for name, value in metrics.items()}
