#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py args]
#        tools/dist_test.sh CONFIG NUM_PROCS [test.py args]   (weights from
#        the config, e.g. zero-shot WinCLIP)
CONFIG=$1
if [[ "$2" =~ ^[0-9]+$ ]] && [ ! -e "$2" ]; then
    NPROCS=$2
    set -- "$CONFIG" "${@:3}"
else
    NPROCS=$3
    set -- "$CONFIG" "$2" "${@:4}"
fi
if [ -n "$2" ] && [ -z "$3" ] && [ ! -e "$2" ]; then
    # `dist_test.sh CONFIG two`: neither a checkpoint file nor a count
    echo "error: NUM_PROCS must be a whole number >= 1 (processes per" \
        "node), got '$2' (and no checkpoint file of that name)" >&2
    exit 2
fi
if [ -z "$CONFIG" ] || [ -z "$NPROCS" ]; then
    echo "usage: $0 CONFIG [CHECKPOINT] NUM_PROCS [test.py args]" >&2
    exit 2
fi
exec "$(dirname "$0")/dist_run.sh" test.py "$NPROCS" "$@"
