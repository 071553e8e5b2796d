#!/usr/bin/env bash
# Bad input fails at once on every rank with a message naming what is wrong: an unknown flag, a
# --data file that does not exist or is empty, ep x dp not the rank count, experts not divisible
# by the EP group, a batch not divisible by the ranks.
#   bad_input.sh STRATA_RUN TRAINER
set -uo pipefail
run=$1 trainer=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: > "$work/empty.txt"
status=0
expect() {  # expect RANKS "message fragment" trainer args...
  local ranks=$1 fragment=$2
  shift 2
  local out
  out=$(STRATA_TIMEOUT_MS=20000 timeout 60 "$run" -n "$ranks" "$trainer" --steps 2 "$@" 2>&1)
  local rc=$?
  local said
  said=$(grep -c -F -- "$fragment" <<< "$out")
  if [[ $rc -eq 0 || $rc -eq 124 || $said -lt 1 ]]; then
    echo "FAIL: moe_trainer $* on $ranks ranks: exit $rc, expected a failure saying '$fragment'; it printed:"
    echo "$out" | tail -5
    status=1
  else
    echo "ok: $* -> $(grep -m1 -F -- "$fragment" <<< "$out")"
  fi
}
expect 2 "unknown option '--colour'" --colour red
expect 2 "cannot open it" --data "$work/missing.txt"
expect 2 "the file is empty" --data "$work/empty.txt"
expect 4 "is not the 4 ranks" --ep 2 --dp 3
expect 4 "does not divide the 4 ranks" --ep 3
expect 2 "is not divisible by the EP group size 2" --experts 5
expect 4 "--batch 6 is not divisible by the 4 ranks" --batch 6
expect 1 "--heads 3 does not divide --dim 64" --heads 3
exit $status
