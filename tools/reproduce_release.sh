#!/usr/bin/env bash
# Retrain the shipped model from a clean checkout: every training run of the preset
# (singlehdr_tf/models/presets.json, training_runs) in order, each stopped at the step where the
# release's run stopped (the last step of release/logs/NAME/metrics.jsonl) and each starting from
# the one before (its config's init_from: runs/<previous config name>), then tools/release_lite.sh
# on the last one (settings, export, reports, model card). Training is not bit-reproducible on
# CPUs (thread scheduling), so the numbers come out close to, not equal to, the release's.
# Usage: tools/reproduce_release.sh [DATA_DIR] [PRESET]
set -euo pipefail
data=${1:-../shared/data}
preset=${2:-lite}
export PYTHONPATH=${PYTHONPATH:-.}

plan=$(python - "$preset" <<'PY'
import json, pathlib, sys
from singlehdr_tf.models.presets import PRESETS
for logs, config in PRESETS[sys.argv[1]].training_runs:
    last = json.loads(pathlib.Path("release/logs", logs, "metrics.jsonl").read_text().splitlines()[-1])
    print(logs, config, last["step"])
PY
)
while read -r logs config steps; do
    run="runs/$(basename "$config" .yaml)"
    echo "== $config: $steps steps -> $run"
    singlehdr train "$config" --data "$data/hdr/train" --out "$run" --max-steps "$steps"
done <<< "$plan"
last=$(tail -1 <<< "$plan")
tools/release_lite.sh "runs/$(basename "$(cut -d' ' -f2 <<< "$last")" .yaml)" "$data" "$(cut -d' ' -f1 <<< "$last")"
