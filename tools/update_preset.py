"""Point a preset at what ``singlehdr export`` just wrote: its settings become the exported model's
config values that differ from the architecture, its sha256 the exported files', and the run the
weights came from is appended to its ``training_runs`` (if new). Called by tools/release_lite.sh
after the export, so ``singlehdr_tf.load(NAME)`` accepts the new files.

    python tools/update_preset.py lite --run modern_curves release/configs/lite_modern_curves.yaml
"""

from __future__ import annotations

import argparse
import dataclasses
import json

from singlehdr_tf.io import write_json
from singlehdr_tf.loading import SHIPPED_MODELS, file_sha256, load_saved_model
from singlehdr_tf.models import build_model
from singlehdr_tf.models.presets import PRESETS, PRESETS_FILE


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(PRESETS), help="the preset")
    parser.add_argument("--run", nargs=2, metavar=("LOGS_NAME", "CONFIG"), help="the training run to append")
    args = parser.parse_args(argv)
    preset = PRESETS[args.name]
    folder = SHIPPED_MODELS / args.name / str(preset.version)
    config = json.loads(json.dumps(load_saved_model(folder).get_config()))
    architecture = json.loads(json.dumps(build_model(preset.architecture).get_config()))
    settings = {key: config[key] for key in sorted(config) if key not in ("name", "dtype", "trainable")
                and (key in preset.settings or config[key] != architecture[key])}
    runs = preset.training_runs
    if args.run and tuple(args.run) not in runs:
        runs = (*runs, tuple(args.run))
    updated = dataclasses.replace(preset, settings=settings, training_runs=runs,
                                  sha256={file: file_sha256(folder / file) for file in preset.sha256})
    entries = {name: (updated if name == args.name else other).to_json() for name, other in PRESETS.items()}
    print(write_json(PRESETS_FILE, entries, indent=2))


if __name__ == "__main__":
    main()
