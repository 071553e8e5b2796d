#!/usr/bin/env bash
# MoE dispatch/combine on the emulated cluster, in one run: Strata with forwarding (a token
# crosses to a remote host once), Strata with direct routes, and the naive Open MPI exchange
# (MPI_Alltoallv, one row per token-expert pair) started in the same namespaces through an rsh
# agent (each remote host gets a private /dev/shm, as a real host has). Ranks numbered
# round-robin over the hosts for all three. The cluster is torn down on any exit.
#   moe_compare.sh [--racks R] [--hosts-per-rack H] [--ranks-per-host K] [-- WORKLOAD FLAGS]
#   (default workload: -t 1024 -H 2048 -E 64 -k 8 -n 3 -w 1)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${STRATA_BIN:-$here/../../build/bin}
racks=1 hosts=2 per_host=2
while [[ $# -gt 0 ]]; do
  case $1 in
    --racks) racks=$2; shift 2 ;; --hosts-per-rack) hosts=$2; shift 2 ;; --ranks-per-host) per_host=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "moe_compare.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
work=("$@")
[[ ${#work[@]} -gt 0 ]] || work=(-t 1024 -H 2048 -E 64 -k 8 -n 3 -w 1)
export STRATA_CLUSTER_PREFIX=${STRATA_CLUSTER_PREFIX:-stmoe} STRATA_CLUSTER_DIR=${STRATA_CLUSTER_DIR:-/tmp/strata-cluster-moe}
trap '"$here/cluster.sh" down' EXIT INT TERM
"$here/cluster.sh" up --racks "$racks" --hosts-per-rack "$hosts"
# hosts file: name namespace address (cluster.sh's state).
mapfile -t lines < "$STRATA_CLUSTER_DIR/hosts"
row() { echo "$1" | grep -E '^\[0\] +[0-9]+ ' | sed 's/^\[0\] *//'; }

declare -A result
for mode in 1 0; do
  out=$(STRATA_MOE_HIERARCHICAL=$mode "$here/cluster.sh" run --ranks-per-host "$per_host" -- "$bin/moe_dispatch_perf" "${work[@]}")
  result[$mode]=$(row "$out")
done

# Open MPI: mpirun in the first host's namespace; the agent runs orted in the others.
agent=$STRATA_CLUSTER_DIR/rsh-agent.sh
{
  echo '#!/bin/sh'
  echo 'host=$1; shift'
  echo 'case $host in'
  for l in "${lines[@]}"; do set -- $l; echo "  $3) ns=$2 ;;"; done
  echo '  *) echo "rsh-agent: unknown host $host" >&2; exit 1 ;;'
  echo 'esac'
  echo 'exec ip netns exec "$ns" unshare --mount sh -c "mount -t tmpfs tmpfs /dev/shm && exec $*"'
} > "$agent"
chmod +x "$agent"
first=(${lines[0]})
# The same host order as cluster.sh's round-robin numbering: alternate racks.
hostlist=$(for ((h = 0; h < hosts; ++h)); do for ((r = 0; r < racks; ++r)); do
             set -- ${lines[$(( r * hosts + h ))]}; echo "$3:$per_host"; done; done | paste -sd,)
world=$(( ${#lines[@]} * per_host ))
mpi=""
if [[ -x $bin/mpi_moe_perf ]] && command -v mpirun >/dev/null; then
  mpi=$(ip netns exec "${first[1]}" mpirun --allow-run-as-root --oversubscribe --host "$hostlist" -np "$world" --map-by node \
        --mca plm_rsh_agent "$agent" --mca oob_tcp_if_include eth0 --mca btl tcp,self,vader --mca btl_tcp_if_include eth0 \
        "$bin/mpi_moe_perf" "${work[@]}" 2>/dev/null | grep -E '^ +[0-9]+ ' || true)
fi

echo "# MoE on the emulated cluster: ${#lines[@]} hosts x $per_host ranks, workload: ${work[*]}; time per call in us"
printf "%-22s %12s %12s %14s %12s %12s\n" "" "dispatch" "combine" "B/token(host)" "x dispatch" "x combine"
for entry in "Strata forwarded:1" "Strata direct:0"; do
  name=${entry%:*} mode=${entry#*:}
  set -- ${result[$mode]}
  d=$8 c=${11} wire=${16}
  if [[ -n $mpi ]]; then
    set -- $mpi
    xd=$(awk -v m="$8" -v s="$d" 'BEGIN { printf "%.2f", m / s }') xc=$(awk -v m="${11}" -v s="$c" 'BEGIN { printf "%.2f", m / s }')
  else xd=- xc=-; fi
  printf "%-22s %12s %12s %14s %12s %12s\n" "$name" "$d" "$c" "$wire" "$xd" "$xc"
done
if [[ -n $mpi ]]; then
  set -- $mpi
  printf "%-22s %12s %12s %14s %12s %12s\n" "Open MPI naive" "$8" "${11}" "-" "1.00" "1.00"
else
  echo "(Open MPI peer not built or mpirun missing)"
fi
echo "# x = Open MPI time / Strata time; B/token(host) = dispatched bytes per token that leave the host"
