"""Whole photo libraries on Apache Beam: the ``singlehdr beam`` pipeline, from a laptop to a cluster.

:func:`run` reconstructs every photo an input glob matches into one output folder, on any Beam runner
(the local DirectRunner, Dataflow, Flink, Spark) and any Beam filesystem (local, ``gs://``,
``s3://`` with Beam's extras):

1. match the files (``MatchFiles``) and give each its output, named as ``singlehdr reconstruct``
   names it (:func:`singlehdr_tf.api.output_paths`); when two inputs would write the same output,
   the first path in sorted order claims it and the others are dead-lettered, like the CLI does;
2. skip an input whose output exists (unless ``overwrite``), so a rerun after a crash only does
   what is missing;
3. read and validate the photo (:func:`singlehdr_tf.io.read_ldr`);
4. reconstruct it with ``RunInference`` and :class:`ReconstructorHandler` (the model loaded once
   per worker; :class:`~singlehdr_tf.api.Reconstructor` tiles large photos itself);
5. write the HDR file atomically (:func:`singlehdr_tf.io.write_hdr`).

Bad inputs never fail the pipeline: each step's exceptions go, through Beam's exception handling,
to ``OUTPUT_DIR/dead_letter.jsonl`` (one ``{"path", "reason"}`` object a line, in no particular
order; written by Beam's text sink, which renames it into place when the pipeline finishes). Every
input is counted once, as written (``images``), ``skipped`` or dead-lettered (``failures``); the
Beam counters of :data:`NAMESPACE` also hold ``inputs``, ``pixels`` and ``model_milliseconds``.

Needs the ``beam`` extra: ``pip install "singlehdr_tf[beam]"``.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import apache_beam as beam
import numpy as np
from apache_beam.io import fileio
from apache_beam.io.filesystem import BeamIOError, CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.localfilesystem import LocalFileSystem
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference
from apache_beam.options.pipeline_options import PipelineOptions

from singlehdr_tf import api, io, models
from singlehdr_tf.errors import SingleHDRError

NAMESPACE = "singlehdr"
"""Namespace of the pipeline's Beam counters."""
COUNTERS = ("inputs", "images", "pixels", "skipped", "failures", "model_milliseconds")
DEAD_LETTER_FILE = "dead_letter.jsonl"
FILE_FORMATS = ("exr", "hdr")
"""Output formats: the HDR files :func:`singlehdr_tf.io.write_hdr` writes, named as
:func:`singlehdr_tf.api.output_paths` names them."""


class Photo(NamedTuple):
    """One input on its way through the pipeline: its path, its output's path and (once read) its pixels."""

    path: str
    destination: str
    image: np.ndarray | None = None


def _count(name: str, value: int = 1) -> None:
    Metrics.counter(NAMESPACE, name).inc(value)


def _is_local(path: str) -> bool:
    return isinstance(FileSystems.get_filesystem(path), LocalFileSystem)


def destination(path: str, output_dir: str, file_format: str) -> str:
    """The HDR file ``singlehdr reconstruct`` writes for the photo ``path`` (on any filesystem)."""
    return FileSystems.join(output_dir, api.output_paths(path, "", file_format)[0].name)


def keyed_by_destination(metadata: fileio.FileMetadata, output_dir: str, file_format: str) -> tuple[str, str]:
    """Count one matched input; ``(its output, its path)``."""
    _count("inputs")
    return destination(metadata.path, output_dir, file_format), metadata.path


def claim_outputs(item: tuple[str, Iterable[str]]) -> Iterator[Photo | beam.pvalue.TaggedOutput]:
    """``(output, input paths)`` -> the first input in sorted order; the others, which would
    overwrite its output, to the ``"duplicates"`` output as dead-letter records."""
    output, paths = item
    first, *others = sorted(paths)
    yield Photo(first, output)
    for path in others:
        reason = f"output name {pathlib.PurePosixPath(output).name!r} is already used by {first}"
        yield beam.pvalue.TaggedOutput("duplicates", {"path": path, "reason": reason})


def needs_output(photo: Photo, overwrite: bool) -> bool:
    """False, and counted as skipped, if the photo's output exists and not ``overwrite``."""
    if overwrite or not FileSystems.exists(photo.destination):
        return True
    _count("skipped")
    return False


