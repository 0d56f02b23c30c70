"""The Hallucination-Net: adds the detail lost to clipping in over-exposed regions."""

from __future__ import annotations

import keras
from keras import ops

from singlehdr_tf.layers import DEFAULT_GAMMA, PositiveResidualBlend, ResizeConv2D, reflect_pad_to_multiple


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class PassFirstChannel(keras.initializers.Initializer):
    """1x1 kernel ``[1, 1, C, F]`` passing the first input channel to every output, zero elsewhere."""

    def __call__(self, shape, dtype=None):
        first = ops.concatenate([ops.ones((1, 1, 1, shape[-1])), ops.zeros((1, 1, shape[2] - 1, shape[-1]))], axis=2)
        return ops.cast(first, dtype or "float32")

    def get_config(self):
        return {}


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class VGGBlock(keras.layers.Layer):
    """``convs`` 3x3 convolutions with ReLU: ``[B, H, W, C] -> [B, H, W, filters]``."""

    def __init__(self, filters: int, convs: int, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.convs = convs
        self.conv_layers = [keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{i + 1}")
                        for i in range(convs)]

    def call(self, inputs):
        x = inputs
        for conv in self.conv_layers:
            x = conv(x)
        return x

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, convs=self.convs)
        return config


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class SkipDecoderBlock(keras.layers.Layer):
    """Nearest x2 resize-convolution (ReLU), then fusion with the encoder's skip by concatenation and
    a 1x1 convolution (as HDR-CNN): ``call(x [B, H, W, C], skip [B, 2H, 2W, S]) -> [B, 2H, 2W, filters]``."""

    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.upsample = ResizeConv2D(filters, 3, activation="relu", name="upsample")
        self.fuse = keras.layers.Conv2D(filters, 1, name="fuse")

    def call(self, inputs, skip):
        return self.fuse(ops.concatenate([self.upsample(inputs), skip], axis=-1))

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters)
        return config


@keras.saving.register_keras_serializable(package="singlehdr_tf")
class HallucinationNet(keras.Model):
    """``hallucinated = linear + clip_mask(linear) * relu(y) * chroma(linear)``:
    ``[B, H, W, 3] -> [B, H, W, 3]`` (:class:`PositiveResidualBlend`: a brightness gain on the
    surviving colour, neutral where every channel clipped).

    The one-channel gain ``y`` comes from a VGG16-style encoder (blocks of ``convs[i]`` 3x3 convolutions with
    ``filters[i]`` channels, 2x2 max pooling after each, a 3x3 bottleneck convolution) and a decoder
    of nearest resize-convolutions with a fused skip from every encoder block, a 1x1 output
    convolution and a final 1x1 fusion with the input (the reference's HDR-CNN layout, without batch
    normalisation). The fusion starts as the identity on the decoder's output (zero weight on the
    input), as the reference initialises it, so no output starts dead. The encoder sees ``2 * linear - 1``: no ImageNet weights are loaded, so a
    zero-centred unit range replaces the reference's VGG mean subtraction. Any ``H, W``: reflect
    padding to a multiple of ``2 ** len(filters)`` inside the graph, cropped back.

    Example:
        >>> net = HallucinationNet(filters=(4, 8), convs=(1, 1))
        >>> tuple(net(keras.ops.ones((1, 5, 6, 3))).shape)
        (1, 5, 6, 3)
    """

    def __init__(self, filters=(64, 128, 256, 512, 512), convs=(2, 2, 3, 3, 3), gamma: float = DEFAULT_GAMMA,
                 **kwargs):
        super().__init__(**kwargs)
        self.filters = tuple(int(f) for f in filters)
        self.convs = tuple(int(c) for c in convs)
        if len(self.filters) != len(self.convs) or not self.filters:
            raise ValueError(f"one conv count per encoder block: filters={filters}, convs={convs}")
        self.gamma = float(gamma)
        self.encoder_blocks = [
            VGGBlock(f, c, name=f"encoder{i}") for i, (f, c) in enumerate(zip(self.filters, self.convs))
        ]
        self.pool = keras.layers.MaxPooling2D(2, name="pool")
        self.bottleneck = keras.layers.Conv2D(self.filters[-1], 3, padding="same", activation="relu", name="bottleneck")
        self.decoder_blocks = [
            SkipDecoderBlock(self.filters[i], name=f"decoder{i}") for i in reversed(range(len(self.filters)))
        ]
        # The gain and the blend in float32 under any policy (see SingleHDR): they set the HDR values.
        self.output_conv = keras.layers.Conv2D(1, 1, activation="relu", dtype="float32", name="output")
        self.input_fuse = keras.layers.Conv2D(1, 1, kernel_initializer=PassFirstChannel(), dtype="float32",
                                              name="input_fuse")
        self.blend = PositiveResidualBlend(self.gamma, dtype="float32", name="blend")

    @property
    def multiple(self) -> int:
        """Input sizes the encoder needs: ``2 ** len(filters)``."""
        return 2 ** len(self.filters)

    def call(self, linear):
        return self.blend(linear, self.gain(linear))

    def gain(self, linear):
        """``[B, H, W, 3] -> [B, H, W, 1]``: the brightness gain ``y`` before the blend (the
        encoder-decoder, the part that costs)."""
        linear = ops.cast(linear, "float32")
        shape = ops.shape(linear)
        x = 2.0 * reflect_pad_to_multiple(linear, self.multiple) - 1.0
        encoder_input = x
        skips = []
        for block in self.encoder_blocks:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for block, skip in zip(self.decoder_blocks, reversed(skips)):
            x = block(x, skip)
        x = self.input_fuse(ops.concatenate([self.output_conv(x), encoder_input], axis=-1))
        return x[:, : shape[1], : shape[2], :]

    def get_config(self):
        config = super().get_config()
        config.update(filters=list(self.filters), convs=list(self.convs), gamma=self.gamma)
        return config
