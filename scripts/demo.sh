#!/usr/bin/env bash
# The main job of `make demo` (until the MoE trainer lands): all_reduce_perf on 4 local ranks,
# then Strata next to Open MPI and Gloo on 2 ranks, as a short table.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
echo "== all_reduce_perf, 4 local ranks (shared memory) =="
"$build/bin/strata-run" -n 4 "$build/bin/all_reduce_perf" -b 8 -e 64M -f 8 -n 10 -w 2
echo
echo "== side by side with Open MPI and Gloo, 2 ranks (Strata over shared memory) =="
perf/compare/run -c all_reduce -n 2 -t shm -b 8 -e 64M -f 8 -i 10 "$build"
