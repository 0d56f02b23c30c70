"""The methods an evaluation compares, as plain callables on one image.

A method takes the input LDR ``[H, W, 3]`` float32 in [0, 1] and returns either

* a tuple ``(hdr [H, W, 3], inverse_crf [1024] or None)`` (the classical baselines), or
* a dict with ``hdr`` and, where the method has them, the stages ``inverse_crf`` ``[1024]``,
  ``dequantized`` and ``linear`` ``[H, W, 3]`` (a :class:`singlehdr_tf.models.SingleHDR`
  through :func:`model_method`), which the report uses for the stage ablation.

A method with the attribute ``needs_true_curve`` (the oracle) is also given the sample's true
inverse response curve.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Sequence

import numpy as np

from singlehdr_tf.errors import SingleHDRError
from singlehdr_tf.evaluation import baselines as baselines_module

Method = Callable[..., "tuple | dict"]


UNTRAINED_SUFFIX = "-untrained"


def model_method(model) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """Adapt a :class:`~singlehdr_tf.api.Reconstructor` (or a :class:`~singlehdr_tf.models.SingleHDR`,
    wrapped in one) to a method returning ``hdr`` and the stages ``inverse_crf``, ``dequantized``
    and ``linear``: exactly what a user of :func:`singlehdr_tf.load` gets."""
    from singlehdr_tf import api  # models and api are only loaded when a model is evaluated

    reconstructor = model if isinstance(model, api.Reconstructor) else api.Reconstructor(model)

    def run(image: np.ndarray) -> dict[str, np.ndarray]:
        return reconstructor.reconstruct(image, return_stages=True)

    return run


def load_model(spec: str):
    """``(report name, Keras model)`` of a ``--model`` spec: a shipped model name or a model path
    (:func:`singlehdr_tf.loading.load_model`), else a config name of
    :data:`singlehdr_tf.models.MODEL_CONFIGS`, built with fresh, untrained weights (for smoke runs
    and timing; its name says ``-untrained``)."""
    from singlehdr_tf import loading, models

    name = f"singlehdr:{pathlib.Path(spec).stem}"
    if spec in models.MODEL_CONFIGS and spec not in loading.shipped_model_names() and not pathlib.Path(spec).exists():
        return name + UNTRAINED_SUFFIX, models.build_model(spec)
    return name, loading.load_model(spec)


def without_dequantization(model) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """The model with its Dequantization-Net held to a step of 0 (the 8-bit input goes to
    linearization unchanged), so the report shows what dequantization adds (the stage ablation).
    It returns no ``dequantized`` stage: that would be the input itself."""
    from singlehdr_tf import models

    method = model_method(models.rebuild_model(model, dequantization_max_step=0.0))

    def run(image: np.ndarray) -> dict[str, np.ndarray]:
        outputs = method(image)
        del outputs["dequantized"]
        return outputs

    return run


def parse_baselines(names: str | Sequence[str] | None) -> list[str]:
    """Baseline names from ``"all"``, a comma-separated string or a list (None or empty: none)."""
    if not names:
        return []
    if isinstance(names, str):
        names = [name for name in names.split(",") if name.strip()]
    names = [name.strip() for name in names]
    if names == ["all"]:
        return list(baselines_module.BASELINES)
    unknown = [name for name in names if name not in baselines_module.BASELINES]
    if unknown:
        raise SingleHDRError(
            f"--baselines {','.join(unknown)}: unknown (known: all, {', '.join(baselines_module.BASELINES)})"
        )
    return names


def without_hallucination(method: Method) -> Method:
    """A model method cut after linearization: its ``linear`` stage scored as the HDR output, so the
    report shows what hallucination and refinement add (the stage ablation)."""

    def run(image: np.ndarray) -> dict[str, np.ndarray]:
        return {"hdr": method(image)["linear"]}

    return run


def without_refinement(model) -> Method:
    """The model with its Refinement-Net switched off (the hallucinated image is the HDR output)."""
    from singlehdr_tf import models

    return model_method(models.rebuild_model(model, use_refinement=False))


def build_methods(models: Sequence[str] = (), baselines: str | Sequence[str] | None = "all") -> dict[str, Method]:
    """The methods of ``--model NAME|PATH ...`` and ``--baselines all|a,b,...``, models first,
    by report name. Each model also appears without its dequantization
    (:func:`without_dequantization`), without its Refinement-Net where it has one switched on
    (:func:`without_refinement`) and cut after linearization (:func:`without_hallucination`)."""
    methods: dict[str, Method] = {}
    for spec in models:
        name, model = load_model(spec)
        methods[name] = model_method(model)
        variants = {"no dequantization": without_dequantization(model)}
        if model.use_refinement:
            variants["no refinement"] = without_refinement(model)
        variants["no hallucination"] = without_hallucination(methods[name])
        for variant, method in variants.items():
            method.ablation_of = name  # the report shows ablations in its tables, not its contact sheet
            methods[f"{name} ({variant})"] = method
    for name in parse_baselines(baselines):
        methods[name] = baselines_module.BASELINES[name]
    if not methods:
        raise SingleHDRError("nothing to evaluate: give --model and/or --baselines")
    return methods


def run_method(method: Method, ldr: np.ndarray, true_inverse_crf: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Run a method on one input and return its outputs as a dict (``hdr`` plus whatever stages
    it has; ``inverse_crf`` only for a global curve)."""
    if getattr(method, "needs_true_curve", False):
        if true_inverse_crf is None:
            raise SingleHDRError("the oracle needs the true inverse curve, which only synthetic sets have")
        result = method(ldr, true_inverse_crf)
    else:
        result = method(ldr)
    if isinstance(result, dict):
        return dict(result)
    hdr, inverse_crf = result
    outputs = {"hdr": hdr}
    if inverse_crf is not None:
        # A global curve method's output is its linear image (nothing hallucinated).
        outputs.update(inverse_crf=inverse_crf, linear=hdr)
    return outputs
