#!/usr/bin/env bash
# if_gpu.sh PROBE COMMAND...: runs COMMAND where PROBE --probe finds a GPU, else exits 77 (ctest's
# skip) with the probe's reason.
probe=$1
shift
reason=$("$probe" --probe) || { echo "skipped: $reason"; exit 77; }
echo "$reason"
exec "$@"
