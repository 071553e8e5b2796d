#!/usr/bin/env bash
# Checkpoints: 10 steps, save, resume for 10 more = 20 uninterrupted steps (bit for bit on 1
# rank, loss within 1e-6 on 4 ranks as EP 2 x DP 2); a save killed half-way through a shard or
# before `latest` is written is never taken for a complete one (resume continues from the step
# before and still ends bit for bit where the uninterrupted run does); a damaged shard, another
# EP x DP layout and another model shape are refused with a message that says which.
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

for layout in "1 1" "4 2"; do
  read -r ranks ep <<< "$layout"
  echo "== $ranks ranks, EP $ep: 20 steps against 10 + resume + 10"
  trainer "$ranks" --ep "$ep" --save full.$ranks --save-every 10 --csv full.$ranks.csv > /dev/null || fail "uninterrupted run"
  trainer "$ranks" --ep "$ep" --save part.$ranks --save-every 10 --stop-after 10 > /dev/null || fail "first half"
  trainer "$ranks" --ep "$ep" --save part.$ranks --resume part.$ranks --csv resumed.$ranks.csv | grep resumed || fail "resume"
  tolerance=$([[ $ranks == 1 ]] && echo 0 || echo 1e-6)
  same_losses full.$ranks.csv resumed.$ranks.csv "$tolerance" || fail "$ranks ranks: the resumed losses differ"
  identical=0
  for shard in full.$ranks/step-00000020/*.ckpt; do
    cmp -s "$shard" "part.$ranks/step-00000020/$(basename "$shard")" && identical=$((identical + 1))
  done
  echo "  final shards identical byte for byte: $identical of $ranks"
  [[ $ranks == 1 && $identical != 1 ]] && fail "1 rank: the resumed run's final weights are not bit for bit the uninterrupted run's"
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
  cmp -s full.1/step-00000020/rank-00000.ckpt crash/step-00000020/rank-00000.ckpt ||
    fail "after the crash the run did not end where the uninterrupted one does"
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
cp -r part.1 damaged
truncate -s -100 damaged/step-00000020/rank-00000.ckpt
refused "damaged or cut short" 1 --resume damaged
cp part.1/step-00000020/rank-00000.ckpt damaged/step-00000020/rank-00000.ckpt
printf '\x01' | dd of=damaged/step-00000020/rank-00000.ckpt bs=1 seek=5000 conv=notrunc status=none
refused "fails its checksum" 1 --resume damaged
exit $status
