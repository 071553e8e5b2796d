#!/usr/bin/env bash
# Runs split_leader_exits TRIALS times over tcp (where the lost root showed most: 26 of 30).
#   split_leader_exits.sh STRATA_RUN PROGRAM TRIALS
set -u
run=$1 program=$2 trials=$3
for ((t = 1; t <= trials; t++)); do
  STRATA_TRANSPORT=tcp STRATA_TIMEOUT_MS=20000 "$run" -n 3 "$program" > /tmp/split_leader_exits.$$ 2>&1 \
    || { cat /tmp/split_leader_exits.$$; rm -f /tmp/split_leader_exits.$$; echo "FAIL: trial $t"; exit 1; }
done
rm -f /tmp/split_leader_exits.$$
echo "$trials trials: every member's split succeeded while its leader exited at once"
