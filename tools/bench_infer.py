"""Inference speed and memory: median latency and peak RSS of reconstructing one photo, per backend
and image size, with the model's FLOPs and the share of this machine's measured matmul peak.

    python tools/bench_infer.py [--model lite] [--sizes 0.25 1 4 12 24] [--repeats 5]
                                [--json release/benchmarks/infer.json] [--markdown release/benchmarks/infer.md]

Backends (``--backends``):

* ``reference``: a plain stack of seven 3x3 convolutions of about ``lite``'s FLOPs
  (:data:`REFERENCE_FILTERS`), whole image: every other case's ``ratio_to_reference`` is its
  median over this one's at the same size, measured in the same run (these machines differ 2x
  from day to day; the ratios do not);
* ``tflite_reference``: the same network converted like the model and run by LiteRT as the TFLite
  backends are: each TFLite case's ``ratio_to_tflite_reference`` separates what the model's graph
  costs in LiteRT from what LiteRT's convolution kernels (XNNPACK) cost against TensorFlow's (oneDNN);
* ``keras``: :func:`singlehdr_tf.load` and :meth:`~singlehdr_tf.api.Reconstructor.reconstruct` on a
  uint8 photo, default options (whole image up to 2 MP, 1536-pixel tiles beyond, so memory stays
  bounded at any size); ``keras_bfloat16`` the same with ``precision="bfloat16"``;
* ``saved_model``: ``tf.saved_model.load`` and its ``serving_default`` on the whole image;
* ``tflite_float32``, ``tflite_float16``, ``tflite_dynamic_range`` (int8 weights): LiteRT on the
  whole image, ``--threads`` threads, one :class:`singlehdr_tf.tflite_runner.TFLiteRunner` kept
  across photos: its first call (the interpreter allocated, XNNPACK packing the weights), the
  steady state, and the first call at a new photo size (``new_size_s``, 32 pixels smaller each
  way: tensors re-allocated) are timed apart; ``xnnpack_partitions`` counts the graph pieces
  XNNPACK runs (LiteRT's own kernels run the ops between them).

The whole-image backends are skipped above ``--whole-image-max-mp`` megapixels (their activations
grow with the image; the table says so). Each backend and size runs in a fresh subprocess: one
untimed first call (tracing, allocation), then ``--repeats`` timed calls; the child's peak resident
memory (``VmHWM``, see :func:`peak_rss_mb`: TensorFlow or LiteRT runtime, model, photo and outputs)
is that case's alone.

FLOPs are TensorFlow's graph-profiler count of the whole model at each size (as
``tools/model_summary.py``; multiply-add = 2); the Keras backend's tiles overlap, so it executes
somewhat more than that. GFLOP/s = FLOPs / median latency, compared with the best float32
``tf.matmul`` rate measured in the same run on the same device (CPU, and GPU when TensorFlow sees
one; LiteRT always runs on the CPU).

``--model`` is a shipped model name or a model path (see :func:`singlehdr_tf.load`); a config name
without trained weights (``lite``, ``paper``) builds an untrained model, marked so in the output:
speed and memory do not depend on the weights.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tools")]  # run from a checkout without installing; model_summary

BACKENDS = ("reference", "keras", "keras_bfloat16", "saved_model", "tflite_reference", "tflite_float32",
            "tflite_float16", "tflite_dynamic_range")
REFERENCE_FILTERS = 32
"""Width of the reference network: seven 3x3 convolutions, 3 -> 32 -> ... -> 32 -> 3 channels,
about 96 GFLOP per megapixel, near the ``lite`` model's 93."""
WHOLE_IMAGE_BACKENDS = ("reference", "saved_model", *(name for name in BACKENDS if name.startswith("tflite_")))
DEFAULT_SIZES = (0.25, 1.0, 4.0, 12.0)
MEMORY_TARGET = {"megapixels": 24.0, "peak_rss_gb": 6.0, "backend": "keras"}
"""The deployment issue's target: a 24 MP photo under 6 GB peak RSS (with ``lite``)."""

ASPECT = (4, 3)
"""Test photos are landscape 4:3 (12 MP is 4000x3000)."""

MATMUL_SIDE = {"cpu": 4096, "gpu": 8192}


