#!/usr/bin/env bash
# The trainer next to PyTorch DDP over Gloo (torch_ddp.py) on the same model shape, global batch
# and rank counts, launches interleaved: tokens/s and communication time per step of each, with
# the trainer pure data-parallel (--ep 1, experts replicated as DDP has them) and expert-parallel
# (--ep N). The trainer's communication time is the time a step spends blocked in Strata calls
# (its comm_seconds); PyTorch's is its DDP step minus its no_sync step. Medians over steps 4..,
# then the median (and min-max) over launches.
# -m passes model flags to both sides (they take the same names), e.g. -m "--dim 128 --batch 32".
#   perf/trainer/compare_torch.sh [-r "1 2 4"] [-l LAUNCHES] [-s STEPS] [-m "MODEL FLAGS"] [BUILD_DIR]
set -euo pipefail
ranks_list="1 2 4" launches=3 steps=40 model=""
while getopts "r:l:s:m:" opt; do
  case $opt in
    r) ranks_list=$OPTARG ;; l) launches=$OPTARG ;; s) steps=$OPTARG ;; m) model=$OPTARG ;;
    *) echo "usage: $0 [-r RANKS] [-l LAUNCHES] [-s STEPS] [-m MODEL_FLAGS] [BUILD_DIR]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for launch in $(seq "$launches"); do
  for ranks in $ranks_list; do
    for ep in $(printf '%s\n' 1 "$ranks" | sort -un); do
      "$build/bin/strata-run" -n "$ranks" "$build/bin/moe_trainer" --ep "$ep" --steps "$steps" --log-every 1000 \
        --csv "$work/t.csv" $model > /dev/null
      echo "strata_ep$ep $ranks $(python3 "$here/csv_summary.py" "$work/t.csv")" >> "$work/results"
    done
    # (PyTorch's warnings go to a file, shown only if the run fails.)
    if ! /usr/bin/python3 "$here/torch_ddp.py" --ranks "$ranks" --steps "$steps" $model 2> "$work/torch.err" > "$work/torch.out"; then
      cat "$work/torch.err" >&2
      exit 1
    fi
    sed "s/^torch_ddp ranks /torch_ddp /" "$work/torch.out" >> "$work/results"
  done
done
python3 "$here/table.py" "$work/results"
