"""The TF Serving contract of the exported SavedModel, without the model server (which cannot be
installed here): the SignatureDefs TF Serving reads, gRPC ``PredictRequest``/``PredictResponse``
messages built with ``tensorflow-serving-api`` and fed to the loaded signatures as the server does,
and the REST JSON bodies (``instances`` row format, ``b64`` strings) decoded the server's way."""

import base64
import json

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import predict_pb2

from singlehdr_tf import export


@pytest.fixture(scope="module")
def version_dir(tiny_model, tmp_path_factory):
    """``saved_models/tiny/1`` as ``export`` writes it, the folder TF Serving's base path points at."""
    return export.write_saved_model(tiny_model, tmp_path_factory.mktemp("saved_models") / "tiny" / "1")


@pytest.fixture(scope="module")
def loaded(version_dir):
    return tf.saved_model.load(str(version_dir), tags=["serve"])


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(3)
    return (np.round(rng.random((1, 40, 52, 3)) * 255) / 255).astype(np.float32)


def predict(loaded, request: predict_pb2.PredictRequest) -> predict_pb2.PredictResponse:
    """What TF Serving's Predict does with a request: pick the signature (default
    ``serving_default``), require exactly its input names, convert each TensorProto, run, and
    return every output (or those in ``output_filter``) as TensorProtos."""
    signature = loaded.signatures[request.model_spec.signature_name or "serving_default"]
    expected_inputs = set(signature.structured_input_signature[1])
    assert set(request.inputs) == expected_inputs, f"inputs {set(request.inputs)} != signature's {expected_inputs}"
    outputs = signature(**{name: tf.constant(tf.make_ndarray(proto)) for name, proto in request.inputs.items()})
    response = predict_pb2.PredictResponse()
    response.model_spec.CopyFrom(request.model_spec)
    for name, value in outputs.items():
        if not request.output_filter or name in request.output_filter:
            response.outputs[name].CopyFrom(tf.make_tensor_proto(value.numpy()))
    return response


def rest_instances_to_tensor(body: dict) -> np.ndarray:
    """TF Serving's REST row format for a signature with one input: ``instances`` is the batch,
    each a value of that input; ``{"b64": ...}`` is a base64-encoded byte string."""
    rows = [base64.b64decode(row["b64"]) if isinstance(row, dict) else row for row in body["instances"]]
    return np.array(rows, dtype=object if isinstance(rows[0], bytes) else np.float32)


def test_signature_defs_are_what_tf_serving_reads(version_dir):
    saved_model = saved_model_pb2.SavedModel.FromString((version_dir / "saved_model.pb").read_bytes())
    (meta_graph,) = saved_model.meta_graphs
    assert list(meta_graph.meta_info_def.tags) == ["serve"]
    signatures = meta_graph.signature_def
    for key in ("serving_default", "encoded_image"):
        assert signatures[key].method_name == "tensorflow/serving/predict"
        assert set(signatures[key].outputs) == set(export.OUTPUTS)
        for output in signatures[key].outputs.values():
            assert output.dtype == types_pb2.DT_FLOAT and output.tensor_shape.dim[0].size == 1
    image = signatures["serving_default"].inputs["image"]
    assert image.dtype == types_pb2.DT_FLOAT
    assert [dim.size for dim in image.tensor_shape.dim] == [1, -1, -1, 3]
    assert signatures["encoded_image"].inputs["image_bytes"].dtype == types_pb2.DT_STRING
    assert [dim.size for dim in signatures["serving_default"].outputs["inverse_crf"].tensor_shape.dim] == [1, 1024]


def test_grpc_predict_request_on_serving_default(loaded, tiny_model, image):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "tiny"
    request.model_spec.signature_name = "serving_default"
    request.inputs["image"].CopyFrom(tf.make_tensor_proto(image))
    request = predict_pb2.PredictRequest.FromString(request.SerializeToString())  # over the wire
    response = predict_pb2.PredictResponse.FromString(predict(loaded, request).SerializeToString())
    assert set(response.outputs) == set(export.OUTPUTS)
    expected = tiny_model(image, training=False)
    hdr = tf.make_ndarray(response.outputs["hdr"])
    assert hdr.shape == image.shape and hdr.dtype == np.float32
    np.testing.assert_allclose(hdr, expected["hdr"], rtol=1e-5, atol=1e-6)
    inverse_crf = tf.make_ndarray(response.outputs["inverse_crf"])
    assert inverse_crf.shape == (1, 1024)
    np.testing.assert_allclose(inverse_crf, expected["inverse_crf"], rtol=1e-5, atol=1e-6)


def test_grpc_predict_request_on_encoded_image_with_output_filter(loaded, image):
    png = tf.io.encode_png(tf.cast(tf.round(image[0] * 255), tf.uint8)).numpy()
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "tiny"
    request.model_spec.signature_name = "encoded_image"
    request.inputs["image_bytes"].CopyFrom(tf.make_tensor_proto(png))  # a scalar string
    request.output_filter.append("hdr")
    response = predict(loaded, request)
    assert list(response.outputs) == ["hdr"]
    reference = loaded.signatures["serving_default"](image=tf.constant(image))["hdr"]
    # The same pixels, divided by 255 in the graph rather than in NumPy: float rounding apart.
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["hdr"]), reference, rtol=1e-5, atol=1e-5)


def test_rest_bodies_in_row_format(loaded, image):
    png = tf.io.encode_png(tf.cast(tf.round(image[0] * 255), tf.uint8)).numpy()
    encoded_body = json.loads(json.dumps(
        {"signature_name": "encoded_image", "instances": [{"b64": base64.b64encode(png).decode("ascii")}]}))
    image_body = json.loads(json.dumps({"instances": image.tolist()}))
    encoded = loaded.signatures[encoded_body["signature_name"]](image_bytes=rest_instances_to_tensor(encoded_body))
    plain = loaded.signatures["serving_default"](image=rest_instances_to_tensor(image_body))
    for name in export.OUTPUTS:
        # Row format ("predictions": one entry per instance) needs every output batched alike.
        assert encoded[name].shape[0] == plain[name].shape[0] == len(encoded_body["instances"]) == 1
        np.testing.assert_allclose(encoded[name], plain[name], rtol=1e-5, atol=1e-5)
