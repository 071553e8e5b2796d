#!/usr/bin/env bash
# An emulated cluster on one machine: H hosts in R racks as network namespaces. Each host has its
# own namespace and hostname, a veth into its rack's bridge; each rack bridge joins the spine
# bridge through a veth; `tc tbf` shapes host links and rack uplinks (netem is not available).
# Every bridge lives in a fabric namespace, so nothing touches the machine's own network, and
# every address is in 198.18.0.0/15.
#
#   cluster.sh up   [--racks R] [--hosts-per-rack H] [--host-rate RATE] [--uplink-rate RATE]
#   cluster.sh down
#   cluster.sh run  [--ranks-per-host K] [--numbering round-robin|block] [--timeout S] -- PROGRAM ARGS
#   cluster.sh status
#   cluster.sh probe
#
# `run` starts K ranks on every host (torchrun-style variables: RANK, WORLD_SIZE, MASTER_ADDR,
# MASTER_PORT, LOCAL_RANK), with STRATA_TOPO_FILE naming the generated topology.conf, waits for
# all, stops the others as soon as one fails, and exits with the first failure's status.
# `probe` measures what the shaped links carry — one tcp stream between two hosts of a rack, and
# every host of rack 0 streaming to rack 1 at once — and writes those rates into the cost file
# (net_beta_gbps, interrack_beta_gbps, uplink_oversubscription) for the tuner and strata-sim.
# Rates are tc rates (1gbit, 250mbit, ...). Defaults: 2 racks x 2 hosts, 1gbit host links,
# 250mbit uplinks (4:1 oversubscribed). State lives in $STRATA_CLUSTER_DIR (default
# /tmp/strata-cluster); `up` tears down any previous cluster first, so a run after a crash starts
# clean; `down` is idempotent.
set -euo pipefail

PREFIX=${STRATA_CLUSTER_PREFIX:-stc}
STATE=${STRATA_CLUSTER_DIR:-/tmp/strata-cluster}
FABRIC=$PREFIX-fabric

die() { echo "cluster.sh: $*" >&2; exit 1; }

need_tools() {
  for tool in ip tc unshare; do command -v $tool > /dev/null || die "'$tool' is missing (apt-get install iproute2 util-linux)"; done
  [[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
}

host_name() { printf 'r%dh%d' "$1" "$2"; }              # rack, host-in-rack
host_ns() { echo "$PREFIX-$(host_name "$1" "$2")"; }
host_ip() { echo "198.18.$(( $1 + 1 )).$(( $2 + 10 ))"; }  # 198.18.<rack+1>.<10+host>/16

down() {
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$PREFIX-" || true); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$STATE"
}

# tc rate ("1gbit", "250mbit", "500kbit") in bits per second.
rate_bits() {
  local value=${1%%[a-zA-Z]*} unit=${1##*[0-9.]}
  case $unit in
    gbit) awk -v v="$value" 'BEGIN {print v * 1e9}' ;;
    mbit) awk -v v="$value" 'BEGIN {print v * 1e6}' ;;
    kbit) awk -v v="$value" 'BEGIN {print v * 1e3}' ;;
    bit|"") echo "$value" ;;
    *) die "rate '$1': use kbit, mbit or gbit" ;;
  esac
}

# The bucket holds 8 ms of line time (256 KiB at 250 Mbit/s, 1 MiB at 1 Gbit/s; at least 32 KiB).
# On a loaded 2-core machine the qdisc's watchdog runs late by milliseconds; with a smaller
# bucket the tokens of that delay overflow and the link delivers well under its rate (measured:
# 64 MiB hierarchical allreduce 3.4 s with 32 KiB against 2.6 s with 256 KiB uplink buckets),
# which a real port would not. Over any interval a link still carries at most rate x interval +
# bucket, so long transfers see the rate; messages smaller than the bucket pass at memory speed
# when the link was idle before. STRATA_CLUSTER_BURST overrides (a tc size, e.g. 32kb).
shape() {  # namespace, device, rate
  local burst=${STRATA_CLUSTER_BURST:-$(awk -v b="$(rate_bits "$3")" 'BEGIN { v = int(b * 0.008 / 8); print (v < 32768 ? 32768 : v) "b" }')}
  ip netns exec "$1" tc qdisc replace dev "$2" root tbf rate "$3" burst "$burst" latency 400ms
}

