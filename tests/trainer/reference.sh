#!/usr/bin/env bash
# The trainer's loss, every gradient and the optimizer's update (learning-rate schedule, clipping,
# AdamW) against PyTorch (reference_check.py), on the issue's tiny configuration (2 blocks,
# d = 16, 4 heads, E = 4, top-2, router and aux loss included): at the initial weights (warm-up)
# and after 30 training steps (cosine decay). Then the check itself is checked: one gradient entry
# nudged by 1 % of the tensor's largest must be reported.
#   reference.sh STRATA_RUN TRAINER
set -euo pipefail
run=$1 trainer=$2
here=$(cd "$(dirname "$0")" && pwd)
if ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 cannot import torch and numpy (Debian python3-torch; make deps installs it)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tiny=(--blocks 2 --dim 16 --heads 4 --experts 4 --topk 2 --mlp-hidden 32 --expert-hidden 24 --seq 8 --batch 4
      --aux-weight 0.1 --lr 1e-2 --warmup 2 --steps 40 --log-every 100)
for step in 0 30; do
  "$run" -n 1 "$trainer" "${tiny[@]}" --dump-step $step --dump "$work/step$step" > /dev/null
  echo "== after $step steps"
  /usr/bin/python3 "$here/reference_check.py" "$work/step$step"
done

echo "== a nudged gradient must be caught"
cp -r "$work/step30" "$work/nudged"
/usr/bin/python3 - "$work/nudged" <<'PY'
import sys
import numpy as np
d = sys.argv[1]
with open(d + "/manifest.txt") as f:
    name, region, offset, rows, cols = next(l.split()[1:6] for l in f if l.startswith("tensor") and l.split()[1] == "block0.mlp.w1")
g = np.fromfile(f"{d}/{region}_grad.bin", dtype=np.float32)
tensor = g[int(offset):int(offset) + int(rows) * int(cols)]
tensor[len(tensor) // 2] += 0.01 * np.abs(tensor).max()
g.tofile(f"{d}/{region}_grad.bin")
print("nudged one entry of", name)
PY
if /usr/bin/python3 "$here/reference_check.py" "$work/nudged"; then
  echo "FAIL: the reference check accepted a wrong gradient"
  exit 1
fi
echo "the nudged gradient was reported"
