#!/usr/bin/env bash
# Every collective on the emulated cluster (perf/cluster/cluster.sh: 2 racks x 2 hosts as network
# namespaces, 1 Gbit/s host links, 250 Mbit/s uplinks), 2 ranks per host numbered round-robin
# across racks: shm inside a host, tcp through the shaped bridges between hosts. Once with the
# tuner's choices, then with each allreduce algorithm forced; then MoE dispatch/combine, forwarded
# through one rank per remote host. Needs root and network namespaces: without them the test is
# skipped (exit 77) and says why. The cluster is torn down on any exit.
# With a fourth argument "ucx", the tuner's run is repeated with ucx between the hosts.
#   cluster_collectives.sh CLUSTER_SH MP_COLLECTIVES MOE_EXCHANGE [ucx]
set -u
cluster=$1 collectives=$2 moe=$3 ucx=${4:-}
export STRATA_CLUSTER_PREFIX=stt$$ STRATA_CLUSTER_DIR=/tmp/strata-cluster-test-$$
if [[ $(id -u) -ne 0 ]]; then echo "SKIP: needs root to create network namespaces"; exit 77; fi
if ! ip netns add "stt$$-probe" 2>/dev/null; then echo "SKIP: cannot create network namespaces here"; exit 77; fi
ip netns del "stt$$-probe"
trap '"$cluster" down' EXIT INT TERM
"$cluster" up --racks 2 --hosts-per-rack 2 || { echo "FAIL: cluster up"; exit 1; }
status=0
for algo in "" ring hierarchical tree rabenseifner flat_ring recursive_doubling; do
  echo "== STRATA_ALGO=${algo:-<tuner>}"
  out=$(STRATA_ALGO=$algo STRATA_TIMEOUT_MS=60000 "$cluster" run --ranks-per-host 2 --timeout 240 -- "$collectives" --quick 2>&1)
  rc=$?
  echo "$out" | grep -E "checks passed|FAIL|error|failed" | head -12
  [[ $rc -eq 0 ]] || { echo "FAIL: collectives with STRATA_ALGO=${algo:-<tuner>} (exit $rc)"; status=1; }
  [[ $(echo "$out" | grep -c "checks passed") -eq 8 ]] || { echo "FAIL: not all 8 ranks passed"; status=1; }
done
if [[ $ucx == ucx ]]; then
  echo "== STRATA_NET=ucx (UCX_TLS=tcp)"
  out=$(STRATA_NET=ucx UCX_TLS=tcp UCX_NET_DEVICES=eth0 STRATA_TIMEOUT_MS=60000 "$cluster" run --ranks-per-host 2 --timeout 240 -- "$collectives" --quick 2>&1)
  rc=$?
  echo "$out" | grep -E "checks passed|FAIL|error|failed" | head -12
  [[ $rc -eq 0 ]] || { echo "FAIL: collectives over ucx (exit $rc)"; status=1; }
  [[ $(echo "$out" | grep -c "checks passed") -eq 8 ]] || { echo "FAIL: not all 8 ranks passed over ucx"; status=1; }
fi
echo "== MoE dispatch/combine"
out=$(STRATA_TIMEOUT_MS=60000 "$cluster" run --ranks-per-host 2 --timeout 240 -- "$moe" --quick 2>&1)
rc=$?
echo "$out" | grep -E "checks passed|FAIL|error|failed" | head -12
[[ $rc -eq 0 ]] && echo "$out" | grep -q "4 host(s), forwarded dispatch, all checks passed" || { echo "FAIL: MoE on the cluster (exit $rc)"; status=1; }
exit $status
