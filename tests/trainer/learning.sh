#!/usr/bin/env bash
# The trainer learns: 300 steps of the default configuration on the built-in text, on one rank,
# bring the loss below 60 % of the first step's (the run takes about half a minute here).
#   learning.sh STRATA_RUN TRAINER
set -euo pipefail
run=$1 trainer=$2
csv=$(mktemp)
trap 'rm -f "$csv"' EXIT
"$run" -n 1 "$trainer" --steps 300 --log-every 50 --csv "$csv"
awk -F, 'NR == 2 { first = $2 } NR > 1 { last = $2 } END {
  printf "first loss %.4f, last %.4f (%.0f%% of the first; must be below 60%%)\n", first, last, 100 * last / first
  exit !(last < 0.6 * first) }' "$csv"
