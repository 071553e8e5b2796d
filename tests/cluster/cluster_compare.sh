#!/usr/bin/env bash
# perf/cluster/compare.sh on a short sweep (8 B to 64 B, one launch per algorithm): the table has a
# row per size with a time for every algorithm and the tuner, the tuner/best ratio, and the 8 KiB
# headline. Checks the script's plumbing, not the figures (those are benchmarks, in README).
# Skipped (exit 77), saying why, without root or network namespaces.
#   cluster_compare.sh COMPARE_SH BIN_DIR
set -u
compare=$1 bin=$2
if [[ $(id -u) -ne 0 ]]; then echo "SKIP: needs root to create network namespaces"; exit 77; fi
if ! ip netns add "stq$$-probe" 2>/dev/null; then echo "SKIP: cannot create network namespaces here"; exit 77; fi
ip netns del "stq$$-probe"
out=$(STRATA_BIN=$bin STRATA_CLUSTER_PREFIX=stq$$ STRATA_CLUSTER_DIR=/tmp/strata-cluster-compare-test-$$ \
      "$compare" -b 8 -e 64 -f 8 --repeat 1 2>&1)
rc=$?
echo "$out"
[[ $rc -eq 0 ]] || { echo "FAIL: compare.sh exited $rc"; exit 1; }
# "size, 6 algorithms, tuner, best name, ratio": 10 fields, every time a positive number.
rows=$(echo "$out" | awk '$1 ~ /^(8|64)$/ && NF == 10 && $2 > 0 && $8 > 0 && $10 > 0' | wc -l)
[[ $rows -eq 2 ]] || { echo "FAIL: expected table rows for 8 and 64 bytes, found $rows"; exit 1; }
echo "$out" | grep -qE "^8 KiB: flat ring [0-9.]+ us, best of tree/recursive doubling [0-9.]+ us" ||
  { echo "FAIL: no 8 KiB line"; exit 1; }
ip netns list | grep -q "^stq$$-" && { echo "FAIL: namespaces left behind"; exit 1; }
echo "compare table ok"
