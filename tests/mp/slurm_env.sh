#!/usr/bin/env bash
# strataCommInitFromEnv under Slurm srun without MASTER_ADDR/MASTER_PORT: the tasks meet at the
# step's first node (SLURM_STEP_NODELIST) on a port derived from the job and step ids. Then task 0
# placed off the first node must fail at once with a message naming MASTER_ADDR.
#   slurm_env.sh HELLO
set -u
hello=$1
# The port is derived from the job id (20000 + (job * 64 + step) % 30000, slurm_rendezvous.cc):
# pick a job whose port no socket on this machine holds, or a parallel test's connection may
# make the root's bind fail with EADDRINUSE (seen in CI).
for _ in $(seq 100); do
  job=$(( 100000 + RANDOM ))
  port=$(( 20000 + (job * 64) % 30000 ))
  [[ -z $(ss -Htan "( sport = :$port )" 2>/dev/null) ]] && break
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
common=(env -u STRATA_UNIQUE_ID -u MASTER_ADDR -u MASTER_PORT -u RANK -u WORLD_SIZE -u OMPI_COMM_WORLD_RANK
        SLURM_NTASKS=3 SLURM_JOB_ID=$job SLURM_STEP_ID=0 SLURM_STEP_NODELIST='localhost,nowhere[1-2]'
        SLURMD_NODENAME=localhost STRATA_SOCKET_IFNAME=lo STRATA_TIMEOUT_MS=20000 STRATA_DEBUG=INFO)
pids=()
for r in 0 1 2; do
  "${common[@]}" SLURM_PROCID=$r "$hello" > "$out/$r" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
cat "$out"/*
[[ $status -eq 0 ]] || { echo "Slurm launch without MASTER_ADDR failed"; exit 1; }
grep -q "slurm (first node localhost, port" "$out/0" || { echo "INFO does not name the Slurm rendezvous"; exit 1; }

"${common[@]}" SLURM_PROCID=0 SLURMD_NODENAME=elsewhere "$hello" > "$out/misplaced" 2>&1
misplaced=$?
cat "$out/misplaced"
[[ $misplaced -ne 0 ]] && grep -q "set MASTER_ADDR" "$out/misplaced"
