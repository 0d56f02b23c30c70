"""Every loss term of the method and the weightings of each training stage.

Terms (each returns one value per example, ``[B]``, so a training loop can average them over the
global batch under any ``tf.distribute`` strategy):

- ``dequantization``: L2 between the dequantized image and ``F(C(H))``.
- ``linear``: L2 between the linear image and ``C(H)`` (the paper's ``L_lin``).
- ``linear_log``: the variance over the unclipped pixels of the log2 ratio of the linear image to
  ``C(H)``: its log error in stops once the best exposure is chosen (not in the paper, see below).
- ``inverse_crf``: L2 between the predicted and the true inverse curve (``L_crf``).
- ``inverse_crf_log``: L2 between the base-2 logarithms of the two curves, each raised to
  :data:`CURVE_LOG_FLOOR` first (not in the paper, see below).
- ``hallucination``: L2 between ``log(max(x, 0) + eps)`` of the HDR output and of ``H``
  (``L_hal``), averaged over the whole image, as in the paper. The reference code weights by the
  highlight mask instead; the choice barely matters here because Hallucination-Net blends its
  prediction in by that mask: outside it the output is the linear input, which in the
  hallucination stage is ``C(H) = H``, adding zero error and zero gradient. So the whole-image
  mean is the mask-weighted error divided by the image size rather than by the mask's area,
  which keeps crops with a few saturated pixels from dominating a batch; and in the joint stage
  the unmasked pixels also score the linear image in log space, which is wanted there.
- ``perceptual``: L1 between VGG16 ``block1_pool``..``block3_pool`` features of the tone-mapped
  HDR output and of the tone-mapped ``H`` (``L_p``); needs a VGG16 weights file.
- ``total_variation``: L1 total variation of the tone-mapped HDR output (``L_tv``).

Why ``inverse_crf_log``: ``L_crf`` and ``L_lin`` compare linear values, where the curve's toe
(8-bit codes below ~16, values under 1e-2) costs almost nothing, so under the uncertainty about
the camera the net learns the *arithmetic* mean of the plausible toes. Their spread is several
stops, and the arithmetic mean of values spread that much lies stops above their geometric mean,
which the evaluation's log error (in stops, over every pixel) pays for in the shadows. A
log-domain term makes the estimate the geometric mean where the curve is uncertain and leaves the
rest, where both terms agree, alone. Its stage weights (:mod:`singlehdr_tf.training.stages`) make
it start at about the size of ``L_lin``.

Why ``linear_log``: the evaluation aligns each output's exposure to the reference and then scores
the log error in stops, so a curve is judged on its shape, not its scale, and on every pixel the
photo did not clip. ``L_lin`` and ``L_crf`` score linear values, where a global scale error costs
as much as a shape error and the shadows almost nothing. This term scores what the evaluation
scores (aligned by the geometric mean instead of the evaluation's median of luminance, which is
differentiable); it is off (weight 0) unless a training config weighs it.

The weights each training stage gives these terms live in :mod:`singlehdr_tf.training.stages`;
the measurements behind these choices are in the model card and ``release/logs/``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import keras
import tensorflow as tf

from singlehdr_tf.errors import SingleHDRError
from singlehdr_tf.metrics import LOG_FLOOR, LUMINANCE_WEIGHTS

CURVE_LOG_FLOOR = LOG_FLOOR
"""Curve values below this are raised to it before the log of ``inverse_crf_log``: the evaluation's
floor of the log error."""

HDR_LOG_EPSILON = CURVE_LOG_FLOOR
"""``eps`` of the log-L2 HDR loss ``log(H + eps)``: the evaluation's log floor, so the loss scores
the shadows down to where the evaluation stops. The reference code's 1/255 leaves values below
~0.004 almost unscored, i.e. whatever the Refinement-Net does to the darkest input codes."""

TONE_MAP_MU = 10.0
"""Strength of the tone map ``log(1 + mu x) / log(1 + mu)`` under the perceptual and TV terms."""

PERCEPTUAL_LAYERS = ("block1_pool", "block2_pool", "block3_pool")
"""VGG16 layers compared by the perceptual term (the reference code's pool1..pool3)."""

TERMS = ("dequantization", "linear", "linear_log", "inverse_crf", "inverse_crf_log", "hallucination", "perceptual",
         "total_variation")
"""Every loss term, in the order the logs list them."""

EXPOSURE_GATED_TERMS = ("linear", "linear_log", "inverse_crf", "inverse_crf_log", "hallucination", "perceptual",
                        "total_variation")
"""Terms switched off for crops that are mostly saturated or mostly black (see :func:`exposure_weight`)."""


def _per_example_mean(values: tf.Tensor) -> tf.Tensor:
    """Mean over every axis but the first: ``[B, ...] -> [B]``."""
    return tf.reduce_mean(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)


def l2(prediction: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Mean squared error per example, ``[B, ...] -> [B]``."""
    return _per_example_mean(tf.square(tf.cast(prediction, tf.float32) - tf.cast(target, tf.float32)))


def log_l2(prediction: tf.Tensor, hdr: tf.Tensor, epsilon: float = HDR_LOG_EPSILON) -> tf.Tensor:
    """L2 between ``log(max(x, 0) + eps)`` of the predicted and true HDR ``[B, H, W, 3]`` -> ``[B]``."""

    def log(x):
        return tf.math.log(tf.nn.relu(tf.cast(x, tf.float32)) + epsilon)

    return l2(log(prediction), log(hdr))


def log_curve_l2(prediction: tf.Tensor, target: tf.Tensor, floor: float = CURVE_LOG_FLOOR) -> tf.Tensor:
    """L2 in stops between curves ``[B, N]`` -> ``[B]``: ``mean((log2 max(p, floor) - log2 max(t, floor))^2)``."""
    return l2(_floored_log2(prediction, floor), _floored_log2(target, floor))


def _floored_log2(x: tf.Tensor, floor: float) -> tf.Tensor:
    """``log2 max(x, floor)`` in float32: values in stops, the evaluation's floor below."""
    return tf.math.log(tf.maximum(tf.cast(x, tf.float32), floor)) / math.log(2.0)


def scale_invariant_log_l2(prediction: tf.Tensor, target: tf.Tensor, ldr: tf.Tensor,
                           floor: float = LOG_FLOOR) -> tf.Tensor:
    """Per example ``[B, H, W, 3] -> [B]``: the variance of ``d = log2 max(p, floor) - log2 max(t, floor)``
    over the RGB values of the pixels where no channel of ``ldr`` clipped, i.e. the mean squared log
    error in stops after the exposure shift that minimises it; 0 where every pixel clipped."""
    difference = _floored_log2(prediction, floor) - _floored_log2(target, floor)
    unclipped = tf.cast(tf.reduce_max(tf.cast(ldr, tf.float32), axis=-1, keepdims=True) < 1.0, tf.float32)
    mask = tf.broadcast_to(unclipped, tf.shape(difference))
    count = tf.maximum(tf.reduce_sum(mask, axis=[1, 2, 3]), 1.0)
    mean = tf.reduce_sum(difference * mask, axis=[1, 2, 3]) / count
    mean_square = tf.reduce_sum(tf.square(difference) * mask, axis=[1, 2, 3]) / count
    return tf.maximum(mean_square - tf.square(mean), 0.0)


def tone_map(hdr: tf.Tensor, mu: float = TONE_MAP_MU) -> tf.Tensor:
    """``log(1 + mu max(H, 0)) / log(1 + mu)``: maps 0 -> 0 and the clipping level 1 -> 1, compresses
    highlights above it. ``[B, H, W, 3]``."""
    return tf.math.log1p(mu * tf.nn.relu(tf.cast(hdr, tf.float32))) / math.log1p(mu)


def total_variation(image: tf.Tensor) -> tf.Tensor:
    """Anisotropic L1 total variation per example: mean ``|dx|`` plus mean ``|dy|``, ``[B, H, W, C] -> [B]``."""
    image = tf.cast(image, tf.float32)
    return _per_example_mean(tf.abs(image[:, 1:] - image[:, :-1])) + _per_example_mean(
        tf.abs(image[:, :, 1:] - image[:, :, :-1])
    )


def exposure_weight(ldr: tf.Tensor, fraction: float = 0.5) -> tf.Tensor:
    """1 for a usable crop, 0 for one where more than ``fraction`` of the pixels are saturated
    (grey, the Rec. 709 weighted codes, >= 249/255) or black (grey <= 6/255), ``[B, H, W, 3] -> [B]``.

    From the reference code (not in the paper): such crops carry almost no information about the
    camera curve or the lost highlights, so their linearization and hallucination terms only add
    noise to the gradient.
    """
    grey = tf.tensordot(tf.cast(ldr, tf.float32), tf.constant(LUMINANCE_WEIGHTS, tf.float32), axes=1)
    saturated = _per_example_mean(tf.cast(grey >= 249.0 / 255.0, tf.float32))
    black = _per_example_mean(tf.cast(grey <= 6.0 / 255.0, tf.float32))
    return tf.cast((saturated <= fraction) & (black <= fraction), tf.float32)


class PerceptualLoss:
    """L1 distance between VGG16 features of tone-mapped HDR images, ``[B, H, W, 3] x 2 -> [B]``.

    The VGG16 convolutional weights come from a Keras weights file (``*.weights.h5`` of
    ``keras.applications.VGG16(include_top=False)``, or Keras's own legacy ``..._notop.h5``),
    because ImageNet weights cannot be downloaded at run time. Inputs are tone mapped with
    :func:`tone_map`, scaled to [0, 255] and preprocessed as VGG16 expects (BGR, mean removed).

    Example::

        perceptual = PerceptualLoss("vgg16_notop.weights.h5")
        per_example = perceptual(refined, hdr)
    """

    def __init__(self, weights_path: str | os.PathLike):
        path = os.fspath(weights_path)
        if not os.path.isfile(path):
            raise SingleHDRError(f"{path}: VGG16 weights file for the perceptual loss not found")
        vgg = keras.applications.VGG16(weights=None, include_top=False, input_shape=(None, None, 3))
        try:
            vgg.load_weights(path)
        except Exception as error:  # Keras raises several types for a wrong or corrupt file
            raise SingleHDRError(
                f"{path}: not a VGG16 (include_top=False) Keras weights file: {error}"
            ) from error
        vgg.trainable = False
        self.weights_path = path
        self.features = keras.Model(vgg.input, [vgg.get_layer(name).output for name in PERCEPTUAL_LAYERS])

    def _features(self, hdr: tf.Tensor) -> list[tf.Tensor]:
        rgb = tone_map(hdr) * 255.0
        return self.features(keras.applications.vgg16.preprocess_input(rgb), training=False)

    def __call__(self, prediction: tf.Tensor, hdr: tf.Tensor) -> tf.Tensor:
        return tf.add_n(
            [
                _per_example_mean(tf.abs(a - b))
                for a, b in zip(self._features(prediction), self._features(hdr))
            ]
        )


def loss_terms(
    outputs: Mapping[str, tf.Tensor],
    batch: Mapping[str, tf.Tensor],
    weights: Mapping[str, float],
    hdr_output: str | None = None,
    perceptual: PerceptualLoss | None = None,
) -> dict[str, tf.Tensor]:
    """Each term with a non-zero weight, ``{name: [B]}``, before weighting.

    Args:
        outputs: model outputs (``dequantized``, ``linear``, ``inverse_crf``, ``hallucinated``,
            ``hdr``), only those the weighted terms need.
        batch: the data pipeline's targets ``nonlinear``, ``clipped``, ``inverse_crf``, ``hdr``
            and the input ``ldr``.
        weights: ``{term: weight}``; terms with weight 0 are not computed.
        hdr_output: key of ``outputs`` scored by the HDR terms.
        perceptual: the perceptual term's VGG, or None to leave that term out.
    """
    active = {name for name, weight in weights.items() if weight}
    terms: dict[str, tf.Tensor] = {}
    if "dequantization" in active:
        terms["dequantization"] = l2(outputs["dequantized"], batch["nonlinear"])
    if "linear" in active:
        terms["linear"] = l2(outputs["linear"], batch["clipped"])
    if "linear_log" in active:
        terms["linear_log"] = scale_invariant_log_l2(outputs["linear"], batch["clipped"], batch["ldr"])
    if "inverse_crf" in active:
        terms["inverse_crf"] = l2(outputs["inverse_crf"], batch["inverse_crf"])
    if "inverse_crf_log" in active:
        terms["inverse_crf_log"] = log_curve_l2(outputs["inverse_crf"], batch["inverse_crf"])
    if active & {"hallucination", "perceptual", "total_variation"}:
        prediction = outputs[hdr_output]
        if "hallucination" in active:
            terms["hallucination"] = log_l2(prediction, batch["hdr"])
        if "perceptual" in active and perceptual is not None:
            terms["perceptual"] = perceptual(prediction, batch["hdr"])
        if "total_variation" in active:
            terms["total_variation"] = total_variation(tone_map(prediction))
    gate = exposure_weight(batch["ldr"])
    return {name: value * gate if name in EXPOSURE_GATED_TERMS else value for name, value in terms.items()}

