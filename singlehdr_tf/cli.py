"""The ``singlehdr`` command: parses arguments and delegates to the package's modules.

Subcommands: ``reconstruct`` (photos -> HDR files, :mod:`singlehdr_tf.api`), ``export`` (a model
-> SavedModel + TFLite, :mod:`singlehdr_tf.export`), ``train`` (:mod:`singlehdr_tf.training`),
``synth`` (an HDR-SYNTH test set, :mod:`singlehdr_tf.evaluation.synth`), ``evaluate`` (a scored
report, :mod:`singlehdr_tf.evaluation.report`), ``sheet`` (a contact sheet of real photos,
:mod:`singlehdr_tf.evaluation.contact_sheet`) and ``beam`` (a whole photo library on Apache Beam,
:mod:`singlehdr_tf.beam`, needs the ``beam`` extra). Run ``singlehdr <subcommand> --help`` for the
options. Exit status: 0 when everything worked, 1 when some inputs failed (each with a one-line
reason on stderr; for ``beam``, in its dead-letter file), 2 for a usage error or a failure before
any work (missing model, unwritable output folder).
"""

from __future__ import annotations

import argparse
import itertools
import os
import pathlib
import sys
from collections.abc import Sequence

from singlehdr_tf import quiet
from singlehdr_tf.errors import SingleHDRError

