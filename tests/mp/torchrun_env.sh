#!/usr/bin/env bash
# strataCommInitFromEnv with torchrun's variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT):
# rank 0 hosts the bootstrap root on MASTER_PORT; a wrong STRATA_JOB_SECRET keeps a rank out.
#   torchrun_env.sh HELLO
set -u
hello=$1
# A port below the kernel's ephemeral range, so no outgoing connection of a test running beside
# this one can hold it (20000 + RANDOM % 20000 reached into the range: "Address already in use").
ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
port=$(( 10000 + RANDOM % (ephemeral_low - 10100) ))
common=(env -u STRATA_UNIQUE_ID WORLD_SIZE=3 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port STRATA_JOB_SECRET=job-$port
        STRATA_SOCKET_IFNAME=lo STRATA_TIMEOUT_MS=20000)
pids=()
for r in 0 1 2; do
  "${common[@]}" RANK=$r "$hello" > "/tmp/torchrun_env.$port.$r" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
cat /tmp/torchrun_env.$port.* ; rm -f /tmp/torchrun_env.$port.*
[[ $status -eq 0 ]] || { echo "torchrun-style launch failed"; exit 1; }

# A rank with another job's secret is refused by the root: with a short timeout it fails cleanly.
port=$(( port + 1 ))
"${common[@]}" MASTER_PORT=$port WORLD_SIZE=2 RANK=0 STRATA_TIMEOUT_MS=3000 "$hello" > /dev/null 2>&1 &
good=$!
env -u STRATA_UNIQUE_ID WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port STRATA_JOB_SECRET=other STRATA_SOCKET_IFNAME=lo \
    STRATA_TIMEOUT_MS=3000 RANK=1 "$hello" > /dev/null 2>&1
impostor=$?
wait "$good"
good=$?
echo "wrong-secret rank exit $impostor, rank 0 exit $good (both must fail: the job never forms)"
[[ $impostor -ne 0 && $good -ne 0 ]]
