#!/usr/bin/env bash
# Emulated hosts on one machine share its cores: two ranks on two emulated hosts (STRATA_HOSTID)
# must be bound to different cores, as two ranks of one host are, never both to the first one.
#   emulated_hosts_bind_apart.sh STRATA_RUN HELLO
set -u
run=$1 hello=$2
here=$(cd "$(dirname "$0")" && pwd)
cores=$(nproc)
if ((cores < 2)); then echo "SKIP: $cores CPU allowed here: no two cores to bind two ranks to"; exit 77; fi
out=$(STRATA_DEBUG=INFO STRATA_DEBUG_SUBSYS=INIT STRATA_BIND=1 "$run" -n 2 -- "$here/on_emulated_hosts.sh" 2 "$hello" 2>&1)
status=$?
printf '%s\n' "$out" | grep "INIT device:"
if ((status != 0)); then echo "FAIL: the job exited with status $status"; printf '%s\n' "$out" | tail -20; exit 1; fi
mapfile -t sets < <(printf '%s\n' "$out" | sed -n 's/.*INIT device:.*bound to cpuset \([0-9a-fx,]*\).*/\1/p' | sort)
if ((${#sets[@]} != 2)); then
  if printf '%s\n' "$out" | grep -q "not bound: already bound to .* by the launcher"; then
    echo "SKIP: the launcher bound the ranks itself"; exit 77
  fi
  echo "FAIL: expected both ranks to report 'bound to cpuset', got ${#sets[@]}"; exit 1
fi
if [[ ${sets[0]} == "${sets[1]}" ]]; then echo "FAIL: both ranks bound to cpuset ${sets[0]}"; exit 1; fi
echo "PASS: the ranks of two emulated hosts are bound to cpusets ${sets[0]} and ${sets[1]}"