def image_shape(megapixels: float) -> tuple[int, int]:
    """``(height, width)`` of a 4:3 landscape photo of about ``megapixels`` (at least 32x32)."""
    width = round((megapixels * 1e6 * ASPECT[0] / ASPECT[1]) ** 0.5)
    return max(32, round(width * ASPECT[1] / ASPECT[0])), max(32, width)


def synthetic_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A uint8 ``[H, W, 3]`` photo: a smooth gradient with noise and a clipped patch (the content
    does not change the work done; the clipped patch keeps the highlight path realistic)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.0, 255.0, width, dtype=np.float32)[None, :, None]
    photo = np.clip(ramp + rng.normal(0.0, 8.0, (height, 1, 3)).astype(np.float32), 0, 255).astype(np.uint8)
    photo[: height // 4, : width // 4] = 255
    return photo


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB: ``VmHWM`` of ``/proc/self/status`` on
    Linux, else ``ru_maxrss``. (On Linux ``ru_maxrss`` carries over across ``exec`` from the memory
    of the forking parent, which here holds TensorFlow and the model: a child would inherit it.)"""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def plan(sizes: list[float], backends: list[str], whole_image_max_mp: float) -> list[dict]:
    """One case per size and backend, in that order; whole-image backends above
    ``whole_image_max_mp`` carry a ``skipped`` reason instead of being run."""
    cases = []
    for megapixels in sizes:
        height, width = image_shape(megapixels)
        for backend in backends:
            case = {"backend": backend, "megapixels": megapixels, "height": height, "width": width}
            if backend in WHOLE_IMAGE_BACKENDS and megapixels > whole_image_max_mp:
                case["skipped"] = (f"whole image above {whole_image_max_mp:g} MP: this backend does not tile, "
                                   "its memory grows with the image")
            cases.append(case)
    return cases


# --- in the child process ------------------------------------------------------------------------

def _tensorflow_device() -> tuple[str, bool]:
    """``(description, on_gpu)`` of where TensorFlow runs."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return f"GPU: {tf.config.experimental.get_device_details(gpus[0]).get('device_name', gpus[0].name)}", True
    return "CPU", False


def reference_network():
    """A plain stack of 3x3 convolutions of about the model's FLOPs (:data:`REFERENCE_FILTERS`)."""
    import keras

    layers = [keras.layers.Conv2D(REFERENCE_FILTERS, 3, padding="same", activation="relu") for _ in range(6)]
    return keras.Sequential([keras.Input((None, None, 3)), *layers, keras.layers.Conv2D(3, 3, padding="same")])


def _reference_runner(artifacts: dict):
    """:func:`reference_network` run by the same TensorFlow: the speed a convolution network of
    that size reaches on this machine today."""
    import tensorflow as tf

    network = reference_network()
    run_network = tf.function(lambda image: network(image, training=False))

    def run(photo: np.ndarray) -> np.ndarray:
        return run_network(tf.constant(photo[None].astype(np.float32) / 255.0)).numpy()[0]

    return run


def _keras_runner(artifacts: dict, precision: str = "float32"):
    from singlehdr_tf import api

    return api.load(artifacts["saved_model"], precision=precision).reconstruct


def _saved_model_runner(artifacts: dict):
    import tensorflow as tf

    serving = tf.saved_model.load(artifacts["saved_model"]).signatures["serving_default"]

    def run(photo: np.ndarray) -> np.ndarray:
        image = tf.constant(photo[None].astype(np.float32) / 255.0)
        return serving(image=image)["hdr"].numpy()[0]

    return run


def _tflite_runner(path: str, threads: int):
    # LiteRT alone, as a deployment runs it (singlehdr_tf.tflite_runner never imports TensorFlow):
    # one interpreter kept across photos.
    from singlehdr_tf.tflite_runner import TFLiteRunner

    runner = TFLiteRunner(path, num_threads=threads)

    def run(photo: np.ndarray) -> np.ndarray:
        return runner(photo[None].astype(np.float32) / 255.0)["hdr"][0]

    run.runner = runner
    return run


def run_case(backend: str, artifacts: dict, height: int, width: int, repeats: int, threads: int) -> dict:
    """Time ``backend`` on a ``height`` x ``width`` photo: the first call (from loading), then
    ``repeats`` timed calls. Returns latencies (s), peak RSS (MB) after loading and at the end, the
    device; for TFLite also the XNNPACK partitions and the first call at a new size."""
    photo = synthetic_photo(height, width)
    gpu = False
    start = time.perf_counter()
    if backend.startswith("tflite_"):
        run = _tflite_runner(artifacts[backend], threads)
        device = f"CPU (LiteRT, {threads} threads)"
    else:
        run = {"reference": _reference_runner, "keras": _keras_runner,
               "keras_bfloat16": lambda artifacts: _keras_runner(artifacts, "bfloat16"),
               "saved_model": _saved_model_runner}[backend](artifacts)
        device, gpu = _tensorflow_device()
    loaded_rss = peak_rss_mb()
    hdr = run(photo)
    first = time.perf_counter() - start
    if hdr.shape != photo.shape or not np.isfinite(hdr).all():
        raise RuntimeError(f"{backend}: bad output, shape {hdr.shape}, finite {np.isfinite(hdr).all()}")
    del hdr
    latencies = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(photo)
        latencies.append(time.perf_counter() - start)
    result = {"device": device, "on_gpu": gpu, "first_call_s": round(first, 4),
              "latencies_s": [round(value, 4) for value in latencies],
              "median_s": round(statistics.median(latencies), 4),
              "loaded_rss_mb": round(loaded_rss), "peak_rss_mb": round(max(peak_rss_mb(), loaded_rss))}
    if backend.startswith("tflite_"):
        result["xnnpack_partitions"] = run.runner.delegate_partitions()
        smaller = synthetic_photo(max(32, height - 32), max(32, width - 32))
        start = time.perf_counter()
        run(smaller)
        result["new_size_s"] = round(time.perf_counter() - start, 4)
    if gpu:
        import tensorflow as tf

        result["gpu_peak_mb"] = round(tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20)
    return result


def matmul_peak() -> dict[str, float]:
    """Best float32 ``tf.matmul`` rate in GFLOP/s on the CPU and, when TensorFlow sees one, the GPU
    (square matrices of :data:`MATMUL_SIDE`; on a GPU, TensorFloat-32 as TensorFlow's default)."""
    import tensorflow as tf

    devices = ["cpu"] + (["gpu"] if tf.config.list_physical_devices("GPU") else [])
    peaks = {}
    for device in devices:
        side = MATMUL_SIDE[device]
        with tf.device(f"/{device.upper()}:0"):
            a = tf.random.uniform((side, side))
            b = tf.random.uniform((side, side))
            best = float("inf")
            for _ in range(4 if device == "cpu" else 20):  # the first is the warm-up
                start = time.perf_counter()
                float(tf.matmul(a, b)[0, 0])  # fetching one value waits for the product
                best = min(best, time.perf_counter() - start)
        peaks[device] = round(2 * side**3 / best / 1e9, 1)
    return peaks


def child(spec: dict) -> None:
    """Run one measurement described by ``spec`` and write its result as JSON to ``spec["out"]``."""
    if spec["kind"] == "peak":
        result = matmul_peak()
    else:
        result = run_case(spec["backend"], spec["artifacts"], spec["height"], spec["width"],
                          spec["repeats"], spec["threads"])
    pathlib.Path(spec["out"]).write_text(json.dumps(result))


# --- in the parent process -----------------------------------------------------------------------

def spawn(spec: dict, folder: pathlib.Path, env: dict, timeout: float) -> dict:
    """Run ``spec`` in a fresh Python process; its result, or ``{"error": ...}``."""
    spec = dict(spec, out=os.fspath(folder / f"result-{time.monotonic_ns()}.json"))
    try:
        process = subprocess.run([sys.executable, os.fspath(pathlib.Path(__file__).resolve()), "--child",
                                  json.dumps(spec)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}
    if process.returncode != 0:
        reason = (f"killed by signal {-process.returncode}" + (" (out of memory?)" if process.returncode == -9 else "")
                  if process.returncode < 0 else f"exit status {process.returncode}")
        lines = [line for line in process.stderr.splitlines() if line.strip()]
        return {"error": reason + (f": {lines[-1][:300]}" if lines else "")}
    return json.loads(pathlib.Path(spec["out"]).read_text())


def project_skipped_memory(cases: list[dict]) -> None:
    """Give each skipped case ``projected_peak_rss_gb``: its backend's largest measured case, with
    the memory the photo added there (peak minus before the first call) scaled to the skipped size."""
    for case in cases:
        measured = [other for other in cases if other["backend"] == case["backend"] and "peak_rss_mb" in other]
        if "skipped" in case and measured:
            largest = max(measured, key=lambda other: other["megapixels"])
            per_megapixel = (largest["peak_rss_mb"] - largest["loaded_rss_mb"]) / largest["megapixels"]
            projected = largest["loaded_rss_mb"] + per_megapixel * case["megapixels"]
            case["projected_peak_rss_gb"] = round(projected / 1024, 1)


def add_reference_ratios(cases: list[dict]) -> None:
    """Give each measured case ``ratio_to_reference``: its median latency over the reference
    network's in TensorFlow at the same size, when that was measured; and each TFLite case
    ``ratio_to_tflite_reference``, over the same network's in LiteRT."""
    for reference_backend, key, applies in (("reference", "ratio_to_reference", lambda backend: True),
                                            ("tflite_reference", "ratio_to_tflite_reference",
                                             lambda backend: backend.startswith("tflite_"))):
        reference = {case["megapixels"]: case["median_s"] for case in cases
                     if case["backend"] == reference_backend and "median_s" in case}
        for case in cases:
            if "median_s" in case and case["megapixels"] in reference and applies(case["backend"]):
                case[key] = round(case["median_s"] / reference[case["megapixels"]], 3)


def resolve_model(name_or_path: str):
    """``(model, description, untrained)`` for a shipped name, a model path or a config name."""
    from singlehdr_tf import api, models
    from singlehdr_tf.errors import SingleHDRError

    try:
        return api.load_model(name_or_path), name_or_path, False
    except SingleHDRError:
        if name_or_path not in models.MODEL_CONFIGS or pathlib.Path(name_or_path).exists():
            raise
    model = models.build_model(name_or_path)
    model(np.zeros((1, 32, 32, 3), np.float32), training=False)  # create the weights
    return model, f"{name_or_path} (untrained)", True


def write_artifacts(model, backends: list[str], folder: pathlib.Path) -> dict[str, str]:
    """The SavedModel every backend starts from (Keras rebuilds from it) and the TFLite files."""
    from singlehdr_tf import export

    saved_model = export.write_saved_model(model, folder / "saved_model")
    artifacts = {"saved_model": os.fspath(saved_model)}
    for backend in backends:
        if backend == "tflite_reference":
            source, variant = write_reference_saved_model(folder / "reference_saved_model"), "float32"
        elif backend.startswith("tflite_"):
            source, variant = saved_model, backend.removeprefix("tflite_")
        else:
            continue
        path = folder / f"{backend}.tflite"
        path.write_bytes(export.convert_tflite(source, variant))
        artifacts[backend] = os.fspath(path)
    return artifacts


def write_reference_saved_model(folder: pathlib.Path) -> pathlib.Path:
    """:func:`reference_network` as a SavedModel with the model's signature (``image`` in, ``hdr``
    out), exported as :func:`singlehdr_tf.export.write_saved_model` exports the model."""
    import keras
    import tensorflow as tf

    network = reference_network()
    archive = keras.export.ExportArchive()
    archive.track(network)
    archive.add_endpoint("serving_default", lambda image: {"hdr": network(image, training=False)},
                         input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32, name="image")])
    archive.write_out(os.fspath(folder), verbose=False)
    return folder


