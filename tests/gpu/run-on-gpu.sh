#!/usr/bin/env bash
# The GPU half of Strata, on a machine with a GPU, in one go (under 5 minutes): a minimal build
# with what CMake finds there (nvcc and CMake; hwloc, UCX, MPI, GoogleTest and nlohmann-json may
# be absent), the reduction kernels against the host's, the collectives' correctness matrix on
# device memory and the MoE exchange on device memory (2 processes sharing the GPU), all_reduce_perf --memory cuda at 2 and 4 ranks (as
# processes through CUDA IPC and as threads of one process; and once staged through host memory) with results checked, and the device-to-device copy and reduction bandwidth that bound them. Prints a
# summary; everything also goes to $OUT/gpu-report.txt when OUT is set.
#   tests/gpu/run-on-gpu.sh [BUILD_DIR]
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-gpu}
report=${OUT:-$build}/gpu-report.txt
mkdir -p "$build" "$(dirname "$report")"
exec > >(tee "$report") 2>&1

status=0
step() { echo; echo "== $*"; }
note() { echo "$*"; summary+=("$*"); }
summary=()

step "machine"
date -u
nvidia-smi -L 2>/dev/null || echo "nvidia-smi: not available"
command -v nvcc >/dev/null && nvcc --version | tail -1

step "build (minimal: what this machine has)"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
arch=${STRATA_GPU_ARCH:-90}
if ! cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DSTRATA_WERROR=OFF \
     -DCMAKE_CUDA_ARCHITECTURES="$arch" > "$build/configure.log" 2>&1; then
  tail -30 "$build/configure.log"; echo "FAIL: configure"; exit 1
fi
grep -E "^--   \[" "$build/configure.log"
targets=(strata strata_cuda strata-run mp_collectives moe_exchange all_reduce_perf gpu_kernels_check)
if ! cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" > "$build/build.log" 2>&1; then
  tail -40 "$build/build.log"; echo "FAIL: build"; exit 1
fi
bin=$build/bin
module=$build/lib/libstrata_cuda.so
cudart=$(find "$build" /usr/local/cuda*/lib* /usr/local/cuda*/targets/*/lib -name 'libcudart.so*' 2>/dev/null | head -1)
if [[ -z $cudart ]]; then
  cudart=$(python3 -c 'import nvidia.cuda_runtime, os, glob; d=os.path.dirname(nvidia.cuda_runtime.__file__); print((glob.glob(d+"/lib/libcudart.so*") or [""])[0])' 2>/dev/null)
fi

step "GPU"
if ! "$bin/gpu_kernels_check" --probe; then
  echo "no GPU here: nothing more to run"; exit 77
fi

step "reduction kernels against the host kernels (every dtype and op)"
if "$bin/gpu_kernels_check" "$module"; then note "kernels: every dtype and op equal to the host's"; else note "FAIL: kernels"; status=1; fi

step "physical limits"
"$bin/gpu_kernels_check" "$module" --bandwidth | tee "$build/bandwidth.txt"
summary+=("$(grep copy "$build/bandwidth.txt")")

run_checked() {  # run_checked LABEL COMMAND...: runs, keeps the output, notes OK or FAIL
  local label=$1
  shift
  local log="$build/$(echo "$label" | tr ' /' '__').log"
  if timeout 240 "$@" > "$log" 2>&1; then
    note "$label: OK"
  else
    note "FAIL: $label (exit $?): $(tail -3 "$log" | tr '\n' ' ')"
    status=1
  fi
  cat "$log"
}

# The collectives' matrix (every collective, dtype, op) and the MoE exchange (every scenario, both
# backward passes), their buffers device memory, 2 processes sharing the GPU.
for program in mp_collectives moe_exchange; do
  step "$program on device memory: 2 processes sharing the GPU"
  if [[ -n $cudart ]]; then
    STRATA_TEST_CUDART=$cudart STRATA_TEST_CUDART_PREFIX=cuda STRATA_TIMEOUT_MS=120000 \
      run_checked "$program --quick on device memory, 2 ranks" "$bin/strata-run" -n 2 "$bin/$program" --quick
  else
    note "SKIP: $program on device memory: no libcudart.so found for the test's allocations"
  fi
done

for n in 2 4; do
  step "all_reduce_perf --memory cuda, $n processes on one GPU, checked"
  max=1G
  [[ $n -eq 4 ]] && max=256M
  run_checked "all_reduce_perf --memory cuda -n $n" "$bin/strata-run" -n $n "$bin/all_reduce_perf" --memory cuda \
    -b 8 -e $max -f 4 -n 10 -w 2
  grep -E "^ +268435456 " "$build/all_reduce_perf_--memory_cuda_-n_$n.log" | head -1 | sed "s/^/  256 MiB row, $n ranks: /"
done

for t in 2 4; do
  step "all_reduce_perf --memory cuda, $t ranks as threads of one process (-t), checked"
  max=1G
  [[ $t -eq 4 ]] && max=256M
  run_checked "all_reduce_perf --memory cuda -t $t" "$bin/strata-run" -n 1 "$bin/all_reduce_perf" --memory cuda -t $t \
    -b 8 -e $max -f 4 -n 10 -w 2
  grep -E "^ +268435456 " "$build/all_reduce_perf_--memory_cuda_-t_$t.log" | head -1 | sed "s/^/  256 MiB row, $t threads: /"
done

# The runs above take the cuda_ipc allreduce (every rank on this GPU reads the others' memory);
# the same with it off, through pinned host memory, for comparison.
step "all_reduce_perf --memory cuda, 2 threads, staged through host memory (STRATA_CUDA_IPC=0), checked"
run_checked "all_reduce_perf --memory cuda -t 2 staged" env STRATA_CUDA_IPC=0 "$bin/strata-run" -n 1 \
  "$bin/all_reduce_perf" --memory cuda -t 2 -b 8 -e 256M -f 4 -n 10 -w 2
grep -E "^ +268435456 " "$build/all_reduce_perf_--memory_cuda_-t_2_staged.log" | head -1 | sed "s/^/  256 MiB row, 2 threads staged: /"

# The goal: 2 thread ranks, float32 allreduce of 256 MiB, within 1.3x the time its memory traffic
# takes at the copy rate measured above. One-shot on one GPU: each rank reads 2 x S and writes S,
# both ranks at once: 6 x S in all.
copy_gbs=$(sed -n 's/^device-to-device copy 256 MiB: .* ms, \([0-9.]*\) GB\/s.*/\1/p' "$build/bandwidth.txt")
allreduce_us=$(awk '$1 == 268435456 {print $6; exit}' "$build/all_reduce_perf_--memory_cuda_-t_2.log" 2>/dev/null)
if [[ -n $copy_gbs && -n $allreduce_us ]]; then
  note "$(awk -v us="$allreduce_us" -v gbs="$copy_gbs" 'BEGIN {
    floor = 6 * 268435456 / (gbs * 1e9) * 1e6
    printf "goal: 2 threads, 256 MiB float32 allreduce %.0f us, its traffic at the copy rate %.0f us: %.2fx (goal <= 1.3x)", us, floor, us / floor }')"
fi

step "summary ($(date -u +%FT%TZ))"
printf '  %s\n' "${summary[@]}"
echo "  one GPU: every collective but all-to-all-v reads the peers' memory (cuda_ipc, one-shot: a 2-rank allreduce reads 2 x S and writes S per rank)"
exit $status
