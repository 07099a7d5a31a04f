#!/usr/bin/env bash
# Test a checkpoint on a slurm cluster: one task per GPU.
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#       tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
shift 2
exec bash "$(dirname "${BASH_SOURCE[0]}")/misc/srun_tool.sh" test.py "$PARTITION" "$JOB_NAME" "$@"
