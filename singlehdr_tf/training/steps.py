"""One optimisation step of a training stage (:mod:`singlehdr_tf.training.stages`), under any
``tf.distribute.Strategy``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import keras
import tensorflow as tf

from singlehdr_tf.training import losses
from singlehdr_tf.training.stages import set_stage, stage_loss, stage_outputs


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
    overrides some of the stage's term weights (see :func:`singlehdr_tf.training.stages.stage_weights`).

    Example::

        step = make_train_step(model, "dequantization", optimizer, tf.distribute.get_strategy(), 8)
        metrics = step(next(iterator))
    """
    variables = set_stage(model, stage)

    def replica_step(batch):
        with tf.GradientTape() as tape:
            outputs = stage_outputs(model, stage, batch, training=True)
            total, terms = stage_loss(stage, outputs, batch, perceptual, loss_weights)
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
