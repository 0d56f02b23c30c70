#!/usr/bin/env bash
# Retrain the shipped model from a clean checkout: every training run of the preset
# (singlehdr_tf/models/presets.json, training_runs) in order, each stopped at the step where the
# release's run stopped (the last step of release/logs/NAME/metrics.jsonl) and each starting from
# the run its config's init_from names (runs/<config name>), then tools/release_lite.sh on the last
# one, or on the ensemble of the last ones (settings, export, reports, model card). Training is not bit-reproducible on
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
run_of() { while read -r logs config steps; do echo "runs/$(basename "$config" .yaml)"; done; }
# A preset whose Linearization-Net averages N estimators (linearization_ensemble_size) has them from
# its last N runs: they are put together (tools/assemble_ensemble.py) and that model is released.
members=$(python -c "from singlehdr_tf.models.presets import PRESETS
print(PRESETS['$preset'].settings.get('linearization_ensemble_size', 1))")
if [ "$members" -gt 1 ]; then
    ensemble=runs/${preset}_curve_ensemble
    rm -rf "$ensemble"
    python tools/assemble_ensemble.py $(tail -n "$members" <<< "$plan" | run_of) --out "$ensemble"
    tools/release_lite.sh "$ensemble" "$data" curve_ensemble
else
    last=$(tail -1 <<< "$plan")
    tools/release_lite.sh "$(run_of <<< "$last")" "$data" "$(cut -d' ' -f1 <<< "$last")"
fi
