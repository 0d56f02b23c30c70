"""``TFLiteRunner``: one LiteRT interpreter kept across photos.

Building an interpreter is the expensive part of a TFLite call: XNNPACK packs every weight when
the interpreter is first allocated. A runner builds it once, re-allocates its tensors only when
the photo size changes and otherwise just copies the photo in and invokes. This module imports
LiteRT (``ai-edge-litert``) and NumPy only, never TensorFlow, so a deployment that runs the
``.tflite`` file does not carry TensorFlow's memory.
"""

from __future__ import annotations

import os

import numpy as np

from singlehdr_tf.errors import SingleHDRError

SIGNATURE = "serving_default"
INPUT_NAME = "image"


class TFLiteRunner:
    """Run a TFLite file's ``serving_default`` signature on photos of any size.

    ``runner(image)`` takes float32 ``[1, H, W, 3]`` in [0, 1] and returns the signature's outputs
    ``{name: array}`` (``hdr``, ``inverse_crf``, ... for the package's exports), copies owned by the
    caller. ``num_threads`` defaults to every core (LiteRT's own default is one thread).

    Example:
        >>> runner = TFLiteRunner("saved_models/lite.tflite")  # doctest: +SKIP
        >>> hdr = runner(photo[None])["hdr"][0]  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise SingleHDRError(f"{self.path}: no such TFLite file")
        try:
            self._interpreter = Interpreter(model_path=self.path, num_threads=num_threads or os.cpu_count())
        except ValueError as error:
            raise SingleHDRError(f"{self.path}: not a TFLite model ({str(error).splitlines()[0]})") from None
        signatures = self._interpreter.get_signature_list()
        if SIGNATURE not in signatures or INPUT_NAME not in signatures[SIGNATURE]["inputs"]:
            raise SingleHDRError(f"{self.path}: no {SIGNATURE} signature with an {INPUT_NAME!r} input")
        runner = self._interpreter.get_signature_runner(SIGNATURE)
        self._input = runner.get_input_details()[INPUT_NAME]["index"]
        self._outputs = {name: details["index"] for name, details in runner.get_output_details().items()}
        del runner  # it holds the interpreter's buffers, which resizing must be free to reallocate
        self._shape: tuple[int, ...] | None = None

    @property
    def output_names(self) -> list[str]:
        """The signature's output names."""
        return list(self._outputs)

    def delegate_partitions(self) -> int:
        """How many pieces of the graph XNNPACK runs after the last allocation (LiteRT's own
        kernels run the ops between them; fewer is faster)."""
        return sum(op["op_name"] == "DELEGATE" for op in self._interpreter._get_ops_details())

    def __call__(self, image: np.ndarray) -> dict[str, np.ndarray]:
        image = np.ascontiguousarray(image, np.float32)
        if image.ndim != 4 or image.shape[0] != 1 or image.shape[-1] != 3:
            raise SingleHDRError(f"{self.path}: expected an image of shape [1, H, W, 3], got {list(image.shape)}")
        if image.shape != self._shape:
            self._interpreter.resize_tensor_input(self._input, image.shape, strict=True)
            self._interpreter.allocate_tensors()
            self._shape = image.shape
        self._interpreter.set_tensor(self._input, image)
        self._interpreter.invoke()
        return {name: self._interpreter.get_tensor(index) for name, index in self._outputs.items()}