def read_photo(photo: Photo) -> Photo:
    """The photo with its pixels (:func:`singlehdr_tf.io.read_ldr`); a file on a remote filesystem
    is copied to a local temporary file first. Raises :class:`SingleHDRError` naming the input."""
    if _is_local(photo.path):
        return photo._replace(image=io.read_ldr(photo.path))
    with tempfile.TemporaryDirectory(prefix="singlehdr-beam-") as folder:
        local = os.path.join(folder, pathlib.PurePosixPath(photo.path).name)
        with FileSystems.open(photo.path, compression_type=CompressionTypes.UNCOMPRESSED) as source:
            pathlib.Path(local).write_bytes(source.read())
        try:
            return photo._replace(image=io.read_ldr(local))
        except SingleHDRError as error:
            raise SingleHDRError(str(error).replace(local, photo.path, 1)) from None


def write_output(result: PredictionResult) -> str:
    """Write one reconstruction atomically to its destination and count it; returns the input's path.
    Remote outputs are written locally, then uploaded (an object appears when its upload completes)."""
    photo, hdr = result.example, result.inference
    if _is_local(photo.destination):
        io.write_hdr(photo.destination, hdr)
    else:
        with tempfile.TemporaryDirectory(prefix="singlehdr-beam-") as folder:
            local = os.path.join(folder, pathlib.PurePosixPath(photo.destination).name)
            io.write_hdr(local, hdr)
            data = pathlib.Path(local).read_bytes()
        with FileSystems.create(photo.destination, compression_type=CompressionTypes.UNCOMPRESSED) as target:
            target.write(data)
    _count("images")
    _count("pixels", hdr.shape[0] * hdr.shape[1])
    return photo.path


class ReconstructorHandler(ModelHandler[Photo, PredictionResult, api.Reconstructor]):
    """``RunInference``'s model handler: :func:`singlehdr_tf.api.load` once per worker, then one
    photo per call (photos differ in size, and the Reconstructor tiles the large ones itself).

    Args:
        model: a shipped model name or a model path, as :func:`singlehdr_tf.api.load` takes; it
            must be readable on the workers.
    """

    def __init__(self, model: str = models.DEFAULT_MODEL):
        super().__init__(min_batch_size=1, max_batch_size=1)
        self.model = os.fspath(model)

    def load_model(self) -> api.Reconstructor:
        return api.load(self.model)

    def run_inference(self, batch: Sequence[Photo], model: api.Reconstructor,
                      inference_args: dict[str, Any] | None = None) -> list[PredictionResult]:
        results = []
        for photo in batch:
            start = time.perf_counter()
            hdr = model.reconstruct(photo.image)
            _count("model_milliseconds", round(1000 * (time.perf_counter() - start)))
            results.append(PredictionResult(photo, hdr))
        return results

    def get_num_bytes(self, batch: Sequence[Photo]) -> int:
        return sum(photo.image.nbytes for photo in batch)


def error_reason(path: str, error: tuple) -> str:
    """The reason of a dead-lettered input from Beam's ``(type, repr, traceback lines)`` error: a
    :class:`SingleHDRError`'s message without its leading ``"<path or input>: "``, any other
    exception as ``"Type: message"`` (the first line of its message)."""
    error_type, _, formatted = error
    name = error_type.__qualname__
    if error_type.__module__ not in ("builtins", "__main__"):
        name = f"{error_type.__module__}.{name}"
    lines = "".join(formatted).splitlines()
    message = next((line[len(name) + 1:].strip() for line in reversed(lines) if line.startswith(name + ":")), "")
    if not issubclass(error_type, SingleHDRError):
        return f"{error_type.__name__}: {message}" if message else error_type.__name__
    return message.removeprefix(f"{path}: ") if message.startswith(f"{path}: ") else message.partition(": ")[2]


def dead_letter(item: tuple[Photo | list[Photo] | PredictionResult, tuple]) -> list[dict[str, str]]:
    """Dead-letter records ``{"path", "reason"}`` for one element Beam's exception handling caught:
    a :class:`Photo` (reading), a batch of them (``RunInference``) or a PredictionResult (writing)."""
    element, error = item
    if isinstance(element, PredictionResult):
        element = element.example
    photos = element if isinstance(element, list) else [element]
    return [{"path": photo.path, "reason": error_reason(photo.path, error)} for photo in photos]


def count_failure(record: dict[str, str]) -> str:
    """Count one dead-lettered input; its JSONL line."""
    _count("failures")
    return json.dumps(record)


