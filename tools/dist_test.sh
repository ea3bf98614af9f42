#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py args]
#        tools/dist_test.sh CONFIG NUM_PROCS [test.py args]   (weights from
#        the config, e.g. zero-shot WinCLIP)
set -e
CONFIG=$1
if [[ "$2" =~ ^[0-9]+$ ]] && [ ! -e "$2" ]; then
    CHECKPOINT=""
    NPROCS=$2
    shift 2
else
    CHECKPOINT=$2
    NPROCS=$3
    shift 3
fi
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
if [ -z "$CONFIG" ] || [ -z "$NPROCS" ]; then
    echo "usage: $0 CONFIG [CHECKPOINT] NUM_PROCS [test.py args]" >&2
    exit 2
fi
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
python -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROCS" \
    --master_port="$PORT" \
    "$(dirname "$0")/test.py" "$CONFIG" ${CHECKPOINT:+"$CHECKPOINT"} \
    --launcher pytorch "$@"
