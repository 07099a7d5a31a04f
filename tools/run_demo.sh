#!/usr/bin/env bash
# README command 1: set up, then train, test and run inference on the embedded digits data.
#   bash tools/run_demo.sh
# Writes data/digits (scikit-learn's 1797 handwritten digits as an image folder) and
# work_dirs/mobilenet-v2_digits (logs, checkpoints, test_metrics.json).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash tools/setup_env.sh
# shellcheck disable=SC1091
source "${MMTL_VENV:-$ROOT/.venv}/bin/activate"
export PYTHONWARNINGS=ignore  # library deprecation chatter; errors still show

CONFIG=configs/mobilenet-v2_digits.py
WORK_DIR=work_dirs/mobilenet-v2_digits
python tools/dataset_converters/sklearn_digits.py data/digits
rm -rf "$WORK_DIR"

echo "[demo] training $CONFIG (from scratch, CPU/GPU as available)"
SECONDS=0
mim train mmtl "$CONFIG" --work-dir "$WORK_DIR"
BEST=$(ls "$WORK_DIR"/best_*.pth)
echo "[demo] testing $BEST"
mim test mmtl "$CONFIG" --checkpoint "$BEST" --work-dir "$WORK_DIR" --plots
echo "[demo] train + test took ${SECONDS}s"

SAMPLE=$(find data/digits/test/7 -name '*.png' | sort | head -n 1)
echo "[demo] inference on $SAMPLE"
python tools/infer.py "$CONFIG" "$BEST" "$SAMPLE"
python - "$WORK_DIR/test_metrics.json" <<'PY'
import json, sys
metrics = json.load(open(sys.argv[1]))['metrics']
print(f"[demo] test top-1: {metrics['accuracy/top1']:.2f} %  ({sys.argv[1]})")
PY
