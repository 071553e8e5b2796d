#!/usr/bin/env bash
# Checkpoints: 10 steps, save, resume for 10 more = 20 uninterrupted steps, bit for bit (the
# final shards byte for byte) on 1 rank and on 4 ranks as EP 2 x DP 2; a save killed half-way
# through a shard or before `latest` is written is never taken for a complete one (resume
# continues from the step before and still ends bit for bit where the uninterrupted run does);
# a missing checkpoint, another EP x DP layout, another model shape, other training settings, a
# damaged shard (also one of four ranks': every rank fails) and --save into a directory that
# already holds a checkpoint are refused with a message that says which.
#   checkpoint.sh STRATA_RUN TRAINER
set -uo pipefail
run=$1 trainer=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
small=(--blocks 2 --dim 32 --heads 4 --experts 4 --topk 2 --mlp-hidden 64 --expert-hidden 32 --seq 16 --batch 8
       --steps 20 --log-every 100)
status=0
fail() { echo "FAIL: $*"; status=1; }
trainer() {  # trainer RANKS args...
  local ranks=$1
  shift
  STRATA_TIMEOUT_MS=30000 timeout 120 "$run" -n "$ranks" "$trainer" "${small[@]}" "$@"
}
same_losses() {  # same_losses A.csv B.csv TOLERANCE: rows of B (a resumed run) against the same steps of A
  python3 - "$@" <<'PY'
import csv, sys
a, b, tolerance = sys.argv[1], sys.argv[2], float(sys.argv[3])
def rows(path):
    with open(path) as f:
        return {int(r["step"]): float(r["loss"]) for r in csv.DictReader(f)}
ra, rb = rows(a), rows(b)
worst = max(abs(rb[s] - ra[s]) / abs(ra[s]) for s in rb)
print(f"  steps {min(rb)}-{max(rb)}: worst relative loss difference {worst:.2e} (tolerance {tolerance:g})")
sys.exit(0 if worst <= tolerance else 1)
PY
}

shard() {  # shard DIR STEP RANK: the path of that rank's shard of that step (any run's)
  ls "$1"/step-$(printf %08d "$2")/rank-$(printf %05d "$3")-*.ckpt 2> /dev/null | tail -1
}
same_shards() {  # same_shards DIR_A DIR_B STEP RANKS
  local identical=0 r
  for ((r = 0; r < $4; ++r)); do
    cmp -s "$(shard "$1" "$3" $r)" "$(shard "$2" "$3" $r)" && identical=$((identical + 1))
  done
  echo "  step $3 shards identical byte for byte: $identical of $4"
  [[ $identical == "$4" ]]
}

for layout in "1 1" "4 2"; do
  read -r ranks ep <<< "$layout"
  echo "== $ranks ranks, EP $ep: 20 steps against 10 + resume + 10"
  trainer "$ranks" --ep "$ep" --save full.$ranks --save-every 10 --csv full.$ranks.csv > /dev/null || fail "uninterrupted run"
  trainer "$ranks" --ep "$ep" --save part.$ranks --save-every 10 --stop-after 10 > /dev/null || fail "first half"
  trainer "$ranks" --ep "$ep" --save part.$ranks --resume part.$ranks --csv resumed.$ranks.csv | grep resumed || fail "resume"
  same_losses full.$ranks.csv resumed.$ranks.csv 0 || fail "$ranks ranks: the resumed losses differ"
  same_shards full.$ranks part.$ranks 20 "$ranks" || fail "$ranks ranks: the resumed run's final weights are not bit for bit the uninterrupted run's"
done

for crash in half-shard before-latest; do
  echo "== a save killed at '$crash'"
  rm -rf crash
  trainer 1 --save crash --save-every 5 --stop-after 5 > /dev/null || fail "steps 0-4"
  if MOE_TRAINER_CRASH_IN_SAVE=$crash trainer 1 --save crash --save-every 5 --resume crash --stop-after 10 > /dev/null 2>&1; then
    fail "the crash hook did not fire"
  fi
  echo "  after the crash: $(tr '\n' ' ' < crash/latest)"
  grep -qx "step 5" crash/latest || fail "latest moved past the step whose save was killed"
  trainer 1 --save crash --save-every 5 --resume crash --csv crash.csv | grep resumed || fail "resume after the crash"
  same_shards full.1 crash 20 1 || fail "after the crash the run did not end where the uninterrupted one does"
done

refused() {  # refused "fragment" RANKS args...
  local fragment=$1 ranks=$2
  shift 2
  local out
  out=$(trainer "$ranks" "$@" 2>&1)
  if [[ $? -eq 0 ]] || ! grep -q -F -- "$fragment" <<< "$out"; then
    fail "expected a refusal saying '$fragment'; got: $(tail -2 <<< "$out")"
  else
    echo "  refused: $(grep -m1 -F -- "$fragment" <<< "$out")"
  fi
}
echo "== what resume refuses"
refused "no complete checkpoint there" 1 --resume nowhere
refused "this run is 4 ranks as EP 4 x DP 1" 4 --ep 4 --resume part.4
refused "holds a model of another shape: --dim 32 (this run: 64)" 1 --resume part.1 --dim 64 --heads 4
refused "was trained with other settings: --lr 0.003 (this run: 0.001)" 1 --resume part.1 --lr 1e-3
refused "already holds a checkpoint (step 20): continue it with --resume part.1" 1 --save part.1
cp -r part.1 damaged
truncate -s -100 "$(shard damaged 20 0)"
refused "damaged or cut short" 1 --resume damaged
cp "$(shard part.1 20 0)" "$(shard damaged 20 0)"
printf '\x01' | dd of="$(shard damaged 20 0)" bs=1 seek=5000 conv=notrunc status=none
refused "fails its checksum" 1 --resume damaged
echo "== one damaged shard of four: every rank fails"
cp -r part.4 damaged4
printf '\x01' | dd of="$(shard damaged4 20 2)" bs=1 seek=5000 conv=notrunc status=none
out=$(trainer 4 --ep 2 --resume damaged4 2>&1)
if [[ $? -eq 0 ]] || [[ $(grep -c "rank 2 failed (loading the checkpoint)" <<< "$out") -lt 1 ]] ||
   ! grep -q "fails its checksum" <<< "$out"; then
  fail "a damaged shard on rank 2 did not fail every rank with the reason; got: $(tail -3 <<< "$out")"
else
  echo "  $(grep -m1 "fails its checksum" <<< "$out")"
  echo "  $(grep -m1 "rank 2 failed" <<< "$out")"
fi
exit $status
