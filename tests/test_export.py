"""Tests of singlehdr_tf.export: the SavedModel layout and signatures, TFLite variants and parity."""

import json
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from singlehdr_tf import SingleHDRError, export, loading, models
from singlehdr_tf.tflite_runner import TFLiteRunner

SIZES = [(32, 32), (45, 67), (80, 56)]
TOLERANCE = {"float32": 1e-4, "float16": 1e-2}


@pytest.fixture(scope="module")
def exported(tiny_model, tmp_path_factory):
    """``export_all`` of the tiny model: (output folder, written paths)."""
    out = tmp_path_factory.mktemp("saved_models")
    return out, export.export_all(tiny_model, out, "tiny", 1)


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(7)
    images = []
    for height, width in SIZES:
        image = rng.random((1, height, width, 3)).astype(np.float32)
        image[:, : height // 3, : width // 3] = 1.0  # a clipped region: the highlight path runs
        images.append(np.round(image * 255) / 255)
    return images


def max_relative_difference(value, reference):
    """max |value - reference| relative to the reference's peak magnitude."""
    return float(np.abs(np.asarray(value) - reference).max() / np.abs(reference).max())


def test_export_writes_the_tf_serving_layout_and_tflite_files(exported):
    out, paths = exported
    assert paths == [out / "tiny" / "1", out / "tiny.tflite", out / "tiny_fp16.tflite", out / "tiny_dynamic_range.tflite"]
    assert (out / "tiny" / "1" / "saved_model.pb").is_file()
    assert (out / "tiny" / "1" / "variables").is_dir()
    assert sorted(path.name for path in (out / "tiny").iterdir()) == ["1"]  # no staging leftovers
    metadata = json.loads((out / "tiny" / "1" / loading.METADATA_FILE).read_text())
    assert metadata["model_config"]["dequantization_filters"] == list(models.MODEL_CONFIGS["tiny"]["dequantization_filters"])
    assert loading.latest_version(out / "tiny") == 1
    sizes = {path.name: path.stat().st_size for path in paths[1:]}
    assert sizes["tiny_fp16.tflite"] < sizes["tiny.tflite"]


def test_saved_model_signatures_and_their_inputs_and_outputs(exported):
    loaded = tf.saved_model.load(str(exported[0] / "tiny" / "1"))
    assert set(loaded.signatures) == {"serving_default", "encoded_image"}
    serving = loaded.signatures["serving_default"]
    spec = serving.structured_input_signature[1]
    assert list(spec) == ["image"] and spec["image"].dtype == tf.float32
    assert spec["image"].shape.as_list() == [1, None, None, 3]
    assert set(serving.structured_outputs) == set(export.OUTPUTS)
    encoded = loaded.signatures["encoded_image"].structured_input_signature[1]
    assert list(encoded) == ["image_bytes"] and encoded["image_bytes"].dtype == tf.string


def test_keras_savedmodel_and_tflite_agree_on_three_sizes(tiny_model, exported, inputs):
    out = exported[0]
    serving = tf.saved_model.load(str(out / "tiny" / "1")).signatures["serving_default"]
    tflite_files = {"float32": out / "tiny.tflite", "float16": out / "tiny_fp16.tflite",
                    "dynamic_range": out / "tiny_dynamic_range.tflite"}
    worst = {variant: 0.0 for variant in ("saved_model", *tflite_files)}
    for image in inputs:
        expected = {name: np.asarray(value) for name, value in tiny_model(image, training=False).items()}
        results = {"saved_model": {name: value.numpy() for name, value in serving(image=tf.constant(image)).items()}}
        results.update({variant: export.run_tflite(path, image) for variant, path in tflite_files.items()})
        for variant, outputs in results.items():
            assert set(outputs) == set(export.OUTPUTS), variant
            for name, value in outputs.items():
                assert value.shape == expected[name].shape, (variant, name)
                worst[variant] = max(worst[variant], max_relative_difference(value, expected[name]))
    print("max relative difference to Keras over 3 sizes and 4 outputs:", json.dumps(worst))
    assert worst["saved_model"] < 1e-4
    assert worst["float32"] < TOLERANCE["float32"]
    assert worst["float16"] < TOLERANCE["float16"]
    assert np.isfinite(worst["dynamic_range"])


def test_tflite_files_use_builtin_ops_only(exported):
    for path in exported[1][1:]:
        interpreter = Interpreter(model_path=str(path))
        operators = {op["op_name"] for op in interpreter._get_ops_details()}
        assert operators and not any(name.startswith("Flex") or name == "CUSTOM" for name in operators), path.name


def test_encoded_image_signature_decodes_png_and_jpeg_in_the_graph(exported, inputs):
    loaded = tf.saved_model.load(str(exported[0] / "tiny" / "1"))
    serving, encoded = loaded.signatures["serving_default"], loaded.signatures["encoded_image"]
    pixels = tf.cast(tf.round(inputs[1][0] * 255), tf.uint8)
    png, jpeg = tf.io.encode_png(pixels), tf.io.encode_jpeg(pixels, quality=90)
    # JPEGs decode with the accurate integer DCT, as Pillow decodes them for the Python API.
    for data, image in ((png, tf.io.decode_png(png, channels=3)),
                        (jpeg, tf.io.decode_jpeg(jpeg, channels=3, dct_method="INTEGER_ACCURATE"))):
        decoded = tf.image.convert_image_dtype(image, tf.float32)[None]
        expected = serving(image=decoded)
        for image_bytes in (data, tf.reshape(data, [1])):  # scalar (gRPC) and a batch of one (REST)
            outputs = encoded(image_bytes=image_bytes)
            for name in export.OUTPUTS:
                np.testing.assert_allclose(outputs[name], expected[name], rtol=1e-6, atol=1e-6)


def test_load_saved_model_rebuilds_the_keras_model(tiny_model, exported):
    model = loading.load_saved_model(exported[0] / "tiny" / "1")
    assert isinstance(model, models.SingleHDR)
    for variable, expected in zip(model.variables, tiny_model.variables, strict=True):
        np.testing.assert_array_equal(variable.numpy(), expected.numpy())


def test_a_model_loaded_from_a_keras_file_exports_and_loads_back(tiny_model, tmp_path):
    tiny_model.save(tmp_path / "tiny.keras")
    reloaded = keras.saving.load_model(tmp_path / "tiny.keras")
    model = loading.load_saved_model(export.write_saved_model(reloaded, tmp_path / "saved" / "1"))
    for variable, expected in zip(model.variables, tiny_model.variables, strict=True):
        np.testing.assert_array_equal(variable.numpy(), expected.numpy())


def test_switched_off_networks_keep_their_weights_in_the_saved_model(tiny_model, tmp_path, rng):
    """A release may skip the Dequantization-Net (step 0) and the curve estimate (a fixed curve):
    the signatures do not run them, yet the SavedModel holds their weights once and loads back."""
    off = models.rebuild_model(tiny_model, dequantization_max_step=0.0, fixed_curve="srgb")
    assert [network.name for network in export.switched_off_networks(off)] == ["dequantization", "linearization"]
    version_dir = export.write_saved_model(off, tmp_path / "off" / "1")
    model = loading.load_saved_model(version_dir)
    for variable, expected in zip(model.variables, off.variables, strict=True):
        np.testing.assert_array_equal(variable.numpy(), expected.numpy())
    image = rng.random((1, 32, 40, 3)).astype(np.float32)
    served = tf.saved_model.load(str(version_dir)).signatures["serving_default"](image=tf.constant(image))
    np.testing.assert_allclose(served["hdr"].numpy(), off(image)["hdr"].numpy(), rtol=1e-5, atol=1e-6)


def test_saved_model_stores_each_weight_once(tiny_model, exported):
    reader = tf.train.load_checkpoint(str(exported[0] / "tiny" / "1" / "variables" / "variables"))
    stored = sum(int(np.prod(shape)) for key, shape in reader.get_variable_to_shape_map().items()
                 if key.endswith("VARIABLE_VALUE"))
    assert stored == sum(int(np.prod(variable.shape)) for variable in tiny_model.variables)


def test_load_saved_model_refuses_foreign_or_mismatched_folders(exported, tmp_path):
    with pytest.raises(SingleHDRError, match="not a singlehdr_tf SavedModel"):
        loading.load_saved_model(tmp_path)
    version_dir = exported[0] / "tiny" / "1"
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in version_dir.rglob("*"):
        if path.is_file():
            (copy / path.relative_to(version_dir)).parent.mkdir(parents=True, exist_ok=True)
            (copy / path.relative_to(version_dir)).write_bytes(path.read_bytes())
    metadata = json.loads((copy / loading.METADATA_FILE).read_text())
    metadata["model_config"]["refinement_filters"] = [6, 8]
    (copy / loading.METADATA_FILE).write_text(json.dumps(metadata))
    with pytest.raises(SingleHDRError, match="do not match its model config"):
        loading.load_saved_model(copy)


def test_existing_exports_are_only_replaced_when_asked(tiny_model, tmp_path, monkeypatch):
    def fake_saved_model(model, version_dir):
        pathlib.Path(version_dir).mkdir(parents=True)
        (pathlib.Path(version_dir) / "saved_model.pb").write_text("new")
        return pathlib.Path(version_dir)

    monkeypatch.setattr(export, "write_saved_model", fake_saved_model)
    monkeypatch.setattr(export, "convert_tflite",
                        lambda saved_model, variant="float32", float32_flatbuffer=None: variant.encode())
    (tmp_path / "m" / "2").mkdir(parents=True)
    (tmp_path / "m" / "2" / "saved_model.pb").write_text("old")
    with pytest.raises(SingleHDRError, match="already exists"):
        export.export_all(tiny_model, tmp_path, "m", 2)
    assert (tmp_path / "m" / "2" / "saved_model.pb").read_text() == "old"
    assert not (tmp_path / "m.tflite").exists()
    export.export_all(tiny_model, tmp_path, "m", 2, overwrite=True)
    assert (tmp_path / "m" / "2" / "saved_model.pb").read_text() == "new"
    assert (tmp_path / "m_fp16.tflite").read_bytes() == b"float16"
    assert sorted(path.name for path in (tmp_path / "m").iterdir()) == ["2"]
    for name, version in (("", 1), ("a/b", 1), ("m", 0)):
        with pytest.raises(SingleHDRError):
            export.export_all(tiny_model, tmp_path, name, version)


def test_one_tflite_runner_serves_photos_of_several_sizes_like_a_fresh_interpreter(exported, inputs):
    path = exported[0] / "tiny.tflite"
    runner = TFLiteRunner(path, num_threads=1)
    for image in [*inputs, inputs[0]]:  # back to the first size: re-allocated again
        kept = runner(image)
        fresh = export.run_tflite(path, image)
        assert set(kept) == set(runner.output_names) == set(export.OUTPUTS)
        for name in kept:
            np.testing.assert_allclose(kept[name], fresh[name], rtol=1e-5, atol=1e-6)
    assert runner.delegate_partitions() >= 1


def test_tflite_runner_names_the_file_and_the_problem(exported, tmp_path):
    with pytest.raises(SingleHDRError, match="no such TFLite file"):
        TFLiteRunner(tmp_path / "missing.tflite")
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"not a flatbuffer")
    with pytest.raises(SingleHDRError, match=r"broken\.tflite: not a TFLite model"):
        TFLiteRunner(broken)
    runner = TFLiteRunner(exported[0] / "tiny.tflite")
    with pytest.raises(SingleHDRError, match=r"\[1, H, W, 3\]"):
        runner(np.zeros((32, 32, 3), np.float32))


