#!/usr/bin/env bash
# Turn a finished training run into the shipped "lite" model and regenerate every published number:
# the curve shrinkage and the stages switched on (both on held-out training scenes, never on
# validation), the SavedModel and TFLite files, the two validation sets (modern camera encodings,
# DoRF test curves), their evaluation reports with all baselines, the real-photo contact sheet and
# the TFLite parity figures and the faster runtimes' quality (bfloat16, float16, dynamic range);
# the run's config and logs go to release/logs/LOGS_NAME/, the preset
# (singlehdr_tf/models/presets.json) gets the exported settings, sha256 and this run
# (tools/update_preset.py), then the model card and the README's tables. RUN_DIR may be an ensemble
# of curve estimators (tools/assemble_ensemble.py).
# Usage: tools/release_lite.sh [RUN_DIR] [DATA_DIR] [LOGS_NAME]
set -euo pipefail
run=${1:-runs/lite}
data=${2:-../shared/data}
logs=release/logs/${3:-base}
export PYTHONPATH=${PYTHONPATH:-.}

# Held-out training scenes: the run's last validation.holdout_files training files (by name).
held_out=$(python -c "import yaml; print(yaml.safe_load(open('$run/config.yaml'))['validation']['holdout_files'])")
mkdir -p sets/held_out_scenes
python - "$data/hdr/train" "$held_out" <<'PY'
import os, pathlib, sys
from singlehdr_tf.data import list_hdr_files
target = pathlib.Path("sets/held_out_scenes")
for path in list_hdr_files(sys.argv[1])[-int(sys.argv[2]):]:
    link = target / path.name
    if not link.exists():
        os.symlink(path.resolve(), link)
PY
# DoRF curves: those the run left out of training where it left some out (data.held_out_dorf_curves).
held_out_curves=$(python -c "import yaml; print(yaml.safe_load(open('$run/config.yaml')).get('data', {}).get('held_out_dorf_curves', 0))")
held_out_dorf=sets/held_out_dorf
[ "$held_out_curves" -gt 0 ] && held_out_dorf=sets/held_out_dorf_unseen$held_out_curves
[ -d "$held_out_dorf" ] || singlehdr synth sets/held_out_scenes "$held_out_dorf" --crfs train --seed 1 \
    --held-out-dorf-curves "$held_out_curves"
[ -d sets/held_out_modern ] || singlehdr synth sets/held_out_scenes sets/held_out_modern --crfs modern_train --seed 1

python tools/choose_curve_shrinkage.py "$run" --data "$data/hdr/train" --out release/logs/curve_shrinkage.json
curve_choice() {  # a value of the curve choice; 'none' for null
    python -c "import json; value = json.load(open('release/logs/curve_shrinkage.json'))['$1']; print('none' if value is None else value)"
}
shrinkage=$(curve_choice chosen_shrinkage)
shrink_toward=$(curve_choice shrink_toward)
shrink_toward_share=$(curve_choice shrink_toward_share)
fixed_curve=$(curve_choice fixed_curve)
python tools/choose_stage_settings.py "$run" "$held_out_dorf" sets/held_out_modern --out release/logs/stage_settings.json \
    --curve-choice release/logs/curve_shrinkage.json
step=$(python -c "import json; print(json.load(open('release/logs/stage_settings.json'))['dequantization_max_step_in_codes'] / 255)")
refinement=$(python -c "import json; print('on' if json.load(open('release/logs/stage_settings.json'))['use_refinement'] else 'off')")
singlehdr export "$run" --name lite --version 1 --curve-shrinkage "$shrinkage" --shrink-toward "$shrink_toward" \
    --shrink-toward-share "$shrink_toward_share" --fixed-curve "$fixed_curve" \
    --dequantization-max-step "$step" --refinement "$refinement" --overwrite
config_of() {  # runs/NAME was trained from release/configs/NAME.yaml (or configs/NAME.yaml)
    local file=release/configs/$(basename "$1").yaml
    [ -f "$file" ] || file=configs/$(basename "$1").yaml
    echo "$file"
}
mkdir -p "$logs"
# An ensemble (tools/assemble_ensemble.py) is the first member's run with the estimators of the others:
# each other member is a training run of the preset, its logs in release/logs/<its name without lite_>/.
members=$(python -c "import yaml; print(*yaml.safe_load(open('$run/config.yaml')).get('ensemble_members', [])[1:])")
if [ -n "$members" ]; then
    cp "$run/config.yaml" "$logs/"
    for member in $members; do
        member_logs=release/logs/$(basename "$member" | sed 's/^lite_//')
        mkdir -p "$member_logs"
        cp "$member/config.yaml" "$member/metrics.jsonl" "$member/validation.jsonl" "$member_logs/"
        python tools/update_preset.py lite --run "$(basename "$member_logs")" "$(config_of "$member")"
    done
else
    python tools/update_preset.py lite --run "$(basename "$logs")" "$(config_of "$run")"
    cp "$run/config.yaml" "$run/metrics.jsonl" "$run/validation.jsonl" "$logs/"
fi
[ -d sets/val ] || singlehdr synth "$data/hdr/val" sets/val
[ -d sets/val_modern ] || singlehdr synth "$data/hdr/val" sets/val_modern --crfs modern
singlehdr evaluate --data sets/val_modern --model lite --baselines all --out release/reports/val_modern
singlehdr evaluate --data sets/val --model lite --baselines all --out release/reports/val
singlehdr sheet "$data/ldr" release/reports/real_photos.png --model lite
python tools/tflite_parity.py lite
python tools/precision_quality.py lite --sets sets/val_modern sets/val
python tools/model_summary.py
python tools/write_model_card.py
