#!/usr/bin/env bash
# End to end with real NCCL on one GPU: two processes, each its own "host" (NCCL_HOSTID), so
# NCCL's P2P and SHM transports are ruled out and its network transport - this plugin - carries
# every byte. Allreduce 8 B .. 256 MiB, each size checked, once through the plugin and once
# through NCCL's own socket transport in the same run, and the log lines that show NCCL loaded
# and used the plugin.
#   plugins/nccl_net/check-with-nccl.sh [BUILD_DIR]     (default: build; built there if missing)
# Needs a GPU, the CUDA runtime and NCCL (CUDA_HOME, default /usr/local/cuda; NCCL_HOME, else
# CUDA_HOME, else the pip package nvidia-nccl-cu*). Exit 77 (skipped) where no GPU is present.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" 2>/dev/null && pwd || echo "${1:-$root/build}")
cuda=${CUDA_HOME:-/usr/local/cuda}

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "check-with-nccl: no GPU on this machine (nvidia-smi finds none): skipped"
  exit 77
fi

nccl=${NCCL_HOME:-}
if [ -z "$nccl" ]; then
  if [ -e "$cuda/include/nccl.h" ]; then
    nccl=$cuda
  else
    nccl=$(python3 -c 'import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__))' 2>/dev/null || true)
  fi
fi
[ -n "$nccl" ] && [ -e "$nccl/include/nccl.h" ] || { echo "check-with-nccl: NCCL not found (set NCCL_HOME)"; exit 1; }
ncclLib=$(ls -d "$nccl"/lib64 "$nccl"/lib 2>/dev/null | head -1)

plugin="$build/lib/libnccl-net-strata.so"
if [ ! -e "$plugin" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSTRATA_BUILD_TESTS=OFF -DSTRATA_BUILD_PERF=OFF >/dev/null
  cmake --build "$build" --target nccl-net-strata -j "$(nproc)" >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
c++ -O2 -std=c++17 -o "$work/nccl_allreduce_check" "$here/check/nccl_allreduce_check.cc" \
  -I"$cuda/include" -I"$nccl/include" -L"$cuda/lib64" -L"$ncclLib" -Wl,-rpath,"$ncclLib:$cuda/lib64" -lnccl -lcudart

run_pair() {  # label, then NCCL_* settings for both ranks
  local label=$1; shift
  local port=$((20000 + RANDOM % 20000))
  echo "== $label"
  for rank in 1 0; do
    env "$@" NCCL_HOSTID="host$rank" NCCL_COMM_ID="127.0.0.1:$port" NCCL_P2P_DISABLE=1 NCCL_SHM_DISABLE=1 \
      NCCL_SOCKET_IFNAME=lo NCCL_MNNVL_ENABLE=0 NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,NET,TUNING \
      timeout 600 "$work/nccl_allreduce_check" "$rank" 2 > "$work/$label.$rank.log" 2>&1 &
  done
  local status=0
  wait || status=$?
  grep -v "NCCL INFO" "$work/$label.0.log" || true
  grep -h "NET/Plugin\|NET/Strata\|Using network\|TUNER/Plugin\|TUNER/Strata\|tuner" "$work/$label.0.log" | sed 's/^/  /' | head -20
  if [ $status -ne 0 ]; then
    echo "check-with-nccl: $label failed (logs follow)"; tail -30 "$work/$label.0.log" "$work/$label.1.log"; return 1
  fi
}

echo "check-with-nccl: $(date -u +%F), $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), NCCL from $nccl"
run_pair strata NCCL_NET_PLUGIN="$plugin" NCCL_NET=Strata
grep -q "Using network Strata" "$work/strata.0.log" || { echo "check-with-nccl: NCCL did not use the plugin"; exit 1; }
run_pair socket NCCL_NET_PLUGIN=none NCCL_NET=Socket
echo "check-with-nccl: ok"