up() {
  local racks=2 hosts=2 host_rate=1gbit uplink_rate=250mbit
  while [[ $# -gt 0 ]]; do
    case $1 in
      --racks) racks=$2; shift 2 ;;
      --hosts-per-rack) hosts=$2; shift 2 ;;
      --host-rate) host_rate=$2; shift 2 ;;
      --uplink-rate) uplink_rate=$2; shift 2 ;;
      *) die "up: unknown option '$1'" ;;
    esac
  done
  [[ $racks =~ ^[1-9][0-9]?$ && $hosts =~ ^[1-9][0-9]?$ ]] || die "up: --racks and --hosts-per-rack must be 1..99"
  need_tools
  down
  mkdir -p "$STATE"
  ip netns add "$FABRIC"
  ip -n "$FABRIC" link set lo up
  ip -n "$FABRIC" link add spine type bridge
  ip -n "$FABRIC" link set spine up
  : > "$STATE/topology.conf"
  : > "$STATE/hosts"
  for ((r = 0; r < racks; ++r)); do
    ip -n "$FABRIC" link add "rack$r" type bridge
    ip -n "$FABRIC" link set "rack$r" up
    # The rack's uplink: a veth from its bridge to the spine, shaped both ways.
    ip -n "$FABRIC" link add "up$r" type veth peer name "dn$r"
    ip -n "$FABRIC" link set "up$r" master "rack$r" up
    ip -n "$FABRIC" link set "dn$r" master spine up
    shape "$FABRIC" "up$r" "$uplink_rate"
    shape "$FABRIC" "dn$r" "$uplink_rate"
    names=()
    for ((h = 0; h < hosts; ++h)); do
      ns=$(host_ns $r $h)
      ip netns add "$ns"
      ip -n "$ns" link set lo up
      ip -n "$FABRIC" link add "p$r-$h" type veth peer name eth0 netns "$ns"
      ip -n "$FABRIC" link set "p$r-$h" master "rack$r" up
      ip -n "$ns" addr add "$(host_ip $r $h)/16" dev eth0
      ip -n "$ns" link set eth0 up
      shape "$ns" eth0 "$host_rate"
      shape "$FABRIC" "p$r-$h" "$host_rate"
      names+=("$(host_name $r $h)")
      echo "$(host_name $r $h) $ns $(host_ip $r $h) $r" >> "$STATE/hosts"
    done
    echo "SwitchName=rack$r Nodes=$(IFS=,; echo "${names[*]}")" >> "$STATE/topology.conf"
  done
  echo "SwitchName=spine Switches=rack[0-$((racks - 1))]" >> "$STATE/topology.conf"
  echo "$racks $hosts $host_rate $uplink_rate" > "$STATE/shape"
  # The cost model of this cluster, for the tuner (STRATA_COST_FILE): link rates in GB/s and the
  # uplink's oversubscription as the model defines it (hosts x host rate / uplink rate). Alpha:
  # 4 ranks on 4 hosts, 8-byte allreduce, 44 us in recursive doubling's 2 steps and 129 us in the
  # flat ring's 6 (2026-11-30; it was 70 while every emulated host's rank was bound to core 0).
  local host_bits uplink_bits
  host_bits=$(rate_bits "$host_rate")
  uplink_bits=$(rate_bits "$uplink_rate")
  awk -v h="$host_bits" -v u="$uplink_bits" -v n="$hosts" 'BEGIN {
    printf "# written by cluster.sh up; alpha measured with the ranks sharing this 2-core VM\nnet_alpha_us = 22\ninterrack_alpha_us = 22\n";
    printf "net_beta_gbps = %g\ninterrack_beta_gbps = %g\nuplink_oversubscription = %g\n", h / 8e9, h / 8e9, n * h / u }' \
    > "$STATE/cost.conf"
  echo "cluster up: $racks racks x $hosts hosts, host links $host_rate, rack uplinks $uplink_rate ($STATE)"
}

