#!/usr/bin/env bash
# The communicator orders its ring by the rack metadata whatever the rank numbering. Ranks are
# numbered round-robin over 4 emulated hosts (STRATA_HOSTID) in 2 racks, the numbering that makes
# a rank-order ring cross racks at every step; the ring printed at INFO must keep each host's and
# each rack's ranks together: "0 4 | 2 6 || 1 5 | 3 7". Once with STRATA_TOPO_FILE (topology.conf
# naming the hosts), once with STRATA_RACK, then every collective is checked on that ring.
#   topology_ring.sh STRATA_RUN HELLO MP_COLLECTIVES FIXTURES_DIR
set -u
run=$1 hello=$2 collectives=$3 fixtures=$4
hosts=(node01 node03 node02 node04)   # rank r runs on hosts[r % 4]: racks alternate
expected='ring: 0 4 | 2 6 || 1 5 | 3 7'
status=0

place_by_file='export STRATA_HOSTID=$(echo node01 node03 node02 node04 | cut -d" " -f$((STRATA_RANK % 4 + 1))); exec "$0" "$@"'
out=$(STRATA_DEBUG=INFO STRATA_DEBUG_SUBSYS=INIT STRATA_TOPO_FILE="$fixtures/topology/two_racks.conf" \
      "$run" -n 8 -- sh -c "$place_by_file" "$hello" 2>&1)
echo "$out" | grep -E "hierarchy|ring:" | sort -u
echo "$out" | grep -q "hierarchy: 2 racks (spine/leaf1: 2 hosts, spine/leaf2: 2 hosts), 4 hosts, 8 ranks" || { echo "FAIL: hierarchy from topology.conf"; status=1; }
[[ $(echo "$out" | grep -c "$expected") -eq 8 ]] || { echo "FAIL: every rank must report '$expected' (topology.conf)"; status=1; }

place_by_rack='export STRATA_HOSTID=h$((STRATA_RANK % 4)) STRATA_RACK=rack$((STRATA_RANK % 2)); exec "$0" "$@"'
out=$(STRATA_DEBUG=INFO STRATA_DEBUG_SUBSYS=INIT "$run" -n 8 -- sh -c "$place_by_rack" "$hello" 2>&1)
echo "$out" | grep -E "hierarchy|ring:" | sort -u
[[ $(echo "$out" | grep -c "$expected") -eq 8 ]] || { echo "FAIL: every rank must report '$expected' (STRATA_RACK)"; status=1; }

# A malformed topology file fails every rank at init, naming the file and line.
out=$(STRATA_TOPO_FILE="$fixtures/topology/malformed/cycle.conf" STRATA_TIMEOUT_MS=20000 "$run" -n 2 "$hello" 2>&1)
echo "$out" | grep -q "cycle.conf:1: switch .a. is inside a cycle" || { echo "FAIL: malformed file must be named with its line"; echo "$out"; status=1; }

# Host topology from an hwloc XML: each local rank takes its GPU and names the nearest NIC.
out=$(STRATA_DEBUG=INFO STRATA_DEBUG_SUBSYS=INIT STRATA_TOPO_XML="$fixtures/hwloc/dgx_8gpu.xml" "$run" -n 3 "$hello" 2>&1)
echo "$out" | grep -E "device:" | sort -u
echo "$out" | grep -q "host: 2 packages, 2 NUMA nodes, 8 cores, 8 GPUs, 4 NICs" || { echo "FAIL: host summary from STRATA_TOPO_XML"; status=1; }
echo "$out" | grep -q "device: GPU2 (cuda2) 0000:2c:00.0, nearest NIC mlx5_1 (PIX)" || { echo "FAIL: rank 2's GPU and NIC"; status=1; }

# Every collective on the reordered ring (shm inside an emulated host, tcp between hosts).
place_small='export STRATA_HOSTID=h$((STRATA_RANK % 2)) STRATA_RACK=rack$((STRATA_RANK % 2)); exec "$0" "$@"'
STRATA_TIMEOUT_MS=60000 "$run" -n 4 -- sh -c "$place_small" "$collectives" --quick > /dev/null || { echo "FAIL: collectives on a topology ring"; status=1; }
exit $status