def model_gflop(model, height: int, width: int) -> float:
    """Whole-image GFLOP of ``model`` on one ``height`` x ``width`` photo (graph profiler)."""
    import tensorflow as tf
    from model_summary import graph_flops

    tf.get_logger().setLevel("ERROR")  # the v1 profiler's deprecation warnings

    return round(graph_flops(model, tf.TensorSpec([1, height, width, 3], tf.float32)) / 1e9, 2)


def machine() -> dict:
    """The CPU, core count, memory, GPU and library versions of this machine."""
    import ai_edge_litert
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpus = tf.config.list_physical_devices("GPU")
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "gpu": tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name) if gpus else None,
        "tensorflow": tf.__version__,
        "litert": getattr(ai_edge_litert, "__version__", None),
        "python": platform.python_version(),
    }


def _cell(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(report: dict) -> str:
    """The report as a Markdown table with its context (model, machine, matmul peak, skips)."""
    info, peak = report["machine"], report["matmul_peak_gflops"]
    peak_text = peak["error"] if "error" in peak else ", ".join(
        f"{device.upper()} {value:g} GFLOP/s" for device, value in peak.items())
    lines = [
        "# Inference speed and memory",
        "",
        f"Written by `tools/bench_infer.py` ({report['date']}). Model: **{report['model']}**, "
        f"{report['params'] / 1e6:.2f}M parameters"
        + (" — untrained weights (speed and memory do not depend on them)." if report["untrained"] else "."),
        "",
        f"Machine: {info['cpu']}, {info['cpus']} cores, {info['memory_gb']:g} GB"
        + (f", {info['gpu']}" if info["gpu"] else ", no GPU")
        + f"; TensorFlow {info['tensorflow']}, LiteRT {info['litert']}.",
        "",
        f"Measured float32 matmul peak: {peak_text}. Median of {report['repeats']} timed call(s) after one "
        "untimed first call; each case in a fresh process.",
        "",
        "| backend | MP | size | device | median (s) | x reference | x reference in LiteRT | first call (s) "
        "| new size (s) | XNNPACK partitions | peak RSS (GB) | GFLOP | GFLOP/s | % of peak |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = {}
    for case in report["cases"]:
        head = f"| {case['backend']} | {case['megapixels']:g} | {case['width']}x{case['height']} |"
        if "skipped" in case or "error" in case:
            reason = case.get("skipped") or case["error"]
            mark = notes.setdefault(reason, f"[{len(notes) + 1}]")
            label = "skipped" if "skipped" in case else "failed"
            projected = case.get("projected_peak_rss_gb")
            memory = f"~{projected:g} projected" if projected is not None else ""
            lines.append(f"{head} {label} {mark} | | | | | | | {memory} | {_cell(case['gflop'], 1)} | | |")
            continue
        device = case["device"] + (f", GPU peak {case['gpu_peak_mb'] / 1024:.2f} GB" if "gpu_peak_mb" in case else "")
        partitions = case.get("xnnpack_partitions")
        lines.append(f"{head} {device} | {_cell(case['median_s'])} | {_cell(case.get('ratio_to_reference'))} | "
                     f"{_cell(case.get('ratio_to_tflite_reference'))} | "
                     f"{_cell(case['first_call_s'])} | {_cell(case.get('new_size_s'))} | "
                     f"{'' if partitions is None else partitions} | "
                     f"{_cell(case['peak_rss_mb'] / 1024)} | {_cell(case['gflop'], 1)} | "
                     f"{_cell(case['gflop_per_s'], 1)} | {_cell(case['percent_of_peak'], 1)} |")
    lines.append("")
    lines += [f"{mark} {reason}" for reason, mark in notes.items()]
    lines += [
        "",
        "Keras tiles images above 2 MP (1536-pixel tiles, 128-pixel overlap): its memory stays bounded, "
        "and it computes the overlaps twice, so its GFLOP/s (whole-image FLOPs / latency) understates "
        "the kernels' rate. Peak RSS is the whole process: runtime, model, photo and outputs.",
    ]
    target = report.get("memory_target")
    if target and target.get("peak_rss_gb") is not None:
        verdict = "met" if target["met"] else "NOT met"
        lines += ["", f"Deployment target, a {target['megapixels']:g} MP photo under {target['limit_gb']:g} GB "
                      f"peak RSS ({target['backend']}): {verdict}, {target['peak_rss_gb']:.2f} GB."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lite", help="shipped model name, model path, or a config name "
                        "(untrained weights) (default lite)")
    parser.add_argument("--sizes", type=float, nargs="+", default=list(DEFAULT_SIZES),
                        help="megapixels (default 0.25 1 4 12; add 24 for the deployment memory check, "
                             "which runs Keras only as it is above --whole-image-max-mp)")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per case, after one untimed call")
    parser.add_argument("--whole-image-max-mp", type=float, default=4.0,
                        help="largest size the whole-image backends (SavedModel, TFLite) run at (default 4)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="LiteRT threads (default: all cores)")
    parser.add_argument("--cpu", action="store_true", help="hide GPUs from TensorFlow (GPUs are used when present)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per case")
    parser.add_argument("--json", type=pathlib.Path, default=REPO / "release" / "benchmarks" / "infer.json")
    parser.add_argument("--markdown", type=pathlib.Path, default=REPO / "release" / "benchmarks" / "infer.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    if args.repeats < 1 or args.threads < 1 or min(args.sizes) <= 0:
        parser.error("--repeats, --threads and --sizes must be positive")
    env = dict(os.environ, **({"CUDA_VISIBLE_DEVICES": "-1"} if args.cpu else {}))
    if args.cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"  # before TensorFlow loads, for machine() too

    from singlehdr_tf.io import atomic_write

    model, description, untrained = resolve_model(args.model)
    cases = plan(args.sizes, args.backends, args.whole_image_max_mp)
    report = {"model": description, "untrained": untrained, "params": model.count_params(),
              "date": time.strftime("%Y-%m-%d"), "machine": machine(), "repeats": args.repeats,
              "litert_threads": args.threads, "whole_image_max_megapixels": args.whole_image_max_mp,
              "aspect": f"{ASPECT[0]}:{ASPECT[1]}",
              "flops": "tf.compat.v1.profiler float_operation of the whole model, multiply-add = 2"}
    with tempfile.TemporaryDirectory(prefix="bench_infer-") as temporary:
        folder = pathlib.Path(temporary)
        needed = sorted({case["backend"] for case in cases if "skipped" not in case})
        print(f"model {description}; exporting for {', '.join(needed)}", flush=True)
        artifacts = write_artifacts(model, needed, folder)
        report["tflite_bytes"] = {backend: pathlib.Path(path).stat().st_size
                                  for backend, path in artifacts.items() if backend.startswith("tflite_")}
        report["matmul_peak_gflops"] = spawn({"kind": "peak"}, folder, env, args.timeout)
        print(f"matmul peak (GFLOP/s): {report['matmul_peak_gflops']}", flush=True)
        gflops = {}
        for case in cases:
            size = (case["height"], case["width"])
            if size not in gflops:
                gflops[size] = model_gflop(model, *size)
            case["gflop"] = gflops[size]
            if "skipped" not in case:
                case.update(spawn({"kind": "case", "backend": case["backend"], "artifacts": artifacts,
                                   "height": case["height"], "width": case["width"], "repeats": args.repeats,
                                   "threads": args.threads}, folder, env, args.timeout))
            if "median_s" in case:
                case["gflop_per_s"] = round(case["gflop"] / case["median_s"], 2)
                peak = report["matmul_peak_gflops"].get("gpu" if case["on_gpu"] else "cpu")
                case["percent_of_peak"] = round(100 * case["gflop_per_s"] / peak, 2) if peak else None
            print(json.dumps(case), flush=True)
    project_skipped_memory(cases)
    add_reference_ratios(cases)
    report["cases"] = cases
    target = next((case for case in cases if case["backend"] == MEMORY_TARGET["backend"]
                   and case["megapixels"] >= MEMORY_TARGET["megapixels"] and "peak_rss_mb" in case), None)
    if target is not None:
        peak_gb = round(target["peak_rss_mb"] / 1024, 2)
        report["memory_target"] = {"megapixels": target["megapixels"], "backend": MEMORY_TARGET["backend"],
                                   "limit_gb": MEMORY_TARGET["peak_rss_gb"], "peak_rss_gb": peak_gb,
                                   "met": peak_gb < MEMORY_TARGET["peak_rss_gb"]}
    for path, text in ((args.json, json.dumps(report, indent=2) + "\n"), (args.markdown, markdown(report))):
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as temporary_path:
            temporary_path.write_text(text)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
