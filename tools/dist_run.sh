#!/usr/bin/env bash
# Usage: tools/dist_run.sh SCRIPT NUM_PROCS [SCRIPT args]
# Starts NUM_PROCS processes of tools/SCRIPT (e.g. train.py) with
# torch.distributed.run and `--launcher pytorch`. Multi-node: set NNODES,
# NODE_RANK, MASTER_ADDR and PORT on every node. Without CUDA the processes
# run on the CPU with gloo.
set -e
SCRIPT=$1
NPROCS=$2
if [ -z "$SCRIPT" ] || [ -z "$NPROCS" ]; then
    echo "usage: $0 SCRIPT NUM_PROCS [args]" >&2
    exit 2
fi
shift 2
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
exec python -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --nproc_per_node="$NPROCS" \
    --master_port="${PORT:-29500}" \
    "$(dirname "$0")/$SCRIPT" "$@" --launcher pytorch
