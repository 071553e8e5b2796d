#!/usr/bin/env bash
# strata-run forwards SIGTERM to every rank and exits non-zero once they are gone.
#   strata_run_signals.sh STRATA_RUN
set -u
run=$1
marker=$(mktemp -d)
trap 'rm -rf "$marker"' EXIT
# Each rank records that it saw SIGTERM, then exits 3.
"$run" -n 3 -- sh -c "trap 'touch $marker/term.\$STRATA_RANK; exit 3' TERM; sleep 30 & wait" &
launcher=$!
sleep 1
start=$(date +%s)
kill -TERM "$launcher"
wait "$launcher"
status=$?
elapsed=$(( $(date +%s) - start ))
seen=$(ls "$marker" | wc -l)
echo "strata-run exited with $status after ${elapsed}s; $seen of 3 ranks saw SIGTERM"
[[ $status -ne 0 && $elapsed -lt 10 && $seen -eq 3 ]]
