#!/usr/bin/env bash
# The same global batch on 1 rank, 2 ranks (EP 2), 4 ranks (EP 4) and 4 ranks (EP 2 x DP 2) gives
# the same loss curve for 20 steps within 1e-4 relative: dispatch/combine, their backward passes,
# the global-batch aux loss and the bucketed gradient all-reduce (small buckets, so several
# overlap backward) must all be exact up to float rounding. Also with the naive exchange
# (--naive-moe) and launched by mpirun.
#   parallel_equivalence.sh STRATA_RUN TRAINER
set -euo pipefail
run=$1 trainer=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tiny=(--blocks 2 --dim 16 --heads 4 --experts 4 --topk 2 --mlp-hidden 32 --expert-hidden 24 --seq 16 --batch 8
      --aux-weight 0.1 --lr 1e-2 --warmup 2 --steps 20 --log-every 5 --bucket-mb 0.004)
layouts=("1 1" "2 2" "4 4" "4 2" "4 2 --naive-moe")
for layout in "${layouts[@]}"; do
  read -r ranks ep flag <<< "$layout"
  echo "== $ranks ranks, EP $ep x DP $((ranks / ep)) $flag"
  "$run" -n "$ranks" "$trainer" "${tiny[@]}" --ep "$ep" $flag --csv "$work/$ranks.$ep${flag:+.naive}.csv"
done
# The same job launched by Open MPI's mpirun instead of strata-run (strataCommInitFromEnv).
names="2.2 4.4 4.2 4.2.naive"
if command -v mpirun > /dev/null; then
  echo "== 2 ranks, EP 2, launched by mpirun"
  timeout 120 mpirun --allow-run-as-root --oversubscribe -np 2 "$trainer" "${tiny[@]}" --ep 2 --csv "$work/mpirun.csv"
  names="$names mpirun"
else
  echo "(mpirun not found: the mpirun launch is not checked)"
fi
python3 - "$work" $names <<'PY'
import csv, sys
work = sys.argv[1]
def losses(name):
    with open(f"{work}/{name}.csv") as f:
        return [float(row["loss"]) for row in csv.DictReader(f)]
reference = losses("1.1")
worst, failed = 0.0, False
for name in sys.argv[2:]:
    curve = losses(name)
    if len(curve) != len(reference):
        print(f"{name}: {len(curve)} steps, reference {len(reference)}"); failed = True; continue
    diff = max(abs(a - b) / abs(b) for a, b in zip(curve, reference))
    worst = max(worst, diff)
    print(f"ranks.ep {name}: worst relative loss difference over {len(curve)} steps {diff:.2e}")
    failed |= diff > 1e-4
print(f"first loss {reference[0]:.6f}, last {reference[-1]:.6f}")
sys.exit(1 if failed else 0)
PY
