#!/usr/bin/env bash
# Test a checkpoint on N processes of this machine with torchrun; every test image is
# counted once whatever N is.
#   tools/dist_test.sh CONFIG CHECKPOINT N [test.py args...]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT as for tools/dist_train.sh.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT NUM_PROCESSES [test.py args...]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
shift 3
exec bash "$(dirname "${BASH_SOURCE[0]}")/misc/torchrun_tool.sh" test.py "$NPROC" \
    "$CONFIG" "$CHECKPOINT" "$@"
