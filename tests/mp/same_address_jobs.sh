#!/usr/bin/env bash
# Two independent jobs with the same address, port and job secret, in two network namespaces at
# once (two containers launched alike), several times: neither may see the other's shared memory
# (it used to be named after the address and secret, and collided), and every run must succeed.
# Needs root for the namespaces; skipped (exit 77) otherwise. Namespaces go on any exit.
#   same_address_jobs.sh HELLO
set -u
hello=$1
prefix=stsa$$
if [[ $(id -u) -ne 0 ]] || ! ip netns add "$prefix-a" 2>/dev/null; then
  echo "SKIP: cannot create network namespaces here (needs root)"; exit 77
fi
cleanup() { ip netns del "$prefix-a" 2>/dev/null; ip netns del "$prefix-b" 2>/dev/null; rm -f /tmp/$prefix.*; }
trap cleanup EXIT INT TERM
ip netns add "$prefix-b"
for ns in a b; do
  ip -n "$prefix-$ns" link set lo up
  ip -n "$prefix-$ns" addr add 198.18.250.1/32 dev lo
done
status=0
for trial in 1 2 3 4 5; do
  pids=()
  for ns in a b; do
    for r in 0 1 2; do
      ip netns exec "$prefix-$ns" env -u STRATA_UNIQUE_ID WORLD_SIZE=3 RANK=$r MASTER_ADDR=198.18.250.1 MASTER_PORT=29555 \
        STRATA_JOB_SECRET=same-job STRATA_SOCKET_IFNAME=lo STRATA_TIMEOUT_MS=20000 "$hello" \
        > "/tmp/$prefix.$trial.$ns.$r" 2>&1 &
      pids+=($!)
    done
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
  [[ $status -eq 0 ]] || { echo "FAIL: trial $trial"; cat /tmp/$prefix.$trial.*; break; }
done
leftovers=$(ls /dev/shm | grep -c '^strata' || true)
[[ $leftovers -eq 0 ]] || { echo "FAIL: $leftovers strata entries left in /dev/shm"; status=1; }
[[ $status -eq 0 ]] && echo "5 trials x 2 jobs on the same address, port and secret: all passed"
exit $status
