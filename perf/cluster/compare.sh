#!/usr/bin/env bash
# Allreduce on the emulated cluster, every algorithm forced and the tuner's own choice, side by
# side in one run: time per size, the tuner against the best forced algorithm, and the headline
# figures (hierarchical vs the rank-order ring at 64 MiB, against the cost model's bound; the
# latency algorithms vs the ring at 8 KiB), and each time against strata-sim's replay of the same
# plans on the same cluster. Ranks are numbered round-robin across racks, the
# numbering that hurts a topology-blind ring. Sizes up to 64 KiB run 100 warmup and 300 timed
# iterations (steady state: the shaped links' buckets are drained) in --repeat launches per
# algorithm (default 3, the fastest kept), larger ones one launch of -n iterations (default 3).
#   compare.sh [--racks R] [--hosts-per-rack H] [--ranks-per-host K] [-b MIN] [-e MAX] [-f FACTOR] [-n ITERS]
#              [--repeat R] [--probe]
# --probe measures the shaped links' rates first (cluster.sh probe) and gives the tuner and the
# simulator those instead of the nominal tc rates.
set -euo pipefail
shopt -s nullglob
here=$(cd "$(dirname "$0")" && pwd)
bin=${STRATA_BIN:-$here/../../build/bin}
racks=2 hosts=2 per_host=1 min=8 max=64M factor=4 iters=3 repeats=3 probe=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --racks) racks=$2; shift 2 ;;
    --hosts-per-rack) hosts=$2; shift 2 ;;
    --ranks-per-host) per_host=$2; shift 2 ;;
    -b) min=$2; shift 2 ;;
    -e) max=$2; shift 2 ;;
    -f) factor=$2; shift 2 ;;
    -n) iters=$2; shift 2 ;;
    --repeat) repeats=$2; shift 2 ;;
    --probe) probe=1; shift ;;
    *) echo "compare.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
export STRATA_CLUSTER_PREFIX=${STRATA_CLUSTER_PREFIX:-stcmp} STRATA_CLUSTER_DIR=${STRATA_CLUSTER_DIR:-/tmp/strata-cluster-compare}
trap '"$here/cluster.sh" down' EXIT INT TERM
"$here/cluster.sh" up --racks "$racks" --hosts-per-rack "$hosts"
(( probe )) && "$here/cluster.sh" probe
algos=(flat_ring ring hierarchical rabenseifner tree recursive_doubling)
# "64K", "1M", "8" in bytes.
size_bytes() {
  local v=${1%%[KkMmGg]*} unit=${1##*[0-9]}
  case $unit in K|k) echo $(( v * 1024 )) ;; M|m) echo $(( v * 1048576 )) ;; G|g) echo $(( v * 1073741824 )) ;; *) echo "$v" ;; esac
}
out=$(mktemp -d)
# One launch of all_reduce_perf with `algo` forced (or the tuner's choice): "size time busbw" per
# line, out-of-place (column 6 of nccl-tests' output), from rank 0.
measure() {
  local algo=$1; shift
  local forced=$algo; [[ $algo == tuner ]] && forced=""
  STRATA_ALGO=$forced "$here/cluster.sh" run --ranks-per-host "$per_host" -- "$bin/all_reduce_perf" "$@" -c 0 |
    awk '$1 == "[0]" && $2 ~ /^[0-9]+$/ {print $2, $7, $9}'
}
# Per size, the line with the least time over the files given.
fastest() { awk '!($1 in t) || $2 < t[$1] {t[$1] = $2; line[$1] = $0} END {for (s in line) print line[s]}' "$@" | sort -n; }
# Up to 64 KiB the links' token buckets would carry a short run at memory speed: many warmup
# iterations drain them first, so every size is measured in steady state (as back-to-back training
# steps see it). These runs take about a second each, short enough that a burst of other work on
# the shared cores skews one launch: every algorithm runs --repeat times, interleaved with the
# others, and each size keeps its fastest launch.
small_max=$max; [[ $(size_bytes "$max") -gt 65536 ]] && small_max=64K
for ((rep = 0; rep < repeats; ++rep)); do
  for algo in "${algos[@]}" tuner; do
    if [[ $(size_bytes "$min") -le 65536 ]]; then
      measure "$algo" -b "$min" -e "$small_max" -f "$factor" -w 100 -n 300 > "$out/$algo.small.$rep"
    fi
    measure "$algo" -b 8K -e 8K -w 100 -n 1000 > "$out/$algo.8k.$rep"
  done
done
# Larger sizes are bandwidth-bound, each iteration seconds long: one launch, -n iterations.
large_min=$(awk -v b="$(size_bytes "$min")" -v f="$factor" 'BEGIN { s = b; while (s <= 65536) s *= f; print s }')
for algo in "${algos[@]}" tuner; do
  : > "$out/$algo.large"
  if [[ $large_min -le $(size_bytes "$max") ]]; then
    measure "$algo" -b "$large_min" -e "$max" -f "$factor" -w 1 -n "$iters" > "$out/$algo.large"
  fi
  fastest "$out/$algo".small.* "$out/$algo.large" > "$out/$algo"
  fastest "$out/$algo".8k.* > "$out/$algo.8k"
done
world=$(( racks * hosts * per_host ))
hostlist=$(awk '{print $1}' "$STRATA_CLUSTER_DIR/hosts" | paste -sd,)
bound=$("$bin/strata-topo" --hosts "$hostlist" --topology-file "$STRATA_CLUSTER_DIR/topology.conf" \
        --cost-file "$STRATA_CLUSTER_DIR/cost.conf" --ranks-per-host "$per_host" --predict 67108864 |
        awk '$3 == "hierarchical" {print $5}')

