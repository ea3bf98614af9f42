#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG NUM_PROCS [train.py args]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
# Without CUDA the processes train on the CPU with the gloo backend.
if [ -z "$1" ] || [ -z "$2" ]; then
    echo "usage: $0 CONFIG NUM_PROCS [train.py args]" >&2
    exit 2
fi
exec "$(dirname "$0")/dist_run.sh" train.py "$2" "$1" "${@:3}"
