#!/usr/bin/env bash
# Usage: tools/dist_certify.sh CONFIG CHECKPOINT NUM_PROCS --out FILE.tsv [certify.py args]
# Ranks split the images; rank 0 merges the part files in index order.
# Use --N and --max-idx for --n and --max (torchrun claims the short forms).
set -e
CONFIG=$1
CHECKPOINT=$2
NPROCS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
if [ -z "$CONFIG" ] || [ -z "$CHECKPOINT" ] || [ -z "$NPROCS" ]; then
    echo "usage: $0 CONFIG CHECKPOINT NUM_PROCS --out FILE.tsv [args]" >&2
    exit 2
fi
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
python -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROCS" \
    --master_port="$PORT" \
    "$(dirname "$0")/certify.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
