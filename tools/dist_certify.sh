#!/usr/bin/env bash
# Usage: tools/dist_certify.sh CONFIG CHECKPOINT NUM_PROCS --out FILE.tsv [certify.py args]
# Ranks split the images; rank 0 merges the part files in index order.
# Use --N and --max-idx for --n and --max (torchrun claims the short forms).
if [ -z "$1" ] || [ -z "$2" ] || [ -z "$3" ]; then
    echo "usage: $0 CONFIG CHECKPOINT NUM_PROCS --out FILE.tsv [args]" >&2
    exit 2
fi
exec "$(dirname "$0")/dist_run.sh" certify.py "$3" "$1" "$2" "${@:4}"
