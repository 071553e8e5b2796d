#!/usr/bin/env bash
# Runs a rank on an emulated host: rank r (STRATA_RANK, from strata-run) on host "h<r % HOSTS>".
#   strata-run -n 4 -- on_emulated_hosts.sh 2 PROGRAM ARGS...
hosts=$1
shift
export STRATA_HOSTID=h$((STRATA_RANK % hosts))
exec "$@"
