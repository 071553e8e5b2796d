#!/usr/bin/env bash
# Runs a rank on an emulated host: with a number H, rank r (STRATA_RANK, from strata-run) is on
# host "h<r % H>"; with a comma list, rank r is on the list's r-th host.
#   strata-run -n 4 -- on_emulated_hosts.sh 2 PROGRAM ARGS...
#   strata-run -n 3 -- on_emulated_hosts.sh a,a,b PROGRAM ARGS...
hosts=$1
shift
if [[ $hosts == *,* ]]; then
  IFS=, read -r -a names <<< "$hosts"
  export STRATA_HOSTID=${names[$STRATA_RANK]:?no host named for rank $STRATA_RANK in $hosts}
else
  export STRATA_HOSTID=h$((STRATA_RANK % hosts))
fi
exec "$@"
