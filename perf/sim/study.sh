#!/usr/bin/env bash
# The scale study: a 1 GiB allreduce (one gradient bucket) on fat trees of 64 to 4096 hosts of 8
# ranks, 400 Gb/s NICs, racks of 16 hosts with 4:1 uplinks, pods of 32 racks, ranks numbered
# round-robin across racks (what a scheduler hands out when it spreads a job), replayed by
# strata-sim for:
#   flat_ring       the topology-blind ring, rank order
#   nccl_like_ring  hosts in first-rank order, a host's ranks together (NCCL without rack metadata)
#   ring            Strata's rack-aware ring
#   hierarchical    Strata's tiered allreduce
#   tree            Strata's rack-aware double binary tree
#   tuner           what Strata's tuner picks
# busbw, and the step time of a model whose compute takes --compute-ms per step with its
# gradient allreduce not overlapped: the throughput each ordering loses against Strata's choice.
# The tree is aggregated with a class per host (its shape depends on each host's place), which
# takes ~40 s and 1 GB at 512 hosts, ~2 min and 2-3 GB at 1024 and 4096: beyond --tree-max-hosts
# (default 512) it is left out.
#   study.sh [--hosts "64 128 ..."] [--compute-ms MS] [--bytes 1G] [--tree-max-hosts N] [--json FILE]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sim=${STRATA_SIM:-$here/../../build/bin/strata-sim}
hosts_list="64 128 256 512 1024 4096" compute_ms=250 bytes=1G json_out="" tree_max=512
while [[ $# -gt 0 ]]; do
  case $1 in
    --hosts) hosts_list=$2; shift 2 ;;
    --compute-ms) compute_ms=$2; shift 2 ;;
    --bytes) bytes=$2; shift 2 ;;
    --json) json_out=$2; shift 2 ;;
    --tree-max-hosts) tree_max=$2; shift 2 ;;
    *) echo "study.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[[ -x $sim ]] || { echo "study.sh: $sim not built (make -C build strata-sim)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
per_rack=16 racks_per_pod=32
echo "# strata-sim: ${bytes} allreduce, 8 ranks/host, 400 Gb/s NICs, racks of $per_rack hosts with 4:1 uplinks,"
echo "# pods of $racks_per_pod racks (1:1 spine), round-robin numbering across racks, compute $compute_ms ms/step"
for hosts in $hosts_list; do
  racks=$(( (hosts + per_rack - 1) / per_rack ))
  pods=$(( (racks + racks_per_pod - 1) / racks_per_pod ))
  (( racks % pods == 0 )) || { echo "study.sh: $hosts hosts do not fill $pods pods evenly" >&2; exit 2; }
  algorithms=flat_ring,nccl_like_ring,ring,hierarchical,tuner
  (( hosts <= tree_max )) && algorithms+=,tree
  start=$(date +%s.%N)
  "$sim" --pods "$pods" --racks-per-pod $(( racks / pods )) --hosts-per-rack "$per_rack" --ranks-per-host 8 \
    --nic-gbps 400 --rank-port-gbps 150 --reduce-gbps 500 --leaf-oversubscription 4 --alpha-us 2,5,6,7 \
    --numbering round-robin --algorithms "$algorithms" --bytes "$bytes" --json \
    > "$work/$hosts.json" 2> "$work/$hosts.err"
  echo "$hosts $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}') $(sed -n 's/.*peak memory \([0-9]*\) MiB.*/\1/p' "$work/$hosts.err")" >> "$work/cost"
done
python3 - "$work" "$compute_ms" "$hosts_list" "$json_out" <<'PY'
import json, sys
work, compute_ms, hosts_list, json_out = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(), sys.argv[4]
names = ["flat_ring", "nccl_like_ring", "ring", "hierarchical", "tree"]
cost = {l.split()[0]: l.split()[1:] for l in open(f"{work}/cost")}
rows, summary = [], []
for hosts in hosts_list:
    d = json.load(open(f"{work}/{hosts}.json"))
    res = {r["algorithm"]: r for r in d["results"]}
    tuner = next(r for r in d["results"] if r["tuner_choice"])
    # nccl-tests' busbw (2(n-1)/n x bytes / time): what each rank's share of the links carried.
    per_host = {n: res[n]["busbw_gbps"] if n in res else None for n in names}
    step = lambda s: compute_ms / 1e3 + s
    loss = {n: 1 - step(tuner["seconds"]) / step(res[n]["seconds"]) if n in res else None for n in names}
    comm_share = tuner["seconds"] / step(tuner["seconds"])
    rows.append((int(hosts), per_host, tuner["algorithm"], tuner["busbw_gbps"], loss, comm_share, cost[hosts],
                 res["flat_ring"]["bottleneck"], tuner["bottleneck"]))
    summary.append({"hosts": int(hosts), "busbw_gbps": per_host, "tuner": tuner["algorithm"],
                    "tuner_busbw_gbps": tuner["busbw_gbps"], "throughput_loss_vs_tuner": loss,
                    "tuner_comm_share": comm_share, "sim_seconds": float(cost[hosts][0]), "sim_peak_mib": int(cost[hosts][1])})
print("\nbusbw (GB/s, nccl-tests' definition; one 400 Gb/s NIC = 50 GB/s per host)")
print("| hosts | " + " | ".join(names) + " | tuner's choice |")
print("|---:|" + "---:|" * len(names) + "---|")
for h, per_host, tname, tbus, *_ in rows:
    print(f"| {h} | " + " | ".join("-" if per_host[n] is None else f"{per_host[n]:.1f}" for n in names) + f" | {tname} {tbus:.1f} |")
print(f"\nthroughput lost against Strata's choice ({compute_ms:g} ms compute + allreduce per step, not overlapped)")
print("| hosts | " + " | ".join(names) + " | comm share (tuner) | blind ring's bottleneck | sim time, memory |")
print("|---:|" + "---:|" * len(names) + "---:|---|---|")
for h, _, _, _, loss, share, c, flat_b, _ in rows:
    print(f"| {h} | " + " | ".join("-" if loss[n] is None else f"{100 * loss[n]:.0f} %" for n in names) + f" | {100 * share:.0f} % | {flat_b} | {c[0]} s, {c[1]} MiB |")
first, last = rows[0], next((r for r in rows if r[0] == 512), rows[-1])
print(f"\ntuner's busbw at {last[0]} hosts: {100 * last[3] / first[3]:.0f} % of its value at {first[0]} hosts "
      f"(flat ring: {100 * last[1]['flat_ring'] / first[1]['flat_ring']:.0f} %, "
      f"NCCL-like ring: {100 * last[1]['nccl_like_ring'] / first[1]['nccl_like_ring']:.0f} %)")
if json_out:
    json.dump(summary, open(json_out, "w"), indent=2)
PY
