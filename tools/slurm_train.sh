#!/usr/bin/env bash
# Train on a slurm cluster: one task per GPU.
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#       tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py args...]
# On preemption slurm sends SIGTERM: training stops after the iteration with a checkpoint
# (exit 143). Add --resume so that a requeued job continues from it.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py args...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
shift 3
if [ $# -gt 0 ] && [[ $1 != -* ]]; then
    set -- --work-dir "$@"
fi
exec bash "$(dirname "${BASH_SOURCE[0]}")/misc/srun_tool.sh" train.py "$PARTITION" "$JOB_NAME" \
    "$CONFIG" "$@"
