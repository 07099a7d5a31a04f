#!/usr/bin/env bash
# README command 1: set up, then show transfer learning end to end on the embedded digits data.
#   bash tools/run_demo.sh [--shots K] [--work-dir DIR]     (options of tools/demo_transfer.py)
# Pretrains the digits MobileNet-v2 on digits 0-4 (the "ImageNet" of the demo), publishes its
# backbone, fine-tunes it on digits 5-9 from K images per class (full fine-tuning at one lr,
# the best strategy of README's few-shot table at k = 1) and trains the same from scratch, all with `mim train
# mmtl`; tests both with `mim test mmtl`, classifies one image (work_dirs/demo_transfer/
# prediction.png) and prints the transfer gain over scratch.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash tools/setup_env.sh
# shellcheck disable=SC1091
source "${MMTL_VENV:-$ROOT/.venv}/bin/activate"
export PYTHONWARNINGS=ignore  # library deprecation chatter; errors still show

SECONDS=0
python tools/demo_transfer.py "$@"
echo "[demo] took ${SECONDS}s"
