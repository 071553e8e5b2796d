#!/usr/bin/env bash
# Bad input fails at once on every rank, each printing a message naming what is wrong: an unknown
# flag, numbers out of range or not finite, a --data file that does not exist or is empty, ep x dp
# not the rank count, experts not divisible by the EP group, a batch not divisible by the ranks or
# too large for a rank's buffers, a --csv that cannot be written.
#   bad_input.sh STRATA_RUN TRAINER
set -uo pipefail
run=$1 trainer=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: > "$work/empty.txt"
status=0
expect() {  # expect RANKS "message fragment" trainer args... (every rank must print the fragment)
  expect_from "$1" "$1" "$2" "${@:3}"
}
expect_from() {  # expect_from RANKS SAYING "message fragment" args...: SAYING ranks print it, the others name who failed
  local ranks=$1 saying=$2 fragment=$3
  shift 3
  local out
  out=$(STRATA_TIMEOUT_MS=20000 timeout 60 "$run" -n "$ranks" "$trainer" --steps 2 "$@" 2>&1)
  local rc=$?
  local said
  said=$(grep -c -F -- "$fragment" <<< "$out")
  local others
  others=$(grep -c "moe_trainer: rank [0-9]* failed" <<< "$out")
  if [[ $rc -eq 0 || $rc -eq 124 || $said -ne $saying || $((said + others)) -ne $ranks ]]; then
    echo "FAIL: moe_trainer $* on $ranks ranks: exit $rc, expected $saying ranks to fail saying '$fragment' ($said did) and the others naming the rank that failed ($others did); it printed:"
    echo "$out" | tail -5
    status=1
  else
    echo "ok ($said of $ranks ranks said it, $others named who failed): $* -> $(grep -m1 -F -- "$fragment" <<< "$out")"
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
expect 2 "--batch 4294967312: must be from 1 to 1048576" --batch 4294967312
expect 2 "--lr inf: not a number" --lr inf
expect 2 "is too large for one rank's buffers" --batch 65536 --seq 65536
# Only rank 0 writes the CSV: it says why, the other rank says that rank 0 failed.
expect_from 2 1 "--csv $work/no/such/dir/run.csv: cannot write it" --csv "$work/no/such/dir/run.csv"
exit $status
