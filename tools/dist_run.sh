#!/usr/bin/env bash
# Usage: tools/dist_run.sh SCRIPT NUM_PROCS [SCRIPT args]
# Starts NUM_PROCS processes of tools/SCRIPT (e.g. train.py) with
# torch.distributed.run and `--launcher pytorch`. Multi-node: set NNODES,
# NODE_RANK, MASTER_ADDR and PORT on every node. On one node without PORT a
# free port is picked (and printed), so that two runs do not collide. Without
# CUDA the processes run on the CPU with gloo.
set -e
SCRIPT=$1
NPROCS=$2
if [ -z "$SCRIPT" ] || [ -z "$NPROCS" ]; then
    echo "usage: $0 SCRIPT NUM_PROCS [args]" >&2
    exit 2
fi
if ! [[ "$NPROCS" =~ ^[0-9]+$ ]] || [ "$NPROCS" -lt 1 ]; then
    echo "error: NUM_PROCS must be a whole number >= 1 (processes per" \
        "node), got '$NPROCS'" >&2
    exit 2
fi
NNODES=${NNODES:-1}
if [ -z "$PORT" ]; then
    if [ "$NNODES" != 1 ]; then
        PORT=29500  # every node must agree: set PORT for several nodes
    else
        PORT=$(python -c 'import socket; s = socket.socket(); '\
's.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    fi
    echo "$(basename "$0"): master port $PORT (set PORT to choose one)" >&2
fi
shift 2
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
exec python -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --nproc_per_node="$NPROCS" \
    --master_port="$PORT" \
    "$(dirname "$0")/$SCRIPT" "$@" --launcher pytorch
