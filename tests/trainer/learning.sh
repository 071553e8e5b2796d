#!/usr/bin/env bash
# The trainer learns: 300 steps of the default configuration on the built-in text, on one rank,
# bring the training loss below 60 % of the first step's, and the loss on the held-out tenth of
# the text (which no step trained on) too (the run takes about 20 s here).
#   learning.sh STRATA_RUN TRAINER
set -euo pipefail
run=$1 trainer=$2
csv=$(mktemp)
trap 'rm -f "$csv"' EXIT
out=$("$run" -n 1 "$trainer" --steps 300 --log-every 50 --csv "$csv")
echo "$out"
held_out=$(sed -n 's/^held-out: loss \([0-9.]*\),.*/\1/p' <<< "$out")
awk -F, -v held_out="$held_out" 'NR == 2 { first = $2 } NR > 1 { last = $2 } END {
  printf "first loss %.4f, last %.4f (%.0f%% of the first), held-out %.4f (%.0f%%); both must be below 60%%\n",
         first, last, 100 * last / first, held_out, 100 * held_out / first
  exit !(last < 0.6 * first && held_out != "" && held_out < 0.6 * first) }' "$csv"
