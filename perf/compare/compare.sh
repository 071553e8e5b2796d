#!/usr/bin/env bash
# Strata all_reduce_perf next to a peer, same machine, same run, same sizes:
#   -p mpi   Open MPI's MPI_Allreduce (btl vader for -t shm, btl tcp over loopback for -t tcp)
#   -p gloo  Gloo's AllreduceRingChunked over TCP loopback
#   perf/compare/compare.sh [-n RANKS] [-t shm|tcp] [-p mpi|gloo] [-b MIN] [-e MAX] [-f FACTOR] [-i ITERS] [BUILD_DIR]
# Prints one row per size: time per call (us) and busbw (GB/s, out-of-place) of each, and the
# ratio of busbw Strata / peer.
set -euo pipefail
ranks=2 transport=shm peer=mpi min=8 max=256M factor=4 iters=20 build=build
while getopts "n:t:p:b:e:f:i:" opt; do
  case $opt in
    n) ranks=$OPTARG ;; t) transport=$OPTARG ;; p) peer=$OPTARG ;; b) min=$OPTARG ;; e) max=$OPTARG ;;
    f) factor=$OPTARG ;; i) iters=$OPTARG ;; *) echo "usage: $0 [-n ranks] [-t shm|tcp] [-p mpi|gloo] [-b min] [-e max] [-f factor] [-i iters] [build]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[[ $# -gt 0 ]] && build=$1
bin=$build/bin
[[ -x $bin/all_reduce_perf ]] || { echo "compare: $bin/all_reduce_perf not built" >&2; exit 1; }

strata_env=(env STRATA_TRANSPORT="$transport")
mpi_btl=(--mca btl vader,self)
[[ $transport == tcp ]] && mpi_btl=(--mca btl tcp,self --mca btl_tcp_if_include lo)
sweep=(-b "$min" -e "$max" -f "$factor" -n "$iters" -w 3)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${strata_env[@]}" "$bin/strata-run" -n "$ranks" "$bin/all_reduce_perf" "${sweep[@]}" -c 0 > "$tmp/strata.txt"
case $peer in
  mpi)
    peer_name="Open MPI ($([[ $transport == tcp ]] && echo "btl tcp,self" || echo "btl vader,self"))"
    if [[ -x $bin/mpi_all_reduce_perf ]] && command -v mpirun >/dev/null; then
      mpirun --allow-run-as-root --oversubscribe -np "$ranks" "${mpi_btl[@]}" "$bin/mpi_all_reduce_perf" "${sweep[@]}" > "$tmp/peer.txt" 2>/dev/null
    else
      echo "compare: Open MPI comparison program not built (no MPI found at configure time)" >&2
      : > "$tmp/peer.txt"
    fi ;;
  gloo)
    peer_name="Gloo ring-chunked (tcp loopback)"
    if [[ -x $bin/gloo_all_reduce_perf ]]; then
      mkdir -p "$tmp/store"
      "$bin/strata-run" -n "$ranks" "$bin/gloo_all_reduce_perf" "$tmp/store" "${sweep[@]}" > "$tmp/peer.txt"
    else
      echo "compare: Gloo comparison program not built (libgloo-dev not found at configure time)" >&2
      : > "$tmp/peer.txt"
    fi ;;
  *) echo "compare: unknown peer '$peer' (mpi or gloo)" >&2; exit 2 ;;
esac

echo "# allreduce float sum, $ranks ranks, Strata over $transport vs $peer_name (out-of-place)"
printf "%12s %12s %12s %12s %12s %8s\n" "size(B)" "strata_us" "peer_us" "strata_bw" "peer_bw" "ratio"
awk '
  FNR == NR { if ($1 !~ /^#/ && NF >= 8) { st[$1] = $6; sb[$1] = $8; order[++n] = $1 } next }
  $1 !~ /^#/ && NF >= 8 { pt[$1] = $6; pb[$1] = $8 }
  END {
    for (i = 1; i <= n; ++i) {
      s = order[i]
      ratio = (pb[s] > 0) ? sprintf("%.2f", sb[s] / pb[s]) : "-"
      printf "%12s %12s %12s %12s %12s %8s\n", s, st[s], (s in pt) ? pt[s] : "-", sb[s], (s in pb) ? pb[s] : "-", ratio
    }
  }' "$tmp/strata.txt" "$tmp/peer.txt"
