#!/usr/bin/env bash
# README command 1: set up, then show transfer learning end to end on the embedded digits data.
#   bash tools/run_demo.sh [--seeds 0 1 2 3 4] [--shots K] [--work-dir DIR]
#                                                     (options of tools/demo_transfer.py)
# Pretrains the digits MobileNet-v2 on digits 0-4 (the "ImageNet" of the demo), publishes its
# backbone, then for each seed draws K images per class of digits 5-9, fine-tunes the backbone
# on them (full-ft-1x) and trains the same from scratch, all with `mim train mmtl` / `mim test
# mmtl`; classifies one image (work_dirs/demo_transfer/prediction.png) and prints the transfer
# gain over scratch as mean ± std over the seeds. One line per step; every command's whole
# output goes to work_dirs/demo_transfer/logs/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash tools/setup_env.sh
# shellcheck disable=SC1091
source "${MMTL_VENV:-$ROOT/.venv}/bin/activate"
export PYTHONWARNINGS=ignore  # library deprecation chatter; errors still show
# Training is deterministic for a given environment and thread count: README's figures were
# measured with one thread per process (also the fastest for these 32-px images).
export OMP_NUM_THREADS=1

SECONDS=0
python tools/demo_transfer.py "$@"
echo "[demo] took ${SECONDS}s"
