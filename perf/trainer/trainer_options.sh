#!/usr/bin/env bash
# The trainer's own options side by side, launches interleaved: the gradient all-reduce
# overlapped with backward or not (--no-overlap), and Strata's MoE dispatch/combine against the
# naive strataAllToAllv of one row per (token, expert) pair (--naive-moe); on 2 ranks (EP 2) and
# 4 ranks (EP 2 x DP 2 and EP 4). Extra trainer flags (e.g. a bigger model) follow `--`.
#   perf/trainer/trainer_options.sh [-l LAUNCHES] [-s STEPS] [-b BUILD_DIR] [-- TRAINER FLAGS]
set -euo pipefail
launches=3 steps=40 build=build
while getopts "l:s:b:" opt; do
  case $opt in
    l) launches=$OPTARG ;; s) steps=$OPTARG ;; b) build=$OPTARG ;;
    *) echo "usage: $0 [-l LAUNCHES] [-s STEPS] [-b BUILD_DIR] [-- TRAINER FLAGS]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))  # what is left (after --) goes to every trainer run
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
variants=(
  "2 2 overlap"         "2 2 no_overlap --no-overlap"
  "4 2 overlap"         "4 2 no_overlap --no-overlap"
  "2 2 dispatch_combine" "2 2 naive_alltoallv --naive-moe"
  "4 4 dispatch_combine" "4 4 naive_alltoallv --naive-moe"
)
for launch in $(seq "$launches"); do
  for v in "${variants[@]}"; do
    read -r ranks ep name flag <<< "$v"
    "$build/bin/strata-run" -n "$ranks" "$build/bin/moe_trainer" --ep "$ep" --steps "$steps" --log-every 1000 \
      --csv "$work/t.csv" $flag "$@" > /dev/null
    echo "ep${ep}_$name $ranks $(python3 "$here/csv_summary.py" "$work/t.csv")" >> "$work/results"
  done
done
python3 "$here/table.py" "$work/results"