echo
echo "# allreduce float32 sum, $racks racks x $hosts hosts x $per_host ranks ($world ranks, round-robin over racks)"
echo "# $(cat "$STRATA_CLUSTER_DIR/shape" | awk '{print "host links " $3 ", rack uplinks " $4}'); time in us (out-of-place, rank 0)"
printf "%10s" "size"; for a in "${algos[@]}"; do printf " %13s" "$a"; done; printf " %13s %10s %8s\n" "tuner" "best" "tuner/best"
paste "$out/flat_ring" "$out/ring" "$out/hierarchical" "$out/rabenseifner" "$out/tree" "$out/recursive_doubling" "$out/tuner" |
  awk '{
    best = $2; name = "flat_ring"; split("flat_ring ring hierarchical rabenseifner tree recursive_doubling", n, " ");
    printf "%10s", $1;
    for (i = 0; i < 6; ++i) { t = $(2 + 3 * i); printf " %13.1f", t; if (t < best) { best = t; name = n[i + 1] } }
    tuner = $(2 + 3 * 6); printf " %13.1f %10s %8.2f\n", tuner, name, tuner / best }'
echo
# 64 MiB busbw from the time: the tools print busbw to two decimals, too coarse at these rates
# (0.035 GB/s prints as 0.03). nccl-tests' allreduce factor: 2(n-1)/n.
busbw64() { awk -v n="$world" '$1 == 67108864 {printf "%.6f", $1 / ($2 * 1e3) * 2 * (n - 1) / n}' "$1"; }
flat64=$(busbw64 "$out/flat_ring")
hier64=$(busbw64 "$out/hierarchical")
tree64=$(busbw64 "$out/tree")
if [[ -n $flat64 && -n $hier64 ]]; then
  awk -v f="$flat64" -v h="$hier64" -v t="$tree64" -v b="$bound" 'BEGIN {
    printf "64 MiB busbw: hierarchical %.4f GB/s, flat ring %.4f GB/s: %.2fx; model bound %.4f GB/s: %.0f%% (tree %.4f GB/s)\n",
           h, f, h / f, b, 100 * h / b, t }'
fi
# The simulator on the same cluster (its topology.conf, cost file, numbering), per algorithm and
# size from 64 KiB: measured time over strata-sim's exact replay, with plain links (what a switch
# port does) and with the links as the token buckets tc tbf makes them (8 ms of line time at
# memory speed after an idle spell: the emulation's own behaviour).
if [[ -x $bin/strata-sim ]]; then
  sizes=$(awk '$1 >= 65536 {print $1}' "$out/flat_ring" | paste -sd,)
  if [[ -n $sizes ]]; then
    for links in plain tbf; do
      burst=(); [[ $links == tbf ]] && burst=(--link-burst-ms 8)
      "$bin/strata-sim" --topology-file "$STRATA_CLUSTER_DIR/topology.conf" --hosts "$hostlist" \
        --cost-file "$STRATA_CLUSTER_DIR/cost.conf" --ranks-per-host "$per_host" --numbering round-robin \
        --bytes "$sizes" --algorithms "$(IFS=,; echo "${algos[*]}")" --mode exact "${burst[@]}" --json \
        > "$out/sim.$links.json" 2> /dev/null
    done
    echo
    echo "# measured time / strata-sim's (exact replay), plain links and tbf links; * within 15 %"
    python3 - "$out" "${algos[@]}" <<'PY'
import json, sys
out, algos = sys.argv[1], sys.argv[2:]
sims = {links: {(r["bytes"], r["algorithm"]): r["seconds"] * 1e6 for r in json.load(open(f"{out}/sim.{links}.json"))["results"]}
        for links in ("plain", "tbf")}
measured = {a: {int(l.split()[0]): float(l.split()[1]) for l in open(f"{out}/{a}")} for a in algos}
print("%10s" % "size" + "".join(" %20s" % a for a in algos))
within = {"plain": 0, "tbf": 0}
total = 0
for size in sorted(measured[algos[0]]):
    if size < 65536:
        continue
    cells = []
    for a in algos:
        m = measured[a].get(size)
        ratios = {k: m / v[(size, a)] for k, v in sims.items() if m is not None and (size, a) in v}
        if len(ratios) < 2:
            cells.append(" %20s" % "-")
            continue
        total += 1
        text = []
        for k in ("plain", "tbf"):
            ok = abs(ratios[k] - 1) <= 0.15
            within[k] += ok
            text.append("%.2f%s" % (ratios[k], "*" if ok else " "))
        cells.append(" %20s" % " / ".join(text))
    print("%10d" % size + "".join(cells))
print(f"within 15 %: {within['plain']} of {total} with plain links, {within['tbf']} of {total} with tbf links")
PY
  fi
fi
flat8=$(awk '{print $2}' "$out/flat_ring.8k")
best8=$(cat "$out/tree.8k" "$out/recursive_doubling.8k" | awk 'NR == 1 || $2 < m {m = $2} END {print m}')
tuner8=$(awk '{print $2}' "$out/tuner.8k")
awk -v f="$flat8" -v b="$best8" -v t="$tuner8" 'BEGIN {
  printf "8 KiB: flat ring %.1f us, best of tree/recursive doubling %.1f us: %.2fx faster; tuner %.1f us\n", f, b, f / b, t }'
rm -rf "$out"
