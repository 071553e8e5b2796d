#!/usr/bin/env bash
# The main job of `make demo`: the bundled MoE trainer on 4 local ranks (EP 2 x DP 2) for about a
# minute, then all_reduce_perf on 4 ranks and Strata next to Open MPI and Gloo on 2 ranks.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
echo "== moe_trainer: a byte-level MoE language model, 4 local ranks as EP 2 x DP 2 =="
plot=$build/moe_trainer_loss.png
"$build/bin/strata-run" -n 4 "$build/bin/moe_trainer" --ep 2 --dp 2 --steps 300 --batch 32 --dim 96 --heads 4 \
  --mlp-hidden 256 --expert-hidden 128 --log-every 25 --csv "$build/moe_trainer.csv" --plot "$plot"
echo
echo "== all_reduce_perf, 4 local ranks (shared memory) =="
"$build/bin/strata-run" -n 4 "$build/bin/all_reduce_perf" -b 8 -e 64M -f 8 -n 10 -w 2
echo
echo "== side by side with Open MPI and Gloo, 2 ranks (Strata over shared memory) =="
perf/compare/run -c all_reduce -n 2 -t shm -b 8 -e 64M -f 8 -i 10 "$build"
