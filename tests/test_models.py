"""Tests of the networks and the end-to-end model on tiny configs."""

import importlib.util
import inspect
import math
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from tool_scripts import load_tool

from singlehdr_tf import SingleHDRError, crf
from singlehdr_tf.layers import area_resize
from singlehdr_tf.models import (
    MODEL_CONFIGS,
    DequantizationNet,
    HallucinationNet,
    LinearizationNet,
    RefinementNet,
    SingleHDR,
    UNet,
    build_model,
    rebuild_model,
    relative_path,
)
from singlehdr_tf.models.refinement import LOG_OFFSET

REPO = pathlib.Path(__file__).resolve().parent.parent
OUTPUTS = ("dequantized", "inverse_crf", "linear", "hallucinated", "hdr")
TINY = MODEL_CONFIGS["tiny"]


def ldr_batch(rng, batch, height, width):
    """Random LDR images with a saturated region, so the highlight path is exercised."""
    ldr = rng.random((batch, height, width, 3)).astype(np.float32)
    ldr[:, : height // 3, : width // 3] = 1.0
    return ldr


@pytest.mark.parametrize("batch, height, width", [(2, 67, 93), (1, 128, 256), (2, 16, 16), (1, 1, 5)])
def test_outputs_have_the_interface_shapes(tiny_model, rng, batch, height, width):
    outputs = tiny_model(ldr_batch(rng, batch, height, width), training=False)
    assert sorted(outputs) == sorted(OUTPUTS)
    for name in OUTPUTS:
        expected = (batch, crf.CURVE_SAMPLES) if name == "inverse_crf" else (batch, height, width, 3)
        assert tuple(outputs[name].shape) == expected, name
        assert np.all(np.isfinite(outputs[name].numpy())), name


def test_physical_constraints_hold_on_the_outputs(tiny_model, rng):
    outputs = {k: v.numpy() for k, v in tiny_model(ldr_batch(rng, 2, 40, 36)).items()}
    assert outputs["dequantized"].min() >= 0.0 and outputs["dequantized"].max() <= 1.0
    curve = outputs["inverse_crf"]
    assert np.all(np.diff(curve, axis=-1) >= 0.0)
    np.testing.assert_allclose(curve[:, [0, -1]], [[0.0, 1.0]] * 2, atol=1e-5)
    linear, hallucinated = outputs["linear"], outputs["hallucinated"]
    assert np.all(hallucinated >= linear)
    below = linear.max(-1) < TINY["gamma"]
    assert below.any()
    np.testing.assert_array_equal(hallucinated[below], linear[below])
    assert outputs["hdr"].min() >= 0.0


def test_subnetworks_are_callable_alone(tiny_model, rng):
    ldr = ldr_batch(rng, 1, 20, 28)
    dequantized = tiny_model.dequantization(ldr)
    linearized = tiny_model.linearization(dequantized)
    assert sorted(linearized) == ["inverse_crf", "linear"]
    hallucinated = tiny_model.hallucination(linearized["linear"])
    refined = tiny_model.refinement(hallucinated, linearized["linear"], dequantized)
    np.testing.assert_allclose(refined.numpy(), tiny_model(ldr)["hdr"].numpy(), rtol=1e-5, atol=1e-6)


def test_linearization_runs_on_a_downscaled_copy(rng):
    net = LinearizationNet(size=16, stem_filters=4, stages=((4, 1),), histogram_bins=(4,))
    image = rng.random((1, 64, 64, 3)).astype(np.float32)
    # The curve depends on the image only through its 16x16 area-resized copy.
    upscaled = np.repeat(np.repeat(tf.image.resize(image, (16, 16), method="area").numpy(), 4, 1), 4, 2)
    np.testing.assert_allclose(net(image)["inverse_crf"].numpy(), net(upscaled)["inverse_crf"].numpy(), atol=1e-5)


def test_native_windows_reach_the_curve_where_the_resized_copy_is_blind(rng):
    config = dict(size=16, stem_filters=4, stages=((4, 1),), histogram_bins=(4,))
    keras.utils.set_random_seed(5)
    net = LinearizationNet(**config, windows=2, window_size=8)
    image = rng.random((1, 64, 64, 3)).astype(np.float32)
    # Same 16x16 area-resized copy (each 4x4 block keeps its mean), other native pixels.
    flipped = image.reshape(1, 16, 4, 16, 4, 3)[:, :, ::-1, :, ::-1].reshape(1, 64, 64, 3)
    np.testing.assert_allclose(area_resize(image, 16).numpy(), area_resize(flipped, 16).numpy(), atol=1e-6)
    assert np.abs(net(image)["inverse_crf"].numpy() - net(flipped)["inverse_crf"].numpy()).max() > 1e-6
    plain = LinearizationNet(**config)
    plain(image)
    assert net.to_weights.kernel.shape[0] == 2 * plain.to_weights.kernel.shape[0]  # both views' features


def test_an_ensemble_linearization_applies_the_mean_of_its_members_curves(rng):
    keras.utils.set_random_seed(6)
    net = LinearizationNet(size=16, stem_filters=4, stages=((4, 1),), histogram_bins=(4,), curve_shrinkage=0.5,
                           shrink_toward="srgb", ensemble_size=3)
    image = rng.random((2, 24, 20, 3)).astype(np.float32)
    out = net(image)
    alone = [LinearizationNet.from_config({**member.get_config(), "ensemble_size": 1}) for member in net.members()]
    curves = []
    for single, member in zip(alone, net.members()):
        single(image)
        single.set_weights([weight.numpy() for weight in member.weights[:len(single.weights)]])
        curves.append(single(image)["inverse_crf"].numpy())
    assert np.abs(curves[0] - curves[1]).max() > 1e-4  # members initialised apart
    np.testing.assert_allclose(out["inverse_crf"].numpy(), np.mean(curves, axis=0), atol=1e-6)
    np.testing.assert_allclose(out["linear"].numpy(), crf.apply_curve(image, out["inverse_crf"]).numpy(), atol=1e-6)


def test_an_ensemble_keeps_the_first_members_weight_paths_and_saves_whole(rng, tmp_path):
    plain = build_model("tiny")
    model = build_model({**plain.get_config(), "linearization_ensemble_size": 2})
    ldr = ldr_batch(rng, 1, 20, 24)
    plain(ldr), model(ldr)
    paths = [relative_path(v) for v in model.weights]
    assert len(set(paths)) == len(paths)
    assert {relative_path(v) for v in plain.weights} <= set(paths)
    assert all(path.startswith("linearization/member1/") for path in set(paths) - {relative_path(v) for v in
                                                                                    plain.weights})
    model.save(tmp_path / "ensemble.keras")
    loaded = keras.saving.load_model(tmp_path / "ensemble.keras")
    np.testing.assert_allclose(loaded(ldr)["hdr"].numpy(), model(ldr)["hdr"].numpy(), atol=1e-6)


def test_dynamic_height_and_width_in_a_traced_graph(tiny_model, rng):
    function = tf.function(lambda x: tiny_model(x)["hdr"],
                           input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    for shape in ((1, 19, 23, 3), (2, 40, 17, 3)):
        x = ldr_batch(rng, *shape[:3])
        np.testing.assert_allclose(function(x).numpy(), tiny_model(x)["hdr"].numpy(), rtol=1e-5, atol=1e-6)


def test_gradients_reach_every_trainable_variable(rng):
    keras.utils.set_random_seed(1)
    model = build_model("tiny")
    ldr = ldr_batch(rng, 2, 32, 32)
    model(ldr)
    with tf.GradientTape() as tape:
        outputs = model(ldr, training=True)
        loss = sum(tf.reduce_mean(tf.square(outputs[name] - 0.7)) for name in OUTPUTS)
    gradients = tape.gradient(loss, model.trainable_variables)
    assert len(model.trainable_variables) > 0
    for variable, gradient in zip(model.trainable_variables, gradients):
        assert gradient is not None, variable.path
        assert float(tf.reduce_max(tf.abs(gradient))) > 0.0, variable.path


def constructor_parameters(cls):
    return set(inspect.signature(cls.__init__).parameters) - {"self", "kwargs"}


@pytest.mark.parametrize("cls, config", [
    (UNet, dict(filters=(4, 8), kernel_sizes=(3, 5), output_channels=2)),
    (DequantizationNet, dict(filters=(4, 8), kernel_sizes=(3, 3))),
    (LinearizationNet, dict(size=16, stem_filters=4, stages=((4, 1), (4, 1)), histogram_bins=(4,), crf_weights=5)),
    (HallucinationNet, dict(filters=(4, 8), convs=(1, 2), gamma=0.9)),
    (RefinementNet, dict(filters=(4, 8), kernel_sizes=(3, 3))),
    (SingleHDR, TINY),
])
def test_get_config_is_exactly_the_constructor_arguments(cls, config):
    instance = cls(**config)
    saved = instance.get_config()
    assert set(saved) - {"name", "trainable", "dtype"} == constructor_parameters(cls)
    assert cls.from_config(saved).get_config() == saved
    assert keras.saving.get_registered_name(cls) == f"singlehdr_tf>{cls.__name__}"


NETWORKS_ON_TINY_INPUTS = [
    (UNet, dict(filters=(4, 8), kernel_sizes=(3, 5), output_channels=2), 1),
    (DequantizationNet, dict(filters=(4, 8), kernel_sizes=(3, 3), max_step=0.5 / 255), 1),
    (LinearizationNet, dict(size=16, stem_filters=4, stages=((4, 1),), histogram_bins=(4,), crf_weights=5), 1),
    (LinearizationNet, dict(size=16, stem_filters=4, stages=((4, 1),), histogram_bins=(4,), fixed_curve="srgb"), 1),
    (LinearizationNet, dict(size=16, stem_filters=4, stages=((4, 1),), histogram_bins=(4,), windows=2, window_size=8), 1),
    (HallucinationNet, dict(filters=(4, 8), convs=(1, 2), gamma=0.9), 1),
    (RefinementNet, dict(filters=(4, 8), kernel_sizes=(3, 3)), 3),
    (SingleHDR, TINY, 1),
]
"""Each network on a tiny config, with how many images its call takes."""


@pytest.mark.parametrize("cls, config, inputs", NETWORKS_ON_TINY_INPUTS)
def test_every_network_survives_saving_and_loading(cls, config, inputs, saving_round_trip, rng):
    keras.utils.set_random_seed(3)
    saving_round_trip(cls(**config), *(ldr_batch(rng, 2, 24, 20) for _ in range(inputs)))


def test_build_model_from_name_or_config_and_unknown_name():
    assert build_model("tiny").get_config() == build_model(dict(TINY)).get_config() | {"name": "singlehdr_tiny"}
    with pytest.raises(SingleHDRError, match="nope"):
        build_model("nope")


def test_registry_has_paper_and_lite_and_lite_fits_its_budget():
    assert {"paper", "lite"} <= set(MODEL_CONFIGS)
    lite = build_model("lite")
    lite(np.zeros((1, 32, 32, 3), np.float32))
    assert lite.count_params() <= 4_000_000
    model_summary = load_tool("model_summary")
    flops = model_summary.graph_flops(lite, tf.TensorSpec([1, 1024, 1024, 3], tf.float32))
    # Within 100 GFLOP for 1024x1024 (1.05 megapixels), so under budget however a megapixel is read;
    # the lower bound catches a profiler that stops counting convolutions.
    assert 50e9 < flops <= 100e9


def test_tiny_model_converts_to_tflite_builtins_and_matches_keras(tiny_model, rng, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    # keras.export.ExportArchive, not a tf.Module holding the model: the TFLite converter freezes
    # Keras 3 variables only when they are tracked the way ExportArchive tracks them (otherwise
    # the .tflite keeps unset VAR_HANDLE/READ_VARIABLE ops and silently returns garbage).
    ldr = ldr_batch(rng, 1, 67, 93)
    expected = tiny_model(ldr, training=False)
    archive = keras.export.ExportArchive()
    archive.track(tiny_model)
    archive.add_endpoint("serving_default", lambda ldr: tiny_model(ldr, training=False),
                         input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32, name="ldr")])
    archive.write_out(str(tmp_path / "saved"), verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "saved"))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interpreter = Interpreter(model_content=converter.convert())
    (input_details,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(input_details["index"], ldr.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(input_details["index"], ldr)
    interpreter.invoke()
    runner = interpreter.get_signature_runner()
    assert sorted(runner.get_output_details()) == sorted(OUTPUTS)
    for name, details in runner.get_output_details().items():
        value = interpreter.get_tensor(details["index"])
        reference = expected[name].numpy()
        assert value.shape == reference.shape, name
        assert np.abs(value - reference).max() <= 1e-4 * np.abs(reference).max(), name


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_tiny_model_builds_and_runs_under_jax():
    script = (
        "import numpy as np\n"
        "from singlehdr_tf.models import build_model\n"
        "model = build_model('tiny')\n"
        "out = model(np.random.rand(2, 19, 23, 3).astype('float32'))\n"
        "assert tuple(out['refined'].shape) == (2, 19, 23, 3)\n"
        "assert bool((np.diff(np.asarray(out['inverse_crf']), axis=-1) >= 0).all())\n"
        "print('ok')\n"
    )
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]


def test_dequantization_max_step_keeps_values_in_their_quantization_bin(rng):
    ldr = np.floor(rng.random((2, 24, 20, 3)) * 255.0 + 0.5).astype(np.float32) / 255.0
    free = DequantizationNet(filters=(4, 8), kernel_sizes=(3, 3))
    free(ldr)
    free.set_weights([5.0 * w for w in free.get_weights()])  # large residuals
    binned = DequantizationNet(filters=(4, 8), kernel_sizes=(3, 3), max_step=0.5 / 255)
    binned(ldr)
    binned.set_weights(free.get_weights())
    assert np.abs(free(ldr).numpy() - ldr).max() > 0.01
    assert np.abs(binned(ldr).numpy() - ldr).max() <= 0.5 / 255 + 1e-7
    assert DequantizationNet.from_config(binned.get_config()).max_step == binned.max_step


def test_dequantization_switched_off_passes_the_input_and_keeps_its_weights(rng):
    ldr = rng.random((1, 24, 20, 3)).astype(np.float32)
    on = DequantizationNet(filters=(4, 8), kernel_sizes=(3, 3))
    on(ldr)
    off = DequantizationNet(filters=(4, 8), kernel_sizes=(3, 3), max_step=0.0)
    np.testing.assert_array_equal(off(ldr).numpy(), ldr)
    assert [w.shape for w in off.weights] == [w.shape for w in on.weights]
    off.set_weights(on.get_weights())  # one checkpoint loads at any max_step


@pytest.mark.parametrize("name", sorted(crf.FIXED_INVERSE_CURVES))
def test_a_fixed_curve_replaces_the_estimate_and_keeps_the_weights(rng, name):
    images = rng.random((2, 24, 20, 3)).astype(np.float32)
    config = dict(size=16, stem_filters=4, stages=((4, 1),), histogram_bins=(4,), crf_weights=5)
    learned = LinearizationNet(**config)
    learned(images)
    fixed = LinearizationNet(**config, fixed_curve=name)
    out = fixed(images)
    curve = crf.fixed_inverse_curve(name)
    np.testing.assert_array_equal(out["inverse_crf"].numpy(), np.stack([curve, curve]))
    np.testing.assert_allclose(out["linear"].numpy(), crf.apply_curve(images, out["inverse_crf"]).numpy(), atol=1e-7)
    assert [w.shape for w in fixed.weights] == [w.shape for w in learned.weights]
    fixed.set_weights(learned.get_weights())  # one checkpoint loads either way
    with pytest.raises(ValueError, match="unknown fixed curve"):
        LinearizationNet(**config, fixed_curve="film")


def test_shrinkage_toward_a_fixed_curve_blends_it_with_the_estimate(rng):
    images = rng.random((2, 24, 20, 3)).astype(np.float32)
    config = dict(size=16, stem_filters=4, stages=((4, 1),), histogram_bins=(4,), crf_weights=5)
    learned = LinearizationNet(**config)
    estimate = learned(images)["inverse_crf"].numpy()
    blended = LinearizationNet(**config, curve_shrinkage=0.25, shrink_toward="srgb")
    blended(images)
    blended.set_weights(learned.get_weights())
    out = blended(images)
    np.testing.assert_allclose(out["inverse_crf"].numpy(), 0.25 * estimate + 0.75 * crf.fixed_inverse_curve("srgb"),
                               atol=1e-6)
    np.testing.assert_allclose(out["linear"].numpy(), crf.apply_curve(images, out["inverse_crf"]).numpy(), atol=1e-6)
    assert LinearizationNet.from_config(blended.get_config()).shrink_toward == "srgb"


@pytest.mark.parametrize("residual", [0.0, math.log(2.0), -100.0, 100.0])
def test_refinement_corrects_relative_to_the_log_offset(residual):
    """``refined = (e + hallucinated) * exp(residual) - e``, clipped to [0, 65504]: the U-Net's
    residual is a relative correction at every brightness, even far below 1."""
    net = RefinementNet(filters=(4, 8), kernel_sizes=(3, 3))
    hallucinated = np.array([0.0, 1e-3, 0.1, 10.0], np.float32).reshape(1, 1, 4, 1).repeat(3, axis=-1)
    net(hallucinated, hallucinated, hallucinated)
    net.unet = lambda features: keras.ops.full_like(features[..., :3], residual)
    refined = net(hallucinated, hallucinated, hallucinated).numpy()
    expected = np.clip((LOG_OFFSET + hallucinated) * np.exp(residual) - LOG_OFFSET, 0.0, 65504.0)
    np.testing.assert_allclose(refined, expected, rtol=1e-4, atol=1e-7)


def test_a_neutral_clipped_highlight_comes_back_neutral(rng):
    """Issue 14: a flat white blob clipped in every channel must not gain a colour cast (the old
    per-channel residual with a dead blue output made it (2.03, 2.03, 1.00)). Random weights and
    a textured, coloured surround: whatever the net predicts, the added light is neutral there."""
    keras.utils.set_random_seed(5)  # the initial weights, whatever the tests before drew
    scene = rng.uniform(0.05, 0.7, size=(1, 32, 32, 3)).astype(np.float32)
    scene[0, 10:22, 8:24] = 1.0
    # Dequantization off (as shipped), so the blob reaches the Hallucination-Net clipped in every channel.
    shipped_stages = {**TINY, "use_refinement": False, "dequantization_max_step": 0.0}
    for net in (HallucinationNet(filters=(4, 8), convs=(1, 1)), SingleHDR(**shipped_stages)):
        net(scene)
        net.set_weights([w + 0.3 * rng.standard_normal(w.shape).astype(np.float32) for w in net.get_weights()])
        output = net(scene)
        hdr = np.asarray(output["hdr"] if isinstance(output, dict) else output)[0, 12:20, 10:22]
        if isinstance(net, HallucinationNet):
            assert hdr.max() > 1.0  # something was hallucinated, so the check means something
        ratios = hdr / hdr[..., 1:2]
        np.testing.assert_allclose(ratios, 1.0, atol=0.05)


def test_hallucination_fuse_starts_as_identity_on_the_gain():
    net = HallucinationNet(filters=(4, 8), convs=(1, 1))
    net(np.zeros((1, 8, 8, 3), np.float32))
    kernel = net.input_fuse.kernel.numpy()[0, 0, :, 0]
    np.testing.assert_array_equal(kernel, [1.0, 0.0, 0.0, 0.0])


def test_switched_off_refinement_returns_the_hallucinated_image(tiny_model, rng):
    ldr = ldr_batch(rng, 1, 24, 20)
    off = rebuild_model(tiny_model, use_refinement=False)
    outputs = off(ldr)
    np.testing.assert_array_equal(outputs["hdr"].numpy(), outputs["hallucinated"].numpy())
    np.testing.assert_allclose(outputs["hallucinated"].numpy(), tiny_model(ldr)["hallucinated"].numpy(), atol=1e-6)
    assert not any(v.path.split("/")[1] == "refinement" for v in off.weights)  # nothing built, nothing shipped
    with pytest.raises(SingleHDRError, match="no weights"):
        rebuild_model(off, use_refinement=True)


def test_refinement_only_brightens_clipped_pixels_without_changing_their_colour():
    net = RefinementNet(filters=(4, 8), kernel_sizes=(3, 3), gamma=0.88)
    hallucinated = np.array([[3.0, 3.0, 3.0], [0.2, 0.3, 0.4]], np.float32).reshape(1, 1, 2, 3)
    linear = np.array([[1.0, 1.0, 1.0], [0.2, 0.3, 0.4]], np.float32).reshape(1, 1, 2, 3)
    net(hallucinated, linear, linear)
    net.unet = lambda features: keras.ops.convert_to_tensor(np.array([0.3, -0.2, 0.5], np.float32)) + 0 * features[..., :3]
    refined = net(hallucinated, linear, linear).numpy()[0, 0]
    clipped, unclipped = refined
    np.testing.assert_allclose(clipped / clipped[1], 1.0, rtol=1e-5)  # one factor for all channels
    np.testing.assert_allclose(clipped[1], (LOG_OFFSET + 3.0) * np.exp(0.2) - LOG_OFFSET, rtol=1e-5)
    expected = (LOG_OFFSET + linear[0, 0, 1]) * np.exp([0.3, -0.2, 0.5]) - LOG_OFFSET
    np.testing.assert_allclose(unclipped, expected, rtol=1e-5)  # elsewhere per channel, as before
