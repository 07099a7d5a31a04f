#!/usr/bin/env bash
# Run an mmtl tool on NPROC local processes with torchrun (shared by dist_train/dist_test.sh).
#   tools/misc/torchrun_tool.sh TOOL.py NPROC [tool args...]
# NNODES, NODE_RANK, MASTER_ADDR and PORT come from the environment (single node by default).
set -euo pipefail
TOOL=$1
NPROC=$2
shift 2
TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exec python -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" \
    "$TOOLS_DIR/$TOOL" "$@" --launcher pytorch
