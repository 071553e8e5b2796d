#!/usr/bin/env bash
# The NCCL net plugin through its ABI (nccl_net_bench) next to the tcp transport it adapts
# (transport_bench, the same stream count), launches interleaved; medians with the min-max spread.
#   perf/compare/nccl_net.sh [-l LAUNCHES] [-t SECONDS] [BUILD_DIR]
# STRATA_SOCKET_NSTREAMS (default 2) sets the plugin's streams; the tcp rows use the same count.
set -euo pipefail
launches=5 seconds=0.5 build=build
while [[ $# -gt 0 ]]; do
  case $1 in
    -l) launches=$2; shift 2 ;; -t) seconds=$2; shift 2 ;;
    -h | --help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    -*) echo "nccl_net.sh: unknown option $1" >&2; exit 2 ;;
    *) build=$1; shift ;;
  esac
done
bin=$build/bin streams=${STRATA_SOCKET_NSTREAMS:-2}
for tool in nccl_net_bench transport_bench; do
  [[ -x $bin/$tool ]] || { echo "nccl_net.sh: $bin/$tool not built (needs Google Benchmark)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# name -> one figure per launch: GB/s for bandwidth rows, us for latency rows.
figures() {
  awk '/_latency\/8/ { printf "%s %.2f\n", $1, $2 / 1000 }
       /_bandwidth\// { for (i = 1; i <= NF; ++i) if ($i ~ /^bytes_per_second=/) {
         v = substr($i, 18); u = substr(v, length(v) - 1); v = v + 0;
         if (u == "M/s") v /= 1024; printf "%s %.2f\n", $1, v } }'
}
for ((l = 1; l <= launches; ++l)); do
  "$bin/nccl_net_bench" --benchmark_min_time="$seconds" 2>/dev/null | figures >> "$tmp/plugin"
  "$bin/transport_bench" --benchmark_min_time="$seconds" \
    --benchmark_filter="tcp_latency/8/|tcp_bandwidth/(4194304|67108864)/$streams/" 2>/dev/null | figures >> "$tmp/tcp"
done
stat() {  # median [min-max] of the rows matching $2 in file $1
  grep -E "$2" "$1" | awk '{ print $2 }' | sort -g | awk '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%s %s %s\n", m, v[1], v[NR] }'
}
printf "%-22s %-22s %-22s %s\n" "what" "plugin (median [range])" "tcp transport" "plugin / tcp"
for row in "latency 8 B (us)|plugin_latency/8|tcp_latency/8" "bandwidth 4 MiB (GB/s)|plugin_bandwidth/4194304|tcp_bandwidth/4194304" \
           "bandwidth 64 MiB (GB/s)|plugin_bandwidth/67108864|tcp_bandwidth/67108864"; do
  IFS='|' read -r label pluginRow tcpRow <<< "$row"
  read -r pm plo phi <<< "$(stat "$tmp/plugin" "$pluginRow")"
  read -r tm tlo thi <<< "$(stat "$tmp/tcp" "$tcpRow")"
  printf "%-22s %-22s %-22s %.2f\n" "$label" "$pm [$plo-$phi]" "$tm [$tlo-$thi]" "$(echo "$pm / $tm" | bc -l)"
done
echo "($launches launches each, interleaved, STRATA_SOCKET_NSTREAMS=$streams, $(date -u +%F))"
