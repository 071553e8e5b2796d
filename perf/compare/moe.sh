#!/usr/bin/env bash
# Strata's MoE dispatch/combine next to the naive Open MPI exchange (MPI_Alltoallv, one row per
# token-expert pair) on the same ranks and workload, in one run:
#   perf/compare/moe.sh [-n RANKS] [-t shm|tcp] [-- WORKLOAD FLAGS]   (e.g. -- -t 4096 -H 2048 -E 64 -k 8)
# Prints dispatch and combine time of each, the speed-up, and the bytes per token each puts on
# the wire (rows that leave the rank). Both use 2-byte (bfloat16) rows.
set -euo pipefail
ranks=2 transport=shm build=${STRATA_BUILD:-build}
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) ranks=$2; shift 2 ;; -t) transport=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "usage: $0 [-n ranks] [-t shm|tcp] [-- workload flags]" >&2; exit 2 ;;
  esac
done
bin=$build/bin
work=("$@")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
STRATA_TRANSPORT=$transport "$bin/strata-run" -n "$ranks" "$bin/moe_dispatch_perf" -d bfloat16 "${work[@]}" > "$tmp/strata"
btl=(--mca btl vader,self)
[[ $transport == tcp ]] && btl=(--mca btl tcp,self --mca btl_tcp_if_include lo)
if [[ -x $bin/mpi_moe_perf ]] && command -v mpirun >/dev/null; then
  mpirun --allow-run-as-root --oversubscribe -np "$ranks" "${btl[@]}" "$bin/mpi_moe_perf" "${work[@]}" > "$tmp/mpi" 2>/dev/null
else
  echo "moe: the Open MPI peer was not built (no MPI at configure time)" >&2
  : > "$tmp/mpi"
fi
grep '^# moe_dispatch_perf' "$tmp/strata"
echo "# Strata over $transport vs Open MPI ($([[ $transport == tcp ]] && echo "btl tcp" || echo "btl vader")) naive MPI_Alltoallv"
awk '
  FNR == NR { if ($1 !~ /^#/ && NF >= 15) { sd = $8; sc = $11; sw = $15; wrong = $14 } next }
  $1 !~ /^#/ && NF >= 15 { md = $8; mc = $11; mw = $15 }
  END {
    printf "%-10s %12s %12s %8s\n", "", "strata", "mpi", "speedup"
    printf "%-10s %12.1f %12s %8s\n", "dispatch", sd, md ? md : "-", md ? sprintf("%.2f", md / sd) : "-"
    printf "%-10s %12.1f %12s %8s\n", "combine", sc, mc ? mc : "-", mc ? sprintf("%.2f", mc / sc) : "-"
    printf "%-10s %12.0f %12s %8s\n", "B/token", sw, mw ? mw : "-", mw ? sprintf("%.2f", mw / sw) : "-"
    printf "# dispatch/combine in us per call (mean over ranks); Strata #wrong %s\n", wrong
  }' "$tmp/strata" "$tmp/mpi"
