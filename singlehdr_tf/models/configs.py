"""Named model variants (maxim-tf style: one dict, sizes beside each) and :func:`build_model`.

Parameter counts and GFLOP per megapixel (multiply-adds x 2, a 1024x1024 input, whole pipeline)
come from ``python tools/model_summary.py``, which writes ``release/benchmarks/models.json``.

``lite`` spends its budget where it matters at full resolution: 8-filter first levels in the
U-Nets (a full-resolution 3x3 16->16 convolution alone costs 4.7 GFLOP/MP), 3x3 kernels
instead of the reference's 7x7/5x5, six U-Net levels for a large receptive field at little cost,
most Hallucination-Net width in its deep (cheap) levels, and the Linearization-Net on a 256x256
area-resized copy (a fixed ~1.9 GFLOP per image whatever its size).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from singlehdr_tf.errors import SingleHDRError
from singlehdr_tf.models.single_hdr import NETWORKS, SingleHDR

MODEL_CONFIGS: dict[str, dict] = {
    # The reference implementation's widths: 29.04M params, 1722 GFLOP/MP
    # (dequantization 145, linearization at full resolution 211, hallucination 1222, refinement 145).
    "paper": dict(
        dequantization_filters=(16, 32, 64, 128, 256),
        dequantization_kernel_sizes=(7, 5, 3, 3, 3),
        linearization_size=None,
        linearization_stem_filters=64,
        linearization_stages=((64, 3), (128, 2)),
        histogram_bins=(4, 8, 16),
        crf_weights=11,
        hallucination_filters=(64, 128, 256, 512, 512),
        hallucination_convs=(2, 2, 3, 3, 3),
        gamma=0.88,
        refinement_filters=(16, 32, 64, 128, 128),
        refinement_kernel_sizes=(7, 5, 3, 3, 3),
    ),
    # The shipped default, for CPUs and phones: 3.18M params, 92.8 GFLOP/MP, 97.3 GFLOP at 1024x1024
    # (budget: 4M, 100) (dequantization 19.2, linearization on 256x256 7.7, hallucination 45.9,
    # refinement 20.1).
    "lite": dict(
        dequantization_filters=(8, 16, 24, 32, 64, 96),
        dequantization_kernel_sizes=(3, 3, 3, 3, 3, 3),
        dequantization_max_step=0.125 / 255,  # a release sets its own: tools/choose_stage_settings.py
        linearization_size=256,
        linearization_stem_filters=32,
        linearization_stages=((32, 2), (64, 2)),
        histogram_bins=(4, 8, 16),
        crf_weights=11,
        curve_basis="camera",  # refitted on DoRF and modern encodings: see crf.CURVE_BASES
        hallucination_filters=(12, 24, 48, 96, 192),
        hallucination_convs=(1, 2, 2, 2, 3),
        gamma=0.88,
        refinement_filters=(8, 16, 24, 32, 64, 96),
        refinement_kernel_sizes=(3, 3, 3, 3, 3, 3),
    ),
    # For tests and smoke runs only (16x16 inputs, seconds on a CPU); not for real images.
    "tiny": dict(
        dequantization_filters=(4, 8),
        dequantization_kernel_sizes=(3, 3),
        linearization_size=16,
        linearization_stem_filters=4,
        linearization_stages=((4, 1),),
        histogram_bins=(4,),
        crf_weights=11,
        hallucination_filters=(4, 8),
        hallucination_convs=(1, 1),
        gamma=0.88,
        refinement_filters=(4, 8),
        refinement_kernel_sizes=(3, 3),
    ),
}
"""Keyword arguments of :class:`SingleHDR` for each named variant."""

DEFAULT_MODEL = "lite"


def build_model(name_or_config: str | Mapping = DEFAULT_MODEL) -> SingleHDR:
    """A new, untrained :class:`SingleHDR` from a name in :data:`MODEL_CONFIGS` or a config dict
    (``SingleHDR`` keyword arguments, e.g. ``model.get_config()``).

    Example:
        >>> import keras
        >>> sorted(build_model("tiny")(keras.ops.zeros((1, 16, 16, 3))))
        ['dequantized', 'hallucinated', 'inverse_crf', 'linear', 'refined']
    """
    if isinstance(name_or_config, str):
        if name_or_config not in MODEL_CONFIGS:
            raise SingleHDRError(f"{name_or_config}: unknown model config (known: {', '.join(MODEL_CONFIGS)})")
        return SingleHDR(**MODEL_CONFIGS[name_or_config], name=f"singlehdr_{name_or_config}")
    return SingleHDR.from_config(dict(name_or_config))


def rebuild_model(model: SingleHDR, **changes) -> SingleHDR:
    """A copy of ``model`` with its weights and some config values changed, for values that
    hold no weights (e.g. ``curve_shrinkage`` chosen after training).

    Example:
        >>> model = build_model("tiny")
        >>> rebuild_model(model, curve_shrinkage=0.5).get_config()["curve_shrinkage"]
        0.5
    """
    config = {**model.get_config(), **changes}
    copy = SingleHDR.from_config(config)
    copy(np.zeros((1, 32, 32, 3), np.float32))
    if not model.built:
        model(np.zeros((1, 32, 32, 3), np.float32))
    missing = copy_matching_weights(model, copy)
    if missing:
        raise SingleHDRError(f"rebuild_model {changes}: the model has no weights for {', '.join(missing[:3])}")
    return copy


def relative_path(variable) -> str:
    """A variable's path below its model (``linearization/to_weights/kernel``), whether or not
    Keras put the model's name in front (it does when the model builds itself, not when it
    loads a ``.keras`` file)."""
    first, rest = variable.path.split("/", 1)
    return variable.path if first in NETWORKS else rest


def copy_matching_weights(source, target, skip=()) -> list[str]:
    """Assign every variable of ``target`` the value of the ``source`` weight of the same
    :func:`relative_path` and shape, except those under the path prefixes ``skip``; return the
    paths (not under ``skip``) that found no match. ``source`` is a model or a mapping
    ``{relative path: array}`` (e.g. a training checkpoint's tensors). Variables of switched-off
    stages are never built, so models differing in weight-free settings copy whole."""
    if not isinstance(source, Mapping):
        source = {relative_path(v): v for v in source.weights}
    missing = []
    for variable in target.weights:
        path = relative_path(variable)
        if any(path == part or path.startswith(part + "/") for part in skip):
            continue
        if path in source and tuple(source[path].shape) == tuple(variable.shape):
            variable.assign(source[path])
        else:
            missing.append(path)
    return missing
