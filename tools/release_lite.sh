#!/usr/bin/env bash
# Turn a finished training run into the shipped "lite" model and regenerate every published number:
# the curve shrinkage (held-out training scenes), the SavedModel and TFLite files, the HDR-SYNTH
# validation set, the evaluation report with all baselines, the real-photo contact sheet and the
# TFLite parity figures; the run's config and logs go to training_logs/base/.
# Usage: tools/release_lite.sh [RUN_DIR] [DATA_DIR]
set -euo pipefail
run=${1:-runs/lite}
data=${2:-../shared/data}
export PYTHONPATH=${PYTHONPATH:-.}

python tools/choose_curve_shrinkage.py "$run" --data "$data/hdr/train" --out training_logs/curve_shrinkage.json
shrinkage=$(python -c "import json; print(json.load(open('training_logs/curve_shrinkage.json'))['chosen_shrinkage'])")
# The quantization-bin clip of the Dequantization-Net (see DequantizationNet.max_step).
singlehdr export "$run" --name lite --version 1 --curve-shrinkage "$shrinkage" \
    --dequantization-max-step "$(python -c 'from singlehdr_tf.models import MODEL_CONFIGS as c; print(c["lite"]["dequantization_max_step"])')" \
    --overwrite
mkdir -p training_logs/base
cp "$run/config.yaml" "$run/metrics.jsonl" "$run/validation.jsonl" training_logs/base/
[ -d sets/val ] || singlehdr synth "$data/hdr/val" sets/val
singlehdr evaluate --data sets/val --model lite --baselines all --out reports/val
python -m singlehdr_tf.evaluation.contact_sheet "$data/ldr" reports/real_photos.png --model lite
python tools/tflite_parity.py lite
python tools/write_model_card.py
