"""Export a :class:`~singlehdr_tf.models.SingleHDR` for serving: a SavedModel for TF Serving and
TFLite (LiteRT) files, in the tensorflow/models ``official/vision/serving`` style (one function per
signature, the serving graph does its own decoding so clients send raw data).

Layout written by :func:`export_all` (TF Serving loads ``OUT/NAME`` and serves its highest version)::

    OUT/NAME/VERSION/saved_model.pb, variables/     the SavedModel
    OUT/NAME/VERSION/assets.extra/singlehdr.json    model config and variables (read by singlehdr_tf.loading)
    OUT/NAME.tflite                                  float32
    OUT/NAME_fp16.tflite                             float16 weights
    OUT/NAME_dynamic_range.tflite                    int8 weights, dynamic-range quantized

Signatures, both with outputs ``hdr`` ``[1, H, W, 3]`` (linear, 1 = the clipping level),
``inverse_crf`` ``[1, 1024]``, ``dequantized`` and ``linear`` ``[1, H, W, 3]``:

* ``serving_default``: input ``image`` float32 ``[1, H, W, 3]`` in [0, 1], any ``H, W``;
* ``encoded_image``: input ``image_bytes``, one JPEG or PNG file's bytes (a scalar string, or a
  batch of one string as TF Serving's REST API sends ``{"instances": [{"b64": ...}]}``).

Both check their input in the graph and fail with ``InvalidArgumentError`` (TF Serving answers
INVALID_ARGUMENT) whose message names the input and the reason: a shape other than ``[1, H, W, 3]``,
NaN or infinite values, empty data, data that is not a JPEG or PNG file, or a header announcing more
than :data:`singlehdr_tf.io.MAX_PIXELS` pixels (refused before decoding). An input of the wrong dtype
is refused by the signature itself, before the graph runs. ``serving_default`` clips values to [0, 1].

The TFLite files convert ``serving_default`` with builtin ops only (no Flex/SELECT_TF_OPS) and keep
``H, W`` dynamic: call ``resize_tensor_input`` and ``allocate_tensors`` for each image size.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import secrets
import shutil
import tempfile
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from singlehdr_tf import models
from singlehdr_tf.errors import SingleHDRError
from singlehdr_tf.io import MAX_PIXELS, atomic_write
from singlehdr_tf.loading import METADATA_FILE, METADATA_FORMAT, build_variables
from singlehdr_tf.tflite_runner import TFLiteRunner

OUTPUTS = ("hdr", "inverse_crf", "dequantized", "linear")
"""Output names of every signature."""

TFLITE_FILES = {
    "float32": "{name}.tflite",
    "float16": "{name}_fp16.tflite",
    "dynamic_range": "{name}_dynamic_range.tflite",
}
"""TFLite variant -> file name pattern in the output folder."""

FLOAT_IN_DYNAMIC_RANGE = ("linearization",)
"""Sub-networks the dynamic-range file keeps in float32. Its int8 kernels quantize the activations
on the fly too; in the curve estimator that moved the estimated inverse curve by 0.02-0.09 (mean
absolute, 10 val photos) and cost 1.2 dB PU21 on the modern val set, while the estimator, run on a
128-pixel copy, is a negligible share of the time and of the file."""


def serving_outputs(model: keras.Model, image: tf.Tensor) -> dict[str, tf.Tensor]:
    """The signature outputs for ``image`` ``[B, H, W, 3]`` float32 in [0, 1]."""
    stages = model(tf.clip_by_value(image, 0.0, 1.0), training=False)
    return {
        "hdr": stages["hdr"],
        "inverse_crf": stages["inverse_crf"],
        "dequantized": stages["dequantized"],
        "linear": stages["linear"],
    }


def _checked_image(image: tf.Tensor) -> tf.Tensor:
    """``image`` once the graph has checked it: shape ``[1, H, W, 3]``, ``H, W >= 1``, finite values.

    A loaded signature checks only the dtype of its input, and a tensor of another rank reaching the
    convolutions aborts the whole process (a failed CHECK in the oneDNN kernels). These checks fail
    with ``InvalidArgumentError`` naming ``image`` instead (TF Serving answers INVALID_ARGUMENT).
    TFLite conversion drops them.
    """
    image = tf.ensure_shape(image, [1, None, None, 3])
    checks = [
        tf.debugging.assert_positive(tf.size(image), message="image: empty (height or width 0)"),
        tf.debugging.Assert(tf.reduce_all(tf.math.is_finite(image)), ["image: contains NaN or infinite values"]),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(image)


def image_signature(model: keras.Model) -> tuple[Any, list[tf.TensorSpec]]:
    """``serving_default``: a function of ``image`` float32 ``[1, H, W, 3]`` and its input spec."""

    def serve_image(image):
        return serving_outputs(model, _checked_image(image))

    return serve_image, [tf.TensorSpec([1, None, None, 3], tf.float32, name="image")]


def _after(check: tf.Operation, tensor: tf.Tensor) -> tf.Tensor:
    """``tensor``, available only once ``check`` has run."""
    with tf.control_dependencies([check]):
        return tf.identity(tensor)


def _png_pixels(head: tf.Tensor) -> tf.Tensor:
    """Width x height (int64) in the first bytes of a PNG file: its IHDR chunk comes first, with the
    big-endian uint32 width and height at bytes 16-23 (and the bit depth at byte 24)."""
    size = tf.reshape(tf.cast(tf.io.decode_raw(tf.strings.substr(head, 16, 8), tf.uint8), tf.int64), [2, 4])
    size = tf.minimum(tf.reduce_sum(size * [1 << 24, 1 << 16, 1 << 8, 1], axis=1), 1 << 31)  # no int64 overflow
    return tf.reduce_prod(size)


def _decode_image_bytes(image_bytes: tf.Tensor) -> tf.Tensor:
    """One JPEG or PNG file's bytes (a scalar string or a batch of one) -> float32 ``[1, H, W, 3]``
    in [0, 1], the pixels Pillow (:func:`singlehdr_tf.io.read_ldr`) gives: grey expanded, palette
    applied, alpha dropped, 16-bit PNGs at full precision, JPEGs with the accurate integer DCT; but
    the EXIF orientation is not applied (TensorFlow's decoders ignore it).

    Empty data, other formats and headers announcing more than :data:`singlehdr_tf.io.MAX_PIXELS`
    pixels (a decompression bomb) fail with ``InvalidArgumentError`` before anything is decoded.
    """
    # Each check feeds the next step through tf.identity: a data dependency, so nothing is decoded
    # before the checks pass (a control dependency alone did not keep the decoders in tf.case from
    # running first).
    data = tf.reshape(_after(tf.debugging.assert_equal(tf.size(image_bytes), 1, message="image_bytes: expected one "
                                                       "image (a scalar string or a batch of one)"), image_bytes), [])
    data = _after(tf.debugging.assert_positive(tf.strings.length(data), message="image_bytes: empty"), data)
    head = tf.strings.substr(tf.strings.join([data, b"\0" * 25]), 0, 25)
    is_jpeg = tf.strings.substr(head, 0, 3) == b"\xff\xd8\xff"
    is_png = tf.strings.substr(head, 0, 8) == b"\x89PNG\r\n\x1a\n"
    known = tf.debugging.Assert(is_jpeg | is_png, ["image_bytes: not a JPEG or PNG file"])
    data, head = _after(known, data), _after(known, head)
    pixels = tf.cond(is_jpeg, lambda: tf.reduce_prod(tf.cast(tf.image.extract_jpeg_shape(data)[:2], tf.int64)),
                     lambda: _png_pixels(head))
    data = _after(tf.debugging.assert_less_equal(pixels, tf.constant(MAX_PIXELS, tf.int64), message="image_bytes: "
                                                 f"image too large (limit MAX_PIXELS={MAX_PIXELS})"), data)
    as_float = lambda image: tf.image.convert_image_dtype(image, tf.float32)  # noqa: E731
    # 8-bit PNGs decode as uint8, not uint16, so the floats are the same as for 8-bit arrays.
    image = tf.case([
        (is_jpeg, lambda: as_float(tf.io.decode_jpeg(data, 3, dct_method="INTEGER_ACCURATE"))),
        (tf.strings.substr(head, 24, 1) == b"\x10", lambda: as_float(tf.io.decode_png(data, 3, dtype=tf.uint16))),
    ], default=lambda: as_float(tf.io.decode_png(data, 3)))
    return image[None]


def encoded_image_signature(model: keras.Model) -> tuple[Any, list[tf.TensorSpec]]:
    """``encoded_image``: a function of ``image_bytes`` (a JPEG/PNG file's bytes, scalar or ``[1]``)
    and its input spec. Decodes in the graph (:func:`_decode_image_bytes`)."""

    def serve_encoded_image(image_bytes):
        return serving_outputs(model, _decode_image_bytes(image_bytes))

    # Unknown rank: TF Serving's REST "instances" format sends [1], gRPC clients usually a scalar.
    return serve_encoded_image, [tf.TensorSpec(None, tf.string, name="image_bytes")]


def _checkpoint_keys(model: keras.Model, version_dir: pathlib.Path) -> list[str]:
    """For each of ``model.variables``, the key of the SavedModel checkpoint tensor holding its value.

    The archive saves the variables its endpoints use, once each, in an order of its own; a variable
    is found by its exact value among the tensors of its shape (two variables with equal values may
    share a key: either holds the right value).
    """
    reader = tf.train.load_checkpoint(os.fspath(version_dir / "variables" / "variables"))
    stored = {key: reader.get_tensor(key) for key in sorted(reader.get_variable_to_shape_map())
              if key.endswith("/.ATTRIBUTES/VARIABLE_VALUE")}
    keys = []
    for variable in model.variables:
        value = np.asarray(variable.numpy())
        key = next((key for key, tensor in stored.items()
                    if tensor.shape == value.shape and np.array_equal(tensor, value)), None)
        if key is None:
            raise SingleHDRError(f"export: variable {variable.path} is not used by the serving signatures, "
                                 "so the SavedModel would not hold it")
        keys.append(key)
    return keys


def _metadata(model: keras.Model, checkpoint_keys: list[str]) -> dict[str, Any]:
    return {
        "format": METADATA_FORMAT,
        "model_config": model.get_config(),
        "variables": [[models.relative_path(variable), list(variable.shape), key]
                      for variable, key in zip(model.variables, checkpoint_keys, strict=True)],
    }


def switched_off_networks(model: keras.Model) -> list[keras.layers.Layer]:
    """The sub-networks ``model`` holds weights of but does not run: a Dequantization-Net with step
    0, a Linearization-Net that gives every photo a fixed curve. (A model with its Refinement-Net
    switched off builds no weights for it.)"""
    off = [(model.dequantization, model.dequantization.switched_off),
           (model.linearization, not model.linearization.estimates_curve)]
    return [network for network, unused in off if unused]


def write_saved_model(model: keras.Model, version_dir: str | os.PathLike) -> pathlib.Path:
    """Write ``model`` as a SavedModel with the ``serving_default`` and ``encoded_image`` signatures
    and its metadata file to ``version_dir`` (which must not exist yet). Returns the folder."""
    version_dir = pathlib.Path(version_dir)
    build_variables(model)
    archive = keras.export.ExportArchive()
    # No archive.track(model): it would save every weight a second time (the Keras variables beside
    # the tf.Variables the endpoints capture). The metadata maps model variables to checkpoint keys.
    # Networks a release switched off are not run by the endpoints, so they are tracked instead:
    # their weights are saved once and the SavedModel loads back into the full model.
    for network in switched_off_networks(model):
        archive.track(network)
    for name, (function, spec) in (("serving_default", image_signature(model)),
                                   ("encoded_image", encoded_image_signature(model))):
        archive.add_endpoint(name, function, input_signature=spec)
    archive.write_out(os.fspath(version_dir), verbose=False)
    (version_dir / METADATA_FILE).parent.mkdir(exist_ok=True)
    (version_dir / METADATA_FILE).write_text(json.dumps(_metadata(model, _checkpoint_keys(model, version_dir)), indent=1))
    return version_dir


def convert_tflite(saved_model_dir: str | os.PathLike, variant: str = "float32",
                   float32_flatbuffer: bytes | None = None) -> bytes:
    """The TFLite flatbuffer of ``serving_default``: ``variant`` is ``"float32"``, ``"float16"``
    (weights stored as float16) or ``"dynamic_range"`` (weights int8, activations quantized on the
    fly where a kernel supports it; the networks of :data:`FLOAT_IN_DYNAMIC_RANGE` stay float32).
    Builtin ops only; ``H, W`` stay dynamic. ``float32_flatbuffer``, the ``"float32"`` conversion of
    the same SavedModel where the caller has it, saves ``"dynamic_range"`` converting it again."""
    if variant not in TFLITE_FILES:
        raise SingleHDRError(f"unknown TFLite variant {variant!r} (expected one of {', '.join(TFLITE_FILES)})")
    converter = tf.lite.TFLiteConverter.from_saved_model(os.fspath(saved_model_dir),
                                                         signature_keys=["serving_default"])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if variant != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "float16":
        converter.target_spec.supported_types = [tf.float16]
    flatbuffer = converter.convert()
    if variant == "dynamic_range":
        flatbuffer = _restore_float_weights(flatbuffer, float32_flatbuffer or convert_tflite(saved_model_dir),
                                            FLOAT_IN_DYNAMIC_RANGE)
    return flatbuffer


def _network_of(tensor_name: str) -> str:
    """``"single_hdr_1/linearization_1/stem_1/convolution"`` -> ``"linearization"``: the sub-network a
    TFLite tensor belongs to, from the Keras layer path the converter names it by."""
    parts = tensor_name.split("/")
    return re.sub(r"_\d+$", "", parts[1]) if len(parts) > 2 else ""


def _restore_float_weights(quantized: bytes, float32: bytes, networks: tuple[str, ...]) -> bytes:
    """``quantized`` (a dynamic-range flatbuffer) with the int8 weights of ``networks`` replaced by
    their float32 values from ``float32``, the same graph converted without quantization; their
    kernels then run in float. A weight belongs to the network of the operators that read it (a
    constant the converter shares between layers, such as the curve basis of an ensemble's
    members, loses its layer name), and its float32 value is the same input of the operator of the
    same output in ``float32``. The converter has no per-layer switch for dynamic-range
    quantization, so the file is edited with TensorFlow's own TFLite flatbuffer reader and writer
    (``tensorflow.lite.tools.flatbuffer_utils``) rather than by hand."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(quantized))
    reference = flatbuffer_utils.read_model_from_bytearray(bytearray(float32))
    tensors, reference_tensors = model.subgraphs[0].tensors, reference.subgraphs[0].tensors
    reference_ops = {reference_tensors[op.outputs[0]].name: op for op in reference.subgraphs[0].operators}
    for op in model.subgraphs[0].operators:
        output = tensors[op.outputs[0]].name
        if _network_of(output.decode()) not in networks:
            continue
        for position, index in enumerate(op.inputs):
            if index < 0 or tensors[index].type != schema.TensorType.INT8:  # -1: an optional input left out
                continue
            tensor = tensors[index]
            if output not in reference_ops:
                raise SingleHDRError(f"dynamic-range export: no float32 operator {output.decode()} to restore "
                                     f"{tensor.name.decode()} from")
            original = reference_tensors[reference_ops[output].inputs[position]]
            model.buffers[tensor.buffer].data = reference.buffers[original.buffer].data
            tensor.type, tensor.quantization = original.type, original.quantization
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def run_tflite(path: str | os.PathLike, image: np.ndarray) -> dict[str, np.ndarray]:
    """Run a TFLite file's ``serving_default`` once on ``image`` float32 ``[1, H, W, 3]`` in [0, 1]:
    returns the outputs ``{name: array}``. For more than one photo keep a
    :class:`singlehdr_tf.tflite_runner.TFLiteRunner`: each call here builds a new interpreter.

    Example:
        >>> outputs = run_tflite("saved_models/lite.tflite", image[None])  # doctest: +SKIP
        >>> outputs["hdr"].shape, outputs["inverse_crf"].shape  # doctest: +SKIP
        ((1, H, W, 3), (1, 1024))
    """
    return TFLiteRunner(path)(image)


def _replace_dir(source: pathlib.Path, target: pathlib.Path) -> None:
    """Move the finished folder ``source`` to ``target`` in one rename (TF Serving never sees a
    half-written version); an existing ``target`` is moved aside first and then deleted."""
    trash = None
    if target.exists():
        trash = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
        os.replace(target, trash)
    os.replace(source, target)
    if trash is not None:
        shutil.rmtree(trash)


def export_all(model: keras.Model, out_dir: str | os.PathLike, name: str, version: int,
               overwrite: bool = False) -> list[pathlib.Path]:
    """Write the SavedModel ``out_dir/name/version/`` and the three TFLite files beside
    ``out_dir/name``; returns their paths. Refuses to replace existing files unless ``overwrite``."""
    out_dir = pathlib.Path(out_dir)
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise SingleHDRError(f"{name!r}: a model name is letters, digits, '-' and '_'")
    if version < 1:
        raise SingleHDRError(f"{name}: the version must be a positive integer, got {version}")
    version_dir = out_dir / name / str(version)
    tflite_paths = {variant: out_dir / pattern.format(name=name) for variant, pattern in TFLITE_FILES.items()}
    existing = [path for path in (version_dir, *tflite_paths.values()) if path.exists()]
    if existing and not overwrite:
        raise SingleHDRError(f"{os.fspath(existing[0])}: already exists (use overwrite to replace it)")
    try:
        (out_dir / name).mkdir(parents=True, exist_ok=True)
        staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{version}.tmp-", dir=out_dir / name))
    except OSError as error:
        raise SingleHDRError(f"{os.fspath(out_dir)}: cannot write ({error.strerror or error})") from None
    try:
        saved_model = write_saved_model(model, staging / "saved_model")
        flatbuffers = {"float32": convert_tflite(saved_model)}
        flatbuffers |= {variant: convert_tflite(saved_model, variant, flatbuffers["float32"])
                        for variant in tflite_paths if variant != "float32"}
        for variant, path in tflite_paths.items():
            with atomic_write(path) as temporary:
                temporary.write_bytes(flatbuffers[variant])
        _replace_dir(saved_model, version_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [version_dir, *tflite_paths.values()]
