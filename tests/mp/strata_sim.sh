#!/usr/bin/env bash
# strata-sim from the command line: a table with the tuner's choice marked, JSON that parses, a
# Slurm topology file as input, agreement of the aggregated replay with the exact one, the plot,
# and clear errors for bad flags.
#   strata_sim.sh STRATA_SIM FIXTURES_DIR
set -u
sim=$1 fixtures=$2
status=0
fail() { echo "FAIL: $*"; status=1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

out=$("$sim" --racks-per-pod 2 --hosts-per-rack 2 --ranks-per-host 2 --bytes 64K,16M --nic-gbps 100 2>&1) || fail "a small run"
echo "$out"
echo "$out" | grep -q "1 pod, 2 racks, 4 hosts, 8 ranks; numbering block" || fail "cluster line"
[ "$(echo "$out" | grep -Ec '^ +[0-9]+[KMG]? +[a-z_]+ \*')" = 2 ] || fail "one tuner choice per size"
echo "$out" | grep -Eq "^ +16M +hierarchical .* exact " || fail "hierarchical row, exact replay"
echo "$out" | grep -q "peak memory" || fail "time and memory line"

json=$("$sim" --topology-file "$fixtures/topology/two_racks.conf" --hosts 'node[01-04]' --ranks-per-host 2 \
       --numbering round-robin --algorithms ring,flat_ring --json 2>/dev/null) || fail "JSON run"
echo "$json" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["cluster"]["racks"] == 2 and d["cluster"]["ranks"] == 8, d["cluster"]
names = [r["algorithm"] for r in d["results"]]
assert names == ["ring", "flat_ring"], names
ring, flat = d["results"]
# Round-robin numbering: the rank-order ring crosses the racks at every hop, the topology ring twice.
uplink_bytes = lambda r: r["utilisation"]["rack uplinks (up)"] * r["seconds"]
assert uplink_bytes(flat) > 2 * uplink_bytes(ring), (ring, flat)
' || fail "JSON content"

out=$("$sim" --pods 2 --racks-per-pod 2 --hosts-per-rack 4 --ranks-per-host 4 --numbering round-robin \
      --algorithms ring,hierarchical --bytes 4M --compare-exact 2>/dev/null) || fail "--compare-exact"
echo "$out"
echo "$out" | grep -Eo "aggregated [-+][0-9.]+%" | while read -r _ pct; do
  awk -v p="${pct%\%}" 'BEGIN { exit !(p < 15 && p > -15) }' || { echo "FAIL: aggregated $pct off exact"; exit 1; }
done || status=1

if command -v gnuplot > /dev/null; then
  "$sim" --bytes 64K,1M,16M --plot "$work/sim.png" > /dev/null 2>&1 || fail "--plot"
  [ -s "$work/sim.png" ] || fail "no plot written"
else
  echo "gnuplot missing: --plot not checked"
fi

expect_error() {  # expect_error "message part" args...
  local want=$1
  shift
  local err
  if err=$("$sim" "$@" 2>&1 > /dev/null); then fail "accepted: $*"; return; fi
  echo "$err" | grep -q -- "$want" || fail "'$*' should say '$want', said: $err"
}
expect_error "--pods '0'" --pods 0
expect_error "--bytes: '12Q'" --bytes 12Q
expect_error "numbering must be" --numbering diagonal
expect_error "unknown allreduce algorithm 'ring2'" --algorithms ring2
expect_error "--topology-file needs --hosts" --topology-file "$fixtures/topology/two_racks.conf"
expect_error "not in" --topology-file "$fixtures/topology/two_racks.conf" --hosts 'elsewhere[1-2]'
expect_error "--alpha-us takes four" --alpha-us 1,2
expect_error "unknown option" --frobnicate 3
"$sim" --help | grep -q "usage: strata-sim" || fail "--help"
exit $status
