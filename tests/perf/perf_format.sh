#!/usr/bin/env bash
# Runs one perf tool on 3 ranks with every dtype (and op) checked, and parses its output strictly
# as nccl-tests' format: every row must show #wrong 0. The launcher is strata-run, mpirun, or a
# Slurm-like environment (SLURM_* variables, no MASTER_ADDR, as srun sets them).
#   perf_format.sh TOOL_PATH shm|tcp strata-run STRATA_RUN_PATH
#   perf_format.sh TOOL_PATH shm|tcp threads STRATA_RUN_PATH     (2 processes x -t 2: 4 ranks)
#   perf_format.sh TOOL_PATH shm|tcp mpirun MPIEXEC_PATH
#   perf_format.sh TOOL_PATH shm|tcp slurm
set -euo pipefail
tool_path=$1 transport=$2 launcher=$3 launcher_path=${4:-}
tool=$(basename "$tool_path")
here=$(cd "$(dirname "$0")" && pwd)
ranks=3 root=2
# -b 8 -e 1M -f 32 visits 8, 256, 8K and 256K bytes.
sizes=4 types=12 ops=1
case $tool in all_reduce_perf | reduce_scatter_perf | reduce_perf) ops=5 ;; esac
args=(-b 8 -e 1M -f 32 -d all -o all -n 2 -w 1 -c 1 -r $root)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export STRATA_TRANSPORT=$transport
case $launcher in
  strata-run) "$launcher_path" -n $ranks "$tool_path" "${args[@]}" > "$out/0" ;;
  threads)
    ranks=4
    "$launcher_path" -n 2 "$tool_path" -t 2 "${args[@]}" > "$out/0"
    grep -q "^# nThread 2 " "$out/0" || { echo "perf_format: the header does not say nThread 2"; exit 1; } ;;
  mpirun)
    OMPI_MCA_btl=self,vader STRATA_SOCKET_IFNAME=lo \
      "$launcher_path" --allow-run-as-root --oversubscribe -np $ranks "$tool_path" "${args[@]}" > "$out/0" ;;
  slurm)
    pids=() job=$((200000 + RANDOM))
    for ((r = 0; r < ranks; ++r)); do
      env -u STRATA_UNIQUE_ID -u MASTER_ADDR -u MASTER_PORT -u RANK -u WORLD_SIZE -u OMPI_COMM_WORLD_RANK \
        SLURM_NTASKS=$ranks SLURM_PROCID=$r SLURM_LOCALID=$r SLURM_JOB_ID=$job SLURM_STEP_ID=0 \
        SLURM_STEP_NODELIST=localhost SLURMD_NODENAME=localhost STRATA_SOCKET_IFNAME=lo STRATA_TIMEOUT_MS=60000 \
        "$tool_path" "${args[@]}" > "$out/$r" &
      pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done ;;
  *) echo "perf_format: unknown launcher '$launcher'" >&2; exit 2 ;;
esac
python3 "$here/check_perf_format.py" "$tool" $ranks $((sizes * types * ops)) $root < "$out/0"