def test_the_dynamic_range_file_keeps_the_curve_estimator_in_float32(exported, inputs):
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    out = exported[0]
    model = flatbuffer_utils.read_model(str(out / "tiny_dynamic_range.tflite"))
    int8_networks = {export._network_of(tensor.name.decode()) for tensor in model.subgraphs[0].tensors
                     if tensor.type == schema.TensorType.INT8}
    assert "hallucination" in int8_networks and "linearization" not in int8_networks
    image = inputs[0]
    curves = [export.run_tflite(out / name, image)["inverse_crf"]
              for name in ("tiny.tflite", "tiny_dynamic_range.tflite")]
    np.testing.assert_allclose(curves[1], curves[0], atol=1e-6)


def test_an_ensembles_shared_curve_basis_stays_float32_in_the_dynamic_range_file(tmp_path, inputs):
    # The members' curve basis is one constant the converter shares and names by no layer.
    keras.utils.set_random_seed(3)
    model = models.build_model({**models.MODEL_CONFIGS["tiny"], "linearization_ensemble_size": 2})
    export.export_all(model, tmp_path, "pair", 1)
    curves = [export.run_tflite(tmp_path / name, inputs[0])["inverse_crf"]
              for name in ("pair.tflite", "pair_dynamic_range.tflite")]
    np.testing.assert_allclose(curves[1], curves[0], atol=1e-6)
