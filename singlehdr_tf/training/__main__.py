"""``python -m singlehdr_tf.training CONFIG.yaml --data DIR --out RUN_DIR``: train or resume a run.

Exit status: 0 when the run completed or stopped cleanly (``--max-steps``, SIGTERM, SIGINT: a
checkpoint is saved; run the same command to resume), 1 on an error (bad config or data, a
diverged loss).
"""

from __future__ import annotations

import argparse
import sys

from singlehdr_tf.errors import SingleHDRError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m singlehdr_tf.training", description=__doc__.splitlines()[0])
    parser.add_argument("config", help="training config YAML (see configs/)")
    parser.add_argument("--data", required=True, help="folder of training HDR images (.hdr, .exr)")
    parser.add_argument("--out", required=True, help="run directory (checkpoints, logs, weights)")
    parser.add_argument("--val", default=None, help="folder of validation HDR images (overrides the config)")
    parser.add_argument("--max-steps", type=int, default=None, help="stop at this global step")
    parser.add_argument("--no-resume", action="store_true", help="refuse a run directory that has checkpoints")
    parser.add_argument("--strategy", default="default", choices=("default", "mirrored", "multi_worker"),
                        help="tf.distribute strategy (multi_worker reads TF_CONFIG)")
    args = parser.parse_args(argv)

    from singlehdr_tf.training import make_strategy, train

    try:
        train(args.config, args.data, args.out, resume=not args.no_resume, max_steps=args.max_steps,
                       val_dir=args.val, strategy=make_strategy(args.strategy))
    except SingleHDRError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
