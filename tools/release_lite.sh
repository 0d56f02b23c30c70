#!/usr/bin/env bash
# Turn a finished training run into the shipped "lite" model and regenerate every published number:
# the curve shrinkage (held-out training scenes), the SavedModel and TFLite files, the HDR-SYNTH
# validation set, the evaluation report with all baselines, the real-photo contact sheet and the
# TFLite parity figures; the run's config and logs go to training_logs/LOGS_NAME/ (list it in
# SHIPPED_RUNS of tools/write_model_card.py).
# Usage: tools/release_lite.sh [RUN_DIR] [DATA_DIR] [LOGS_NAME]
set -euo pipefail
run=${1:-runs/lite}
data=${2:-../shared/data}
logs=training_logs/${3:-base}
export PYTHONPATH=${PYTHONPATH:-.}

python tools/choose_curve_shrinkage.py "$run" --data "$data/hdr/train" --out training_logs/curve_shrinkage.json
shrinkage=$(python -c "import json; print(json.load(open('training_logs/curve_shrinkage.json'))['chosen_shrinkage'])")
# The Dequantization-Net's step (DequantizationNet.max_step), chosen on held-out scenes with
# tools/choose_dequantization_step.py (training_logs/dequantization_step.json).
singlehdr export "$run" --name lite --version 1 --curve-shrinkage "$shrinkage" \
    --dequantization-max-step "$(python -c 'from singlehdr_tf.models import MODEL_CONFIGS as c; print(c["lite"]["dequantization_max_step"])')" \
    --overwrite
mkdir -p "$logs"
cp "$run/config.yaml" "$run/metrics.jsonl" "$run/validation.jsonl" "$logs/"
[ -d sets/val ] || singlehdr synth "$data/hdr/val" sets/val
singlehdr evaluate --data sets/val --model lite --baselines all --out reports/val
python -m singlehdr_tf.evaluation.contact_sheet "$data/ldr" reports/real_photos.png --model lite
python tools/tflite_parity.py lite
python tools/write_model_card.py
