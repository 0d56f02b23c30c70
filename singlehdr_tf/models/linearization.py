"""The Linearization-Net: predicts the inverse camera response from the image, its edges and soft
histograms, and applies it."""

from __future__ import annotations

import keras
from keras import ops

from singlehdr_tf import crf
from singlehdr_tf.layers import InverseCRF, SobelEdges, SoftHistogram, area_resize, native_windows


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class BottleneckBlock(keras.layers.Layer):
    """ResNet bottleneck (1x1 ``width``, 3x3 ``width`` with ``strides``, 1x1 ``4 * width``, batch
    normalisation after each, identity or projected shortcut, ReLU): ``[B, H, W, C] ->
    [B, H/s, W/s, 4 * width]``. The stride sits on the 3x3 convolution (ResNet v1.5, more accurate
    than the reference's Caffe ResNet-50, which strides the first 1x1 and skips 3/4 of the pixels)."""

    def __init__(self, width: int, strides: int = 1, project: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.width = width
        self.strides = strides
        self.project = project
        conv = lambda filters, size, stride, name: keras.layers.Conv2D(  # noqa: E731
            filters, size, strides=stride, padding="same", use_bias=False, name=name)
        self.reduce = conv(width, 1, 1, "reduce")
        self.reduce_norm = keras.layers.BatchNormalization(name="reduce_norm")
        self.spatial = conv(width, 3, strides, "spatial")
        self.spatial_norm = keras.layers.BatchNormalization(name="spatial_norm")
        self.expand = conv(4 * width, 1, 1, "expand")
        self.expand_norm = keras.layers.BatchNormalization(name="expand_norm")
        if project:
            self.shortcut = conv(4 * width, 1, strides, "shortcut")
            self.shortcut_norm = keras.layers.BatchNormalization(name="shortcut_norm")

    def call(self, inputs):
        x = ops.relu(self.reduce_norm(self.reduce(inputs)))
        x = ops.relu(self.spatial_norm(self.spatial(x)))
        x = self.expand_norm(self.expand(x))
        shortcut = self.shortcut_norm(self.shortcut(inputs)) if self.project else inputs
        return ops.relu(x + shortcut)

    def get_config(self):
        config = super().get_config()
        config.update(width=self.width, strides=self.strides, project=self.project)
        return config


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class LinearizationNet(keras.Model):
    """Inverse CRF from a dequantized image: ``[B, H, W, 3] -> {"inverse_crf": [B, 1024],
    "linear": [B, H, W, 3]}``.

    The features ``[image, Sobel edges, soft histograms]`` of a ``size`` x ``size`` area-resized copy
    (the curve is global, so a small copy suffices; ``size=None`` uses the full image, as the
    reference does) go through a ResNet stem (7x7/2 convolution, 3x3/2 max pooling) and bottleneck
    stages ``stages = [(width, blocks), ...]`` (the first at stride 1, the others 2), global average
    pooling and a dense layer to ``crf_weights`` weights in the curve basis ``curve_basis``
    (:data:`singlehdr_tf.crf.CURVE_BASES`); :class:`InverseCRF` turns them into the curve and applies
    it to the full-resolution input. ``curve_shrinkage`` ``s`` < 1 blends the estimate with a
    fallback curve, ``shrink_toward`` (a name of :data:`singlehdr_tf.crf.FIXED_INVERSE_CURVES`, e.g.
    inverse sRGB, mixed with the basis prior ``g0`` at ``shrink_toward_share`` < 1) or ``g0`` where
    that is None (:class:`InverseCRF`). ``fixed_curve`` (a name there too)
    switches the estimate off: every photo gets that curve, the release's choice where no blend of
    the learned curve beats it on held-out training scenes (``tools/choose_curve_shrinkage.py``).

    ``windows = n > 0`` adds what resizing erases: ``n`` x ``n`` windows of ``window_size`` pixels
    cut at native resolution, spread over the photo (:func:`singlehdr_tf.layers.native_windows`),
    go through the same backbone, and their mean pooled features join the resized copy's before
    the dense layer. Native pixels keep the local traces of the curve, blurred edges between two
    colours (linear blends in radiance, bent by the curve) and sensor noise whose strength follows
    the curve's slope, which area averaging turns into blends and averages of encoded values.

    ``ensemble_size = n > 1`` averages the curves of ``n`` estimators of this architecture
    (:meth:`members`: this one, whose weights keep their paths, and ``n - 1`` more, each trained
    apart from its own seed and copied in): estimators trained from different seeds err on
    different photos, and on camera curves none of them saw the mean of three scored better than
    each alone (``release/logs/experiments/curve_ensemble/``). Each curve is non-decreasing from 0
    to 1, so their mean is one, and the mean of the members' blends toward the fallback is the
    blend of their mean; the curve is applied once.

    Example:
        >>> net = LinearizationNet(size=16, stem_filters=4, stages=((4, 1),), histogram_bins=(4,))
        >>> out = net(keras.ops.zeros((1, 20, 30, 3)))
        >>> tuple(out["inverse_crf"].shape), tuple(out["linear"].shape)
        ((1, 1024), (1, 20, 30, 3))
    """

    def __init__(self, size=256, stem_filters: int = 64, stages=((64, 3), (128, 2)),
                 histogram_bins=(4, 8, 16), crf_weights: int = 11, curve_shrinkage: float = 1.0,
                 curve_basis: str = "emor", fixed_curve: str | None = None, windows: int = 0,
                 window_size: int = 64, shrink_toward: str | None = None, shrink_toward_share: float = 1.0,
                 ensemble_size: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.size = None if size is None else int(size)
        self.stem_filters = int(stem_filters)
        self.stages = tuple((int(width), int(blocks)) for width, blocks in stages)
        self.histogram_bins = tuple(int(b) for b in histogram_bins)
        self.crf_weights = int(crf_weights)
        self.curve_shrinkage = float(curve_shrinkage)
        self.curve_basis = str(curve_basis)
        self.fixed_curve = None if fixed_curve is None else str(fixed_curve)
        self.shrink_toward = None if shrink_toward is None else str(shrink_toward)
        self.shrink_toward_share = float(shrink_toward_share)
        self._fixed = None if fixed_curve is None else crf.fixed_inverse_curve(self.fixed_curve)
        self.windows = int(windows)
        self.window_size = int(window_size)
        self.ensemble_size = int(ensemble_size)
        if self.ensemble_size < 1:
            raise ValueError(f"ensemble_size must be at least 1, got {ensemble_size}")
        # Features, curve weights and curve in float32 under any policy (see SingleHDR).
        self.edges = SobelEdges(dtype="float32", name="edges")
        self.histogram = SoftHistogram(self.histogram_bins, dtype="float32", name="histogram")
        self.stem = keras.layers.Conv2D(self.stem_filters, 7, strides=2, padding="same", use_bias=False,
                                        name="stem")
        self.stem_norm = keras.layers.BatchNormalization(name="stem_norm")
        self.stem_pool = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")
        self.blocks = []
        channels = self.stem_filters
        for stage, (width, blocks) in enumerate(self.stages):
            for block in range(blocks):
                strides = 2 if stage > 0 and block == 0 else 1
                project = block == 0 and (strides != 1 or channels != 4 * width)
                self.blocks.append(BottleneckBlock(width, strides, project, name=f"stage{stage}_block{block}"))
                channels = 4 * width
        # Small initial weights: the first curves are close to the EMoR mean g0, yet gradients reach
        # the backbone from the first step.
        self.to_weights = keras.layers.Dense(
            self.crf_weights, kernel_initializer=keras.initializers.VarianceScaling(0.01), dtype="float32",
            name="to_weights")
        self.inverse_crf = InverseCRF(self.crf_weights, self.curve_shrinkage, self.curve_basis, self.shrink_toward,
                                      self.shrink_toward_share, dtype="float32", name="inverse_crf")
        member_config = {key: value for key, value in self.get_config().items()
                         if key not in ("name", "trainable", "ensemble_size")}
        self.other_members = [LinearizationNet(**member_config, name=f"member{index}")
                              for index in range(1, self.ensemble_size)]

    def members(self) -> tuple[LinearizationNet, ...]:
        """The estimators whose curves are averaged: this network first, then ``other_members``. (A
        method: as an attribute holding ``self``, Keras' saving would walk into it without end.)"""
        return (self, *self.other_members)

    @property
    def estimates_curve(self) -> bool:
        """Whether the estimator runs (not with a ``fixed_curve``)."""
        return self.fixed_curve is None

    def predict_crf_weights(self, images, small=None):
        """The raw curve-basis weights ``[B, K]`` of images ``[B, H, W, 3]`` in [0, 1], before
        shrinkage and projection (what ``tools/choose_curve_shrinkage.py`` needs), of this
        estimator alone (an ensemble's are those of each of :meth:`members`). ``small``: ``images``
        area-resized to ``size`` already (an ensemble resizes once for all its members). Batch
        normalisation runs in the mode of the enclosing call (inference when called directly)."""
        if small is None:
            small = self._resized(images)
        features = self._pooled_features(small)
        if self.windows:
            pooled = self._pooled_features(native_windows(images, self.windows, self.window_size))
            pooled = ops.reshape(pooled, (self.windows**2, -1, ops.shape(pooled)[-1]))  # [windows, B, F]
            features = ops.concatenate([features, ops.mean(pooled, axis=0)], axis=-1)
        return self.to_weights(features)

    def _resized(self, images):
        """The copy the estimator sees: ``images`` area-resized to ``size`` x ``size`` (or themselves)."""
        return images if self.size is None else area_resize(images, self.size)

    def _pooled_features(self, images):
        """``[B, H, W, 3] -> [B, F]``: the backbone on ``[image, edges, histograms]``, averaged."""
        x = ops.concatenate([images, self.edges(images), self.histogram(images)], axis=-1)
        x = self.stem_pool(ops.relu(self.stem_norm(self.stem(x))))
        for block in self.blocks:
            x = block(x)
        return ops.mean(x, axis=(1, 2))

    def build(self, input_shape):
        # The estimator's weights exist whether or not it runs, so one checkpoint loads either way
        # (and a .keras file's weights find their layers when it is loaded).
        side = self.size or 64
        if not self.to_weights.built:
            self.predict_crf_weights(keras.KerasTensor((1, side, side, 3), dtype="float32"))
        for member in self.other_members:  # called, so that their weights' paths carry their names
            if not member.built:
                member(keras.KerasTensor((1, side, side, 3), dtype="float32"))
        super().build(input_shape)

    def curve(self, dequantized):
        """``[B, H, W, 3] -> [B, 1024]``: the inverse curve of each image (the fixed curve, or the
        mean of the members' estimates), without applying it."""
        return self._curve_of(ops.clip(ops.cast(dequantized, "float32"), 0.0, 1.0))

    def _curve_of(self, images):
        """:meth:`curve` of images already float32 in [0, 1]."""
        if not self.estimates_curve:  # one fixed curve for every photo
            return ops.broadcast_to(ops.convert_to_tensor(self._fixed)[None], (ops.shape(images)[0],
                                                                               crf.CURVE_SAMPLES))
        small = self._resized(images)
        curves = [member.inverse_crf.inverse_crf(member.predict_crf_weights(images, small))
                  for member in self.members()]
        if len(curves) == 1:
            return curves[0]
        return sum(curves[1:], curves[0]) / len(curves)  # adds, not stack and mean: XNNPACK runs them

    def call(self, dequantized):
        images = ops.clip(ops.cast(dequantized, "float32"), 0.0, 1.0)
        inverse_crf = self._curve_of(images)
        return {"inverse_crf": inverse_crf, "linear": crf.apply_curve(images, inverse_crf)}

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, stem_filters=self.stem_filters, stages=[list(s) for s in self.stages],
                      histogram_bins=list(self.histogram_bins), crf_weights=self.crf_weights,
                      curve_shrinkage=self.curve_shrinkage, curve_basis=self.curve_basis,
                      fixed_curve=self.fixed_curve, windows=self.windows, window_size=self.window_size,
                      shrink_toward=self.shrink_toward, shrink_toward_share=self.shrink_toward_share,
                      ensemble_size=self.ensemble_size)
        return config
