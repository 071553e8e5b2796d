#!/usr/bin/env bash
# Strata's ucx transport next to its own tcp transport and to Open MPI over UCX (pml ucx), in one
# invocation: 2 ranks on 2 emulated hosts (STRATA_HOSTID) on this machine, UCX on its tcp wires over
# loopback (UCX_TLS=tcp, UCX_NET_DEVICES=lo: no RDMA device here). Launches are interleaved
# program by program; each figure is the median of the launches, with the min-max spread.
#   perf/compare/ucx.sh [-c COLLS] [-s SIZES] [-l LAUNCHES] [-i ITERS] [BUILD_DIR]
#   COLLS: comma list of all_reduce, alltoall (default both); SIZES: comma list (default 8,4M,64M)
# Prints per collective and size the time (us) of each program and the ratios.
set -euo pipefail
colls=all_reduce,alltoall sizes=8,4M,64M launches=5 iters=20 build=build
while [[ $# -gt 0 ]]; do
  case $1 in
    -c) colls=$2; shift 2 ;; -s) sizes=$2; shift 2 ;; -l) launches=$2; shift 2 ;; -i) iters=$2; shift 2 ;;
    -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    -*) echo "ucx.sh: unknown option $1" >&2; exit 2 ;;
    *) build=$1; shift ;;
  esac
done
bin=$build/bin here=$(cd "$(dirname "$0")" && pwd)
[[ -x $bin/strata-run ]] || { echo "ucx.sh: $bin/strata-run not built" >&2; exit 1; }
export UCX_TLS=tcp UCX_NET_DEVICES=lo
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
have_mpi=0
if [[ -x $bin/mpi_coll_perf ]] && command -v mpirun >/dev/null; then have_mpi=1; fi

# "size time" rows (out-of-place) of an nccl-tests style output.
rows() { awk '$1 !~ /^#/ && NF >= 9 && $6 > 0 { print $1, $6 }' "$1"; }

to_bytes() {  # 4M -> 4194304
  awk -v v="$1" 'BEGIN { n = v + 0; u = substr(v, length(v)); if (u == "K") n *= 1024; if (u == "M") n *= 1048576;
    if (u == "G") n *= 1073741824; printf "%d\n", n }'
}
ratio() { [[ $1 == - || $2 == - ]] && echo - || awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

IFS=, read -r -a coll_list <<< "$colls"
IFS=, read -r -a size_list <<< "$sizes"
for coll in "${coll_list[@]}"; do
  for size in "${size_list[@]}"; do
    # Small messages: many iterations, so the figure is the per-call time and not the start.
    n=$iters
    (($(to_bytes "$size") < 65536)) && n=$((iters * 100))
    sweep=(-b "$size" -e "$size" -n "$n" -w 10)
    for ((l = 1; l <= launches; l++)); do
      for net in tcp ucx; do
        STRATA_NET=$net "$bin/strata-run" -n 2 -- "$here/../../tests/mp/on_emulated_hosts.sh" 2 \
          "$bin/${coll}_perf" "${sweep[@]}" -c 0 > "$tmp/out"
        rows "$tmp/out" >> "$tmp/$coll.$net"
      done
      if ((have_mpi)); then
        mpirun --allow-run-as-root --oversubscribe -np 2 --mca pml ucx --mca pml_ucx_tls any --mca pml_ucx_devices any \
          -x UCX_TLS -x UCX_NET_DEVICES "$bin/mpi_coll_perf" -c "$coll" "${sweep[@]}" > "$tmp/out" 2>/dev/null || :
        rows "$tmp/out" >> "$tmp/$coll.mpi"
      fi
    done
  done
done

# Median and spread of a program's times at one size.
stat() {  # file size -> "median min max" or "- - -"
  [[ -s $1 ]] || { echo "- - -"; return; }
  awk -v s="$2" '$1 == s { print $2 }' "$1" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "- - -"; exit }
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR] }'
}
echo "# 2 ranks on 2 emulated hosts, UCX_TLS=tcp over loopback; medians of $launches interleaved launches (min-max)"
printf "%-10s %10s %22s %22s %22s %8s %8s\n" coll bytes "strata tcp us" "strata ucx us" "open mpi ucx us" "ucx/tcp" "ucx/mpi"
for coll in "${coll_list[@]}"; do
  for size in "${size_list[@]}"; do
    bytes=$(to_bytes "$size")
    read -r t tmin tmax < <(stat "$tmp/$coll.tcp" "$bytes")
    read -r u umin umax < <(stat "$tmp/$coll.ucx" "$bytes")
    read -r m mmin mmax < <(stat "$tmp/$coll.mpi" "$bytes")
    printf "%-10s %10s %22s %22s %22s %8s %8s\n" "$coll" "$bytes" "$t ($tmin-$tmax)" "$u ($umin-$umax)" \
      "$m ($mmin-$mmax)" "$(ratio "$t" "$u")" "$(ratio "$m" "$u")"
  done
done
echo "# ucx/tcp and ucx/mpi: the other's time / Strata ucx's time (above 1: Strata ucx is faster)"
