"""Photo-library throughput: ``singlehdr beam`` on Beam's local runner against one plain loop.

    python tools/bench_beam.py [--images 200] [--megapixels 2] [--model lite] [--workers N]
                               [--json release/benchmarks/beam.json]

Writes ``--images`` synthetic JPEG photos of ``--megapixels`` (4:3, see ``bench_infer.image_shape``)
to a temporary folder, then reconstructs them all twice, end to end (model loading, reading,
writing OpenEXR files included):

* ``beam``: :func:`singlehdr_tf.beam.run` on the DirectRunner in ``--mode`` (default
  ``multi_processing``: ``--workers`` SDK worker processes, default one per core, each loading the
  model once);
* ``loop``: :func:`singlehdr_tf.load` and :meth:`~singlehdr_tf.api.Reconstructor.reconstruct_file`
  on each photo, in this process.

The JSON holds both throughputs (images/s), their ratio (beam / loop; the issue's target is at
least 0.8 on 2 cores), the worker count and the machine.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

from PIL import Image

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tools")]  # run from a checkout without installing; bench_infer

from bench_infer import image_shape, machine, synthetic_photo  # noqa: E402

TARGET_RATIO = 0.8
"""The issue's target: the Beam run's throughput at least this share of the plain loop's."""


def write_photos(folder: pathlib.Path, count: int, megapixels: float) -> list[pathlib.Path]:
    """``count`` synthetic JPEG photos (quality 90) of about ``megapixels`` in ``folder``."""
    height, width = image_shape(megapixels)
    paths = []
    for index in range(count):
        path = folder / f"photo{index:05d}.jpg"
        Image.fromarray(synthetic_photo(height, width, seed=index)).save(path, quality=90)
        paths.append(path)
    return paths


def time_beam(photos: pathlib.Path, out: pathlib.Path, model: str, mode: str, workers: int) -> dict:
    """Seconds and summary of one :func:`singlehdr_tf.beam.run` over ``photos/*.jpg``."""
    from singlehdr_tf import beam

    pipeline_args = ["--runner=DirectRunner", f"--direct_running_mode={mode}", f"--direct_num_workers={workers}"]
    start = time.perf_counter()
    counts = beam.run(os.fspath(photos / "*.jpg"), out, model=model, pipeline_args=pipeline_args)
    seconds = time.perf_counter() - start
    return {"mode": mode, "workers": workers, "pipeline_args": pipeline_args, "seconds": round(seconds, 2),
            "summary": counts}


def time_loop(paths: list[pathlib.Path], out: pathlib.Path, model: str) -> dict:
    """Seconds of loading ``model`` and reconstructing every photo with ``reconstruct_file``, in this process."""
    from singlehdr_tf import api

    start = time.perf_counter()
    reconstructor = api.load(model)
    load_seconds = time.perf_counter() - start
    for path in paths:
        reconstructor.reconstruct_file(path, out)
    return {"seconds": round(time.perf_counter() - start, 2), "load_seconds": round(load_seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200, help="number of photos (default 200)")
    parser.add_argument("--megapixels", type=float, default=2.0, help="size of each photo (default 2)")
    parser.add_argument("--model", default="lite", help="shipped model name or model path (default lite)")
    parser.add_argument("--mode", choices=("multi_processing", "multi_threading", "in_memory"),
                        default="multi_processing", help="DirectRunner running mode (default multi_processing)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="DirectRunner workers (default: cores)")
    parser.add_argument("--json", type=pathlib.Path, default=REPO / "release" / "benchmarks" / "beam.json")
    args = parser.parse_args()
    if args.images < 1 or args.megapixels <= 0 or args.workers < 1:
        parser.error("--images, --megapixels and --workers must be positive")

    from singlehdr_tf import io

    height, width = image_shape(args.megapixels)
    report = {"date": time.strftime("%Y-%m-%d"), "model": args.model, "images": args.images,
              "megapixels": args.megapixels, "height": height, "width": width, "machine": machine()}
    with tempfile.TemporaryDirectory(prefix="bench_beam-") as temporary:
        folder = pathlib.Path(temporary)
        (folder / "photos").mkdir()
        paths = write_photos(folder / "photos", args.images, args.megapixels)
        print(f"{args.images} photos of {width}x{height}; beam ({args.mode}, {args.workers} workers)", flush=True)
        report["beam"] = time_beam(folder / "photos", folder / "beam", args.model, args.mode, args.workers)
        if report["beam"]["summary"]["images"] != args.images:
            raise SystemExit(f"bench_beam: the Beam run wrote {report['beam']['summary']['images']} of "
                             f"{args.images} images (see {folder / 'beam' / 'dead_letter.jsonl'})")
        print(f"beam: {report['beam']['seconds']} s; plain loop", flush=True)
        (folder / "loop").mkdir()
        report["loop"] = time_loop(paths, folder / "loop", args.model)
    for name in ("beam", "loop"):
        report[name]["images_per_s"] = round(args.images / report[name]["seconds"], 3)
    report["ratio"] = round(report["beam"]["images_per_s"] / report["loop"]["images_per_s"], 3)
    report["target_ratio"] = TARGET_RATIO
    report["target_met"] = report["ratio"] >= TARGET_RATIO
    args.json.parent.mkdir(parents=True, exist_ok=True)
    print(io.write_json(args.json, report))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