FIXED_CURVE_CHOICES = ("srgb", "gamma_2.2", "none")
"""``--fixed-curve`` / ``--shrink-toward`` values: the names of ``crf.FIXED_INVERSE_CURVES`` (not
imported here, so parsing loads no TensorFlow) and ``none``."""

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``singlehdr`` with one subparser per subcommand."""
    parser = argparse.ArgumentParser(
        prog="singlehdr", description="Single-image HDR reconstruction by reversing the camera pipeline."
    )
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's start-up and C++ log lines (give it before COMMAND)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    reconstruct = commands.add_parser("reconstruct", help="reconstruct linear HDR images from photos")
    reconstruct.add_argument("inputs", nargs="+", metavar="INPUT", help="photos (JPEG, PNG, TIFF, WebP)")
    reconstruct.add_argument("-o", "--output", required=True, type=pathlib.Path, metavar="OUTDIR",
                             help="folder for the results (created if missing)")
    reconstruct.add_argument("--format", choices=("exr", "hdr", "uhdr"), default="exr",
                             help="HDR file format: OpenEXR float (default), Radiance RGBE, or uhdr: an Ultra HDR "
                                  "JPEG <name>_hdr.jpg (the photo plus a gain map; HDR on HDR screens)")
    reconstruct.add_argument("--preview", action="store_true",
                             help="also write a tone-mapped <name>_preview.png and <name>_exposures.png "
                                  "(the photo beside the HDR at -4, -2 and 0 EV)")
    reconstruct.add_argument("--model", default="lite", metavar="NAME|PATH",
                             help="shipped model name, SavedModel folder, .keras file or training run (default: lite)")
    reconstruct.add_argument("--curve-csv", action="store_true",
                             help="also write the estimated camera response curve as <name>_curve.csv")
    reconstruct.add_argument("--overwrite", action="store_true", help="replace existing output files")
    reconstruct.set_defaults(run=_reconstruct)

    export = commands.add_parser("export", help="write a model as a SavedModel (TF Serving) and TFLite files")
    export.add_argument("model", metavar="RUN_DIR_OR_MODEL",
                        help="training run folder, .keras file, SavedModel folder or shipped model name")
    export.add_argument("--name", required=True, help="model name: the files go to OUT/NAME/VERSION/, OUT/NAME*.tflite")
    export.add_argument("--version", required=True, type=_positive_int, help="integer version (TF Serving layout)")
    export.add_argument("--out", default=pathlib.Path("saved_models"), type=pathlib.Path,
                        help="output folder (default: saved_models)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing export of this version")
    export.add_argument("--curve-shrinkage", type=float, default=None, metavar="S",
                        help="weight in [0, 1] of the estimated camera curve in its blend with the fallback "
                             "curve (--shrink-toward) (see tools/choose_curve_shrinkage.py); default: keep the model's")
    export.add_argument("--dequantization-max-step", type=float, default=None, metavar="D",
                        help="keep dequantized values within D of the 8-bit input (0.5/255 = its quantization "
                             "bin; see DequantizationNet); default: keep the model's")
    export.add_argument("--fixed-curve", choices=FIXED_CURVE_CHOICES, default=None,
                        help="give every photo this fixed inverse curve instead of the estimated one, or 'none' "
                             "to estimate it (see tools/choose_curve_shrinkage.py); default: keep the model's")
    export.add_argument("--shrink-toward", choices=FIXED_CURVE_CHOICES, default=None,
                        help="the fixed inverse curve --curve-shrinkage blends the estimate with, or 'none' for the "
                             "basis prior g0 (see tools/choose_curve_shrinkage.py); default: keep the model's")
    export.add_argument("--shrink-toward-share", type=float, default=None, metavar="T",
                        help="share in [0, 1] of the --shrink-toward curve in the fallback, the rest being the basis "
                             "prior g0 (see tools/choose_curve_shrinkage.py); default: keep the model's")
    export.add_argument("--refinement", choices=("on", "off"), default=None,
                        help="switch the Refinement-Net on or off (see tools/choose_stage_settings.py); "
                             "default: keep the model's")
    export.set_defaults(run=_export)

    # `train` forwards its arguments to `python -m singlehdr_tf.training`, which defines them.
    train = commands.add_parser("train", add_help=False, help="train or resume a run (singlehdr train --help)")
    train.set_defaults(run=_train)

    from singlehdr_tf.evaluation import contact_sheet, report, synth

    synth_parser = commands.add_parser("synth", help="write an HDR-SYNTH test set from held-out HDR images")
    synth.add_arguments(synth_parser)
    synth_parser.set_defaults(run=_synth)
    evaluate = commands.add_parser("evaluate", help="score models and baselines on a test set")
    report.add_arguments(evaluate)
    evaluate.set_defaults(run=_evaluate)
    sheet = commands.add_parser("sheet", help="a contact sheet of real photos: input | each method's HDR, tone-mapped")
    contact_sheet.add_arguments(sheet)
    sheet.set_defaults(run=_sheet)

    # Arguments `beam` does not know are Beam pipeline options, forwarded to its PipelineOptions.
    beam = commands.add_parser("beam", help="reconstruct a whole photo library on Apache Beam (needs the beam extra)",
                               epilog="Beam pipeline options (--runner, --project, --direct_num_workers ...) go "
                                      "after OUTPUT_DIR.")
    beam.add_argument("input_glob", metavar="INPUT_GLOB",
                      help="photos, a glob on any Beam filesystem (local, gs://, s3://)")
    beam.add_argument("output_dir", metavar="OUTPUT_DIR", help="folder for the HDR files and dead_letter.jsonl")
    beam.add_argument("--format", choices=("exr", "hdr"), default="exr",
                      help="HDR file format: OpenEXR float (default) or Radiance RGBE")
    beam.add_argument("--model", default="lite", metavar="NAME|PATH",
                      help="shipped model name or model path readable on the workers (default: lite)")
    beam.add_argument("--overwrite", action="store_true", help="reconstruct photos whose output exists too")
    beam.set_defaults(run=_beam)
    return parser


def _check_writable_folder(folder: pathlib.Path) -> None:
    """Create ``folder`` if needed and prove it is writable, before any work starts."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".singlehdr-write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise SingleHDRError(f"{os.fspath(folder)}: output folder is not writable ({error.strerror or error})") from None


