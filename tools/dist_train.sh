#!/usr/bin/env bash
# Train on N processes of this machine (one per GPU; gloo on a CPU-only machine) with torchrun.
#   tools/dist_train.sh CONFIG N [train.py args...]
# Multi-node: run the same command on every node with NNODES, NODE_RANK, MASTER_ADDR and
# PORT set alike (NODE_RANK 0..NNODES-1), e.g. on 2 nodes of 8 GPUs:
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 tools/dist_train.sh CONFIG 8
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NUM_PROCESSES [train.py args...]" >&2
    exit 2
fi
CONFIG=$1
NPROC=$2
shift 2
exec bash "$(dirname "${BASH_SOURCE[0]}")/misc/torchrun_tool.sh" train.py "$NPROC" "$CONFIG" "$@"
