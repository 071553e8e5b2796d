#!/usr/bin/env bash
# The trainer next to PyTorch DDP over Gloo (torch_ddp.py) on the same model shape, global batch
# and rank counts, launches interleaved: tokens/s and communication time per step of each, with
# the trainer pure data-parallel (--ep 1, experts replicated as DDP has them) and expert-parallel
# (--ep N). The trainer's communication time is the time a step spends blocked in Strata calls
# (its comm_seconds); PyTorch's is its DDP step minus its no_sync step. Medians over steps 4..,
# then the median (and min-max) over launches.
#   perf/trainer/compare_torch.sh [-r "1 2 4"] [-l LAUNCHES] [-s STEPS] [BUILD_DIR]
set -euo pipefail
ranks_list="1 2 4" launches=3 steps=40
while getopts "r:l:s:" opt; do
  case $opt in
    r) ranks_list=$OPTARG ;; l) launches=$OPTARG ;; s) steps=$OPTARG ;;
    *) echo "usage: $0 [-r RANKS] [-l LAUNCHES] [-s STEPS] [BUILD_DIR]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# steps 4.. of a trainer CSV: median step ms, tokens/s, median comm ms
trainer_line() {
  python3 - "$1" <<'PY'
import csv, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if int(r["step"]) >= 4]
step = statistics.median(float(r["seconds"]) for r in rows)
comm = statistics.median(float(r["comm_seconds"]) for r in rows)
tokens = float(rows[0]["tokens_per_second"]) * float(rows[0]["seconds"])
print(f"step_ms {1e3 * step:.2f} tokens_per_s {tokens / step:.0f} comm_ms {1e3 * comm:.2f}")
PY
}
for launch in $(seq "$launches"); do
  for ranks in $ranks_list; do
    for ep in $(printf '%s\n' 1 "$ranks" | sort -un); do
      "$build/bin/strata-run" -n "$ranks" "$build/bin/moe_trainer" --ep "$ep" --steps "$steps" --log-every 1000 \
        --csv "$work/t.csv" > /dev/null
      echo "strata_ep$ep $ranks $(trainer_line "$work/t.csv")" >> "$work/results"
    done
    /usr/bin/python3 "$here/torch_ddp.py" --ranks "$ranks" --steps "$steps" | sed "s/^torch_ddp ranks /torch_ddp /" >> "$work/results"
  done
done
python3 - "$work/results" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    f = line.split()
    runs[(f[0], int(f[1]))].append({f[i]: float(f[i + 1]) for i in range(2, len(f), 2)})
def cell(key, field):
    values = [r[field] for r in runs[key]]
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"
print(f"# median (min-max) over {max(len(v) for v in runs.values())} launches; comm = time per step blocked on communication")
print(f"{'who':<12} {'ranks':>5} {'tokens/s':>24} {'step ms':>22} {'comm ms':>22}")
for who, ranks in sorted(runs, key=lambda k: (k[1], k[0])):
    print(f"{who:<12} {ranks:>5} {cell((who, ranks), 'tokens_per_s'):>24} {cell((who, ranks), 'step_ms'):>22} {cell((who, ranks), 'comm_ms'):>22}")
PY