def _reconstruct(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from singlehdr_tf import api

    _check_writable_folder(args.output)
    reconstructor = api.load(args.model)
    # On a terminal, several inputs get a progress bar with an ETA; otherwise one line per file.
    show_bar = sys.stdout.isatty() and len(args.inputs) > 1
    written = failed = 0
    claimed: dict[str, str] = {}
    for name in tqdm(args.inputs, desc="reconstruct", unit="photo", disable=not show_bar, file=sys.stdout):
        try:
            stem = pathlib.Path(name).stem
            if stem in claimed:
                raise SingleHDRError(f"{name}: output name {stem!r} is already used by {claimed[stem]}")
            claimed[stem] = name
            paths = reconstructor.reconstruct_file(
                name, args.output, file_format=args.format, preview=args.preview,
                curve_csv=args.curve_csv, overwrite=args.overwrite,
            )
        except SingleHDRError as error:
            failed += 1
            tqdm.write(f"singlehdr: {error}", file=sys.stderr)
        except Exception as error:  # noqa: BLE001 - one bad input must not stop the others
            failed += 1
            tqdm.write(f"singlehdr: {name}: {type(error).__name__}: {error}".splitlines()[0], file=sys.stderr)
        else:
            written += len(paths)
            if not show_bar:
                print("\n".join(f"wrote {path}" for path in paths), flush=True)
    print(f"{_count(written, 'file')} written, {_count(failed, 'input')} failed")
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _export(args: argparse.Namespace) -> int:
    from singlehdr_tf import api, export, models

    _check_writable_folder(args.out)
    model = api.load_model(args.model)
    changes = {}  # the weight-free settings to change, applied in one rebuild
    if args.curve_shrinkage is not None:
        if not 0.0 <= args.curve_shrinkage <= 1.0:
            raise SingleHDRError(f"--curve-shrinkage {args.curve_shrinkage}: must lie in [0, 1]")
        changes["curve_shrinkage"] = args.curve_shrinkage
    if args.dequantization_max_step is not None:
        if not 0.0 <= args.dequantization_max_step <= 1.0:
            raise SingleHDRError(f"--dequantization-max-step {args.dequantization_max_step}: must lie in [0, 1]")
        changes["dequantization_max_step"] = args.dequantization_max_step
    if args.fixed_curve is not None:
        changes["fixed_curve"] = None if args.fixed_curve == "none" else args.fixed_curve
    if args.shrink_toward is not None:
        changes["curve_shrink_toward"] = None if args.shrink_toward == "none" else args.shrink_toward
    if args.shrink_toward_share is not None:
        if not 0.0 <= args.shrink_toward_share <= 1.0:
            raise SingleHDRError(f"--shrink-toward-share {args.shrink_toward_share}: must lie in [0, 1]")
        changes["curve_shrink_toward_share"] = args.shrink_toward_share
    if args.refinement is not None:
        changes["use_refinement"] = args.refinement == "on"
    if changes:
        model = models.rebuild_model(model, **changes)
    for path in export.export_all(model, args.out, args.name, args.version, overwrite=args.overwrite):
        print(path)
    return EXIT_OK


def _train(args: argparse.Namespace) -> int:
    from singlehdr_tf.training.__main__ import main as train_main

    return train_main(args.forwarded)


def _synth(args: argparse.Namespace) -> int:
    from singlehdr_tf.evaluation import synth

    print(f"wrote {synth.run(args)}")
    return EXIT_OK


def _evaluate(args: argparse.Namespace) -> int:
    from singlehdr_tf.evaluation import report

    report.run(args)
    print(f"wrote {pathlib.Path(args.out) / 'report.md'}")
    return EXIT_OK


def _beam(args: argparse.Namespace) -> int:
    try:
        from singlehdr_tf import beam
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("apache_beam"):
            raise
        message = 'singlehdr beam: Apache Beam is not installed (pip install "singlehdr_tf[beam]")'
        raise SingleHDRError(message) from None

    counts = beam.run(args.input_glob, args.output_dir, file_format=args.format, model=args.model,
                      overwrite=args.overwrite, pipeline_args=args.forwarded)
    print(beam.format_summary(counts, args.output_dir))
    return EXIT_SOME_FAILED if counts["failures"] else EXIT_OK


def _sheet(args: argparse.Namespace) -> int:
    from singlehdr_tf.evaluation import contact_sheet

    print(f"wrote {contact_sheet.run(args)}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``singlehdr``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--verbose" not in itertools.takewhile(lambda argument: argument.startswith("-"), argv):
        quiet.import_tensorflow()  # before build_parser, whose subcommands import TensorFlow
    parser = build_parser()
    args, forwarded = parser.parse_known_args(argv)
    if args.command in ("train", "beam"):
        args.forwarded = forwarded
    elif forwarded:
        parser.error(f"unrecognized arguments: {' '.join(forwarded)}")
    try:
        return args.run(args)
    except SingleHDRError as error:
        print(f"singlehdr: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
