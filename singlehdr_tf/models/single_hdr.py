"""``SingleHDR``: the four networks chained, returning every intermediate."""

from __future__ import annotations

import keras
from keras import ops

from singlehdr_tf.layers import DEFAULT_GAMMA
from singlehdr_tf.models.dequantization import DequantizationNet
from singlehdr_tf.models.hallucination import HallucinationNet
from singlehdr_tf.models.linearization import LinearizationNet
from singlehdr_tf.models.refinement import RefinementNet

NETWORKS = ("dequantization", "linearization", "hallucination", "refinement")
"""The attribute names of the four networks, in the order they run."""


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class SingleHDR(keras.Model):
    """Single-image HDR by reversing the camera pipeline ``L = Q(F(C(H)))``.

    ``model(ldr, training=False)`` with ``ldr`` ``[B, H, W, 3]`` float32 in [0, 1], any ``H, W``,
    returns a dict of:

    - ``"dequantized"`` ``[B, H, W, 3]``: the Dequantization-Net's output (reverses ``Q``), in [0, 1];
    - ``"inverse_crf"`` ``[B, 1024]``: the inverse response ``g`` on ``linspace(0, 1, 1024)``;
    - ``"linear"`` ``[B, H, W, 3]``: ``g(dequantized)`` (reverses ``F``), in [0, 1];
    - ``"hallucinated"`` ``[B, H, W, 3]``: the linear image with clipped highlights restored
      (reverses ``C``), >= ``linear``;
    - ``"hdr"`` ``[B, H, W, 3]``: the final HDR, linear, >= 0, 1 = the clipping level (the
      hallucinated image itself with ``use_refinement=False``: a shipped model switches off a
      stage that does not help on held-out scenes, see ``saved_models/MODEL_CARD.md``).

    The stages are attributes (``dequantization``, ``linearization``, ``hallucination``,
    ``refinement``) so each can be trained and called alone. Build one from a named config with
    :func:`singlehdr_tf.models.build_model`.

    Example:
        >>> from singlehdr_tf.models import MODEL_CONFIGS
        >>> model = SingleHDR(**MODEL_CONFIGS["tiny"])
        >>> out = model(keras.ops.zeros((1, 20, 24, 3)))
        >>> tuple(out["hdr"].shape), tuple(out["inverse_crf"].shape)
        ((1, 20, 24, 3), (1, 1024))
    """

    def __init__(
        self,
        dequantization_filters=(16, 32, 64, 128, 256),
        dequantization_kernel_sizes=(7, 5, 3, 3, 3),
        dequantization_max_step: float | None = None,
        linearization_size=None,
        linearization_stem_filters: int = 64,
        linearization_stages=((64, 3), (128, 2)),
        histogram_bins=(4, 8, 16),
        crf_weights: int = 11,
        curve_shrinkage: float = 1.0,
        curve_basis: str = "emor",
        fixed_curve: str | None = None,
        linearization_windows: int = 0,
        linearization_window_size: int = 64,
        curve_shrink_toward: str | None = None,
        curve_shrink_toward_share: float = 1.0,
        linearization_ensemble_size: int = 1,
        hallucination_filters=(64, 128, 256, 512, 512),
        hallucination_convs=(2, 2, 3, 3, 3),
        gamma: float = DEFAULT_GAMMA,
        refinement_filters=(16, 32, 64, 128, 128),
        refinement_kernel_sizes=(7, 5, 3, 3, 3),
        use_refinement: bool = True,
        **kwargs,
    ):
        super().__init__(**{"dtype": "float32", **kwargs})
        # The networks take float32 images and return float32 stages under any dtype policy: only
        # their inner convolution stacks follow the policy (bfloat16 under "mixed_bfloat16"); the
        # features, curve, residual sums and outputs are float32 layers (8-bit codes and curve
        # values need more than bfloat16's 8 significant bits).
        self.dequantization = DequantizationNet(dequantization_filters, dequantization_kernel_sizes,
                                                dequantization_max_step, dtype="float32", name="dequantization")
        self.linearization = LinearizationNet(linearization_size, linearization_stem_filters, linearization_stages,
                                              histogram_bins, crf_weights, curve_shrinkage, curve_basis,
                                              fixed_curve, linearization_windows, linearization_window_size,
                                              curve_shrink_toward, curve_shrink_toward_share,
                                              linearization_ensemble_size, dtype="float32", name="linearization")
        self.hallucination = HallucinationNet(hallucination_filters, hallucination_convs, gamma, dtype="float32",
                                              name="hallucination")
        self.refinement = RefinementNet(refinement_filters, refinement_kernel_sizes, gamma, dtype="float32",
                                        name="refinement")
        self.use_refinement = bool(use_refinement)

    def build(self, input_shape):
        # Every network that runs builds its weights on a small symbolic image (a switched-off
        # Refinement-Net has none), so a .keras file's weights find their layers when it loads.
        if not self.hallucination.built:
            self.call(keras.KerasTensor((1, 32, 32, 3), dtype="float32"))
        super().build(input_shape)

    def call(self, ldr):
        dequantized = self.dequantization(ops.cast(ldr, "float32"))
        linearized = self.linearization(dequantized)
        linear = linearized["linear"]
        hallucinated = self.hallucination(linear)
        refined = self.refine(hallucinated, linear, dequantized)
        return {
            "dequantized": dequantized,
            "inverse_crf": linearized["inverse_crf"],
            "linear": linear,
            "hallucinated": hallucinated,
            "hdr": refined,
        }

    def refine(self, hallucinated, linear, dequantized, training=None):
        """The Refinement-Net's output, or ``hallucinated`` itself when it is switched off."""
        if not self.use_refinement:
            return hallucinated
        return self.refinement(hallucinated, linear, dequantized, training=training)

    def get_config(self):
        config = super().get_config()
        dequantization = self.dequantization.get_config()
        linearization = self.linearization.get_config()
        hallucination = self.hallucination.get_config()
        refinement = self.refinement.get_config()
        config.update(
            dequantization_filters=dequantization["filters"],
            dequantization_kernel_sizes=dequantization["kernel_sizes"],
            dequantization_max_step=dequantization["max_step"],
            linearization_size=linearization["size"],
            linearization_stem_filters=linearization["stem_filters"],
            linearization_stages=linearization["stages"],
            histogram_bins=linearization["histogram_bins"],
            crf_weights=linearization["crf_weights"],
            curve_shrinkage=linearization["curve_shrinkage"],
            curve_basis=linearization["curve_basis"],
            fixed_curve=linearization["fixed_curve"],
            linearization_windows=linearization["windows"],
            linearization_window_size=linearization["window_size"],
            curve_shrink_toward=linearization["shrink_toward"],
            curve_shrink_toward_share=linearization["shrink_toward_share"],
            linearization_ensemble_size=linearization["ensemble_size"],
            hallucination_filters=hallucination["filters"],
            hallucination_convs=hallucination["convs"],
            gamma=hallucination["gamma"],
            refinement_filters=refinement["filters"],
            refinement_kernel_sizes=refinement["kernel_sizes"],
            use_refinement=self.use_refinement,
        )
        return config