def reconstruct_library(pipeline: beam.Pipeline, input_glob: str, output_dir: str, *, file_format: str = "exr",
                        model: str = models.DEFAULT_MODEL, overwrite: bool = False) -> None:
    """Add the steps of the module doc to ``pipeline``: every file ``input_glob`` matches is
    reconstructed into ``output_dir`` (both on any Beam filesystem), skipped or dead-lettered."""
    if file_format not in FILE_FORMATS:
        raise SingleHDRError(f"{file_format!r}: not an output format of the pipeline "
                             f"(expected {' or '.join(FILE_FORMATS)})")
    claimed = (pipeline
               | "Match" >> fileio.MatchFiles(input_glob)
               | "Outputs" >> beam.Map(keyed_by_destination, output_dir, file_format)
               | "GroupByOutput" >> beam.GroupByKey()
               | "Claim" >> beam.FlatMap(claim_outputs).with_outputs("duplicates", main="photos"))
    todo = claimed.photos | "SkipExisting" >> beam.Filter(needs_output, overwrite)
    photos, unreadable = todo | "Read" >> beam.Map(read_photo).with_exception_handling()
    results, failed = photos | "Reconstruct" >> RunInference(ReconstructorHandler(model)).with_exception_handling()
    _, unwritable = results | "Write" >> beam.Map(write_output).with_exception_handling()
    errors = ((unreadable, failed.failed_inferences, unwritable)
              | "Errors" >> beam.Flatten()
              | "DeadLetters" >> beam.FlatMap(dead_letter))
    _ = ((claimed.duplicates, errors)
         | "AllDeadLetters" >> beam.Flatten()
         | "CountFailures" >> beam.Map(count_failure)
         | "WriteDeadLetters" >> beam.io.WriteToText(FileSystems.join(output_dir, DEAD_LETTER_FILE),
                                                     num_shards=1, shard_name_template=""))


def summary(result: beam.runners.runner.PipelineResult) -> dict[str, float]:
    """The pipeline's counters from its result: ``inputs``, ``images`` (written), ``skipped``,
    ``failures`` (dead-lettered), ``megapixels`` and ``model_seconds``."""
    totals = dict.fromkeys(COUNTERS, 0)
    for counter in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[counter.key.metric.name] += value or 0
    megapixels = round(totals.pop("pixels") / 1e6, 3)
    model_seconds = round(totals.pop("model_milliseconds") / 1000, 3)
    return dict(totals, megapixels=megapixels, model_seconds=model_seconds)


def format_summary(counts: dict[str, float], output_dir: str) -> str:
    """One line for the end of a run."""
    text = (f"{counts['inputs']} inputs: {counts['images']} written ({counts['megapixels']:g} megapixels, "
            f"{counts['model_seconds']:g} s in the model), {counts['skipped']} skipped (outputs exist), "
            f"{counts['failures']} failed")
    if counts["failures"]:
        text += f" (see {FileSystems.join(output_dir, DEAD_LETTER_FILE)})"
    return text


def run(input_glob: str, output_dir: str | os.PathLike, *, file_format: str = "exr",
        model: str | os.PathLike = models.DEFAULT_MODEL, overwrite: bool = False,
        pipeline_args: Sequence[str] = ()) -> dict[str, float]:
    """Run :func:`reconstruct_library` to completion and return its :func:`summary`.

    Args:
        input_glob: photos to reconstruct, a glob on any Beam filesystem (``photos/**/*.jpg``,
            ``gs://bucket/photos/*``).
        output_dir: folder for the HDR files and ``dead_letter.jsonl``; a local one is created if missing.
        file_format: one of :data:`FILE_FORMATS`.
        model: shipped model name or model path (:func:`singlehdr_tf.api.load`), readable on the workers.
        overwrite: reconstruct inputs whose output exists too (else they are skipped).
        pipeline_args: Beam pipeline options (``--runner``, ``--direct_num_workers``, ``--project`` ...).

    Raises:
        SingleHDRError: a glob that matches no file, a local output folder that cannot be created,
            or another ``file_format`` (all before any work).
    """
    output_dir = os.fspath(output_dir)
    try:
        matched = FileSystems.match([input_glob], limits=[1])[0].metadata_list
    except BeamIOError as error:
        raise SingleHDRError(f"{input_glob}: cannot list the input files ({error})") from None
    if not matched:
        raise SingleHDRError(f"{input_glob}: matches no files")
    if _is_local(output_dir):
        try:
            os.makedirs(output_dir, exist_ok=True)
        except OSError as error:
            raise SingleHDRError(f"{output_dir}: cannot create the output folder ({error.strerror or error})") from None
    pipeline = beam.Pipeline(options=PipelineOptions(list(pipeline_args)))
    reconstruct_library(pipeline, input_glob, output_dir, file_format=file_format, model=os.fspath(model),
                        overwrite=overwrite)
    result = pipeline.run()
    result.wait_until_finish()
    return summary(result)