status() {
  [[ -f $STATE/hosts ]] || { echo "no cluster"; return 1; }
  read -r racks hosts host_rate uplink_rate < "$STATE/shape"
  echo "$racks racks x $hosts hosts, host links $host_rate, rack uplinks $uplink_rate"
  cat "$STATE/hosts"
  cat "$STATE/topology.conf"
}

run() {
  local per_host=1 numbering=round-robin timeout=600
  while [[ $# -gt 0 ]]; do
    case $1 in
      --ranks-per-host) per_host=$2; shift 2 ;;
      --numbering) numbering=$2; shift 2 ;;
      --timeout) timeout=$2; shift 2 ;;
      --) shift; break ;;
      *) die "run: unknown option '$1'" ;;
    esac
  done
  [[ $# -gt 0 ]] || die "run: no program"
  [[ -f $STATE/hosts ]] || die "run: no cluster (cluster.sh up first)"
  [[ $numbering == round-robin || $numbering == block ]] || die "run: --numbering is round-robin or block"
  # Host order for round-robin numbering: alternate racks (r0h0, r1h0, r0h1, ...), the numbering
  # that makes a ring in rank order cross an uplink at every step.
  mapfile -t lines < <(sort -k4,4n -s "$STATE/hosts" | awk '{print $1, $2, $3, $4}')
  read -r racks hosts _ < "$STATE/shape"
  local order=()
  for ((h = 0; h < hosts; ++h)); do
    for ((r = 0; r < racks; ++r)); do order+=("$(( r * hosts + h ))"); done
  done
  local H=${#order[@]} world=$(( ${#order[@]} * per_host ))
  local port=$(( 20000 + RANDOM % 20000 )) secret="cluster-$RANDOM$RANDOM"
  local pids=() logs=$STATE/logs
  mkdir -p "$logs"
  local first; first=(${lines[${order[0]}]})
  for ((rank = 0; rank < world; ++rank)); do
    local slot local_rank
    if [[ $numbering == round-robin ]]; then slot=$(( rank % H )); local_rank=$(( rank / H ));
    else slot=$(( rank / per_host )); local_rank=$(( rank % per_host )); fi
    local host; host=(${lines[${order[$slot]}]})
    ip netns exec "${host[1]}" unshare --uts env RANK=$rank WORLD_SIZE=$world LOCAL_RANK=$local_rank \
      MASTER_ADDR="${first[2]}" MASTER_PORT=$port STRATA_JOB_SECRET=$secret STRATA_SOCKET_IFNAME==eth0 \
      STRATA_TOPO_FILE="$STATE/topology.conf" STRATA_COST_FILE="${STRATA_COST_FILE:-$STATE/cost.conf}" \
      STRATA_CLUSTER_HOST="${host[0]}" \
      sh -c 'hostname "$STRATA_CLUSTER_HOST" && exec "$@"' sh "$@" > "$logs/$rank" 2>&1 &
    pids+=($!)
  done
  # Wait for all; the first failure stops the rest.
  local status=0 deadline=$(( SECONDS + timeout ))
  while :; do
    local running=0
    for i in "${!pids[@]}"; do
      local p=${pids[$i]}
      [[ -z $p ]] && continue
      if kill -0 "$p" 2>/dev/null; then running=$((running + 1)); continue; fi
      local rc=0
      wait "$p" || rc=$?
      if [[ $rc -ne 0 && $status -eq 0 ]]; then
        status=$rc
        echo "cluster.sh: rank $i failed (status $rc)" >&2
      fi
      pids[$i]=""
    done
    if [[ $status -ne 0 || $SECONDS -ge $deadline ]]; then
      [[ $SECONDS -ge $deadline && $status -eq 0 ]] && { echo "cluster.sh: timed out after ${timeout}s" >&2; status=124; }
      for p in "${pids[@]}"; do [[ -n $p ]] && kill "$p" 2>/dev/null; done
      break
    fi
    [[ $running -eq 0 ]] && break
    sleep 0.05
  done
  wait 2>/dev/null || true
  for ((rank = 0; rank < world; ++rank)); do sed "s/^/[$rank] /" "$logs/$rank"; done
  return $status
}

# Streams `bytes` over each "from to" pair of host indices (rack-major) at once; prints the bytes
# per second they carried together (all bytes over the slowest stream's time).
stream_rate() {
  local bytes=$1; shift
  local here; here=$(cd "$(dirname "$0")" && pwd)
  mapfile -t lines < <(sort -k4,4n -s "$STATE/hosts")
  local port=5301 pids=() outs=()
  while [[ $# -gt 0 ]]; do
    local from=(${lines[$1]}) to=(${lines[$2]})
    shift 2
    local out; out=$(mktemp "$STATE/probe.XXXXXX")
    ip netns exec "${to[1]}" python3 "$here/stream_probe.py" recv "$port" > "$out" &
    pids+=($!)
    outs+=("$out")
    ip netns exec "${from[1]}" python3 "$here/stream_probe.py" send "${to[2]}" "$port" "$bytes" &
    pids+=($!)
    port=$((port + 1))
  done
  for p in "${pids[@]}"; do wait "$p" || die "probe: a stream failed"; done
  cat "${outs[@]}" | awk '{ total += $1; if ($2 > slowest) slowest = $2 } END { printf "%.0f\n", total / slowest }'
  rm -f "${outs[@]}"
}

probe() {
  [[ -f $STATE/hosts ]] || die "probe: no cluster (cluster.sh up first)"
  read -r racks hosts _ < "$STATE/shape"
  (( hosts >= 2 && racks >= 2 )) || die "probe: needs 2 racks of 2 hosts or more"
  # 64 MB per stream: seconds on these links, so the 8 ms buckets add under 2 %.
  local one pairs=() uplink
  one=$(stream_rate 64000000 0 1)
  for ((h = 0; h < hosts; ++h)); do pairs+=("$h" "$(( hosts + h ))"); done
  uplink=$(stream_rate 32000000 "${pairs[@]}")
  awk -v one="$one" -v up="$uplink" -v n="$hosts" 'BEGIN {
    printf "probe: one stream in a rack %.1f Mbit/s; %d streams across racks %.1f Mbit/s together\n", one * 8e-6, n, up * 8e-6 }'
  local tmp="$STATE/cost.conf.new"
  grep -vE "^(net_beta_gbps|interrack_beta_gbps|uplink_oversubscription) " "$STATE/cost.conf" > "$tmp"
  awk -v one="$one" -v up="$uplink" -v n="$hosts" 'BEGIN {
    printf "# probed by cluster.sh probe: one stream, and a rack uplink under %d streams\n", n;
    printf "net_beta_gbps = %g\ninterrack_beta_gbps = %g\nuplink_oversubscription = %g\n", one / 1e9, one / 1e9, n * one / up }' >> "$tmp"
  mv "$tmp" "$STATE/cost.conf"
  cat "$STATE/cost.conf"
}

command=${1:-}
shift || true
case $command in
  up) up "$@" ;;
  down) down ;;
  run) run "$@" ;;
  status) status ;;
  probe) probe ;;
  *) sed -n '2,/^set -euo pipefail/{/^set/!p}' "$0"; exit 2 ;;
esac
