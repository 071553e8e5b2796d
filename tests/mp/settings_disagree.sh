#!/usr/bin/env bash
# Ranks launched with different values of a setting every rank must share fail init at once,
# every one of them, with the variable named (they would otherwise lay out shared memory or pick
# plans differently). The default window and ring sizes set explicitly differ from leaving them
# unset: unset ones follow the host (larger windows where ranks outnumber cores, smaller rings on
# hosts of more than 16 ranks).
#   settings_disagree.sh HELLO
set -u
hello=$1
# A port below the kernel's ephemeral range, so no outgoing connection of a test running beside
# this one can hold it (20000 + RANDOM % 20000 reached into the range: "Address already in use").
ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
port=$(( 10000 + RANDOM % (ephemeral_low - 10100) ))
status=0
for setting in STRATA_BUFFSIZE=65536 STRATA_BUFFSIZE=4194304 STRATA_SOCKET_NSTREAMS=3 STRATA_ALGO=ring STRATA_WINDOW_BYTES=0 STRATA_RUNTIME_CONNECT=0 \
               STRATA_WINDOW_BYTES=524288 STRATA_DEVICE_CHUNK_BYTES=65536 STRATA_CUDA_IPC=0; do
  port=$((port + 1))
  common=(env -u STRATA_UNIQUE_ID WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port STRATA_JOB_SECRET=job-$port
          STRATA_SOCKET_IFNAME=lo STRATA_TIMEOUT_MS=30000)
  start=$(date +%s)
  "${common[@]}" RANK=0 "$hello" > /tmp/settings_disagree.$port.0 2>&1 &
  first=$!
  "${common[@]}" RANK=1 "$setting" "$hello" > /tmp/settings_disagree.$port.1 2>&1
  second=$?
  wait $first
  first=$?
  took=$(( $(date +%s) - start ))
  name=${setting%%=*}
  for r in 0 1; do
    grep -q "$name differs between ranks" /tmp/settings_disagree.$port.$r || { echo "FAIL: rank $r did not name $name"; cat /tmp/settings_disagree.$port.$r; status=1; }
  done
  [[ $first -ne 0 && $second -ne 0 && $took -lt 20 ]] || { echo "FAIL: $setting: exits $first/$second after $took s"; status=1; }
  echo "$setting on one rank: both ranks failed in $took s naming $name"
  rm -f /tmp/settings_disagree.$port.*
done
exit $status
