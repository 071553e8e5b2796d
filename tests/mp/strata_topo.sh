#!/usr/bin/env bash
# strata-topo on this machine and on described inputs: host devices, NIC pairing and NVLink from an
# hwloc XML, the rack-contiguous ring for a round-robin numbering, JSON and DOT output, and its errors.
#   strata_topo.sh STRATA_TOPO FIXTURES_DIR
set -u
topo=$1 fixtures=$2
status=0
fail() { echo "FAIL: $*"; status=1; }

out=$("$topo") || fail "strata-topo on this machine"
echo "$out" | grep -q "^Tuner" || fail "no tuner table"
echo "$out" | grep -Eq "^  allreduce +1 GiB +[a-z_]+ " || fail "no 1 GiB allreduce row"

out=$("$topo" --xml "$fixtures/hwloc/dgx_8gpu.xml")
echo "$out" | sed -n '1,16p'
echo "$out" | grep -q "GPU5 -> NIC mlx5_2 (same PCIe switch)" || fail "GPU5's NIC"
echo "$out" | grep -Eq "GPU0 +LOC +PIX +PXB +PXB +SYS" || fail "GPU0's link classes"

# NVLink from hwloc's NVLinkBandwidth distances: a hybrid cube-mesh's ring uses NVLink for every
# hop (PCIe order would cross the sockets twice); NVSwitch fabrics join every pair.
out=$("$topo" --xml "$fixtures/hwloc/dgx1_8gpu.xml")
echo "$out" | grep -E "NVLink|GPU ring|^Ring"
echo "$out" | grep -Eq "GPU0 +LOC +NVL +NVL +NVL +NVL +SYS +SYS +SYS" || fail "dgx1: GPU0's NVLinks"
echo "$out" | grep -q "16 pairs 25 GB/s direct" || fail "dgx1: NVLink bandwidth"
echo "$out" | grep -q "Ring (| host, || rack boundary): 0 1 2 3 7 5 6 4" || fail "dgx1: ring over NVLink"
out=$("$topo" --xml "$fixtures/hwloc/dgx2_16gpu.xml" --json)
python3 -c 'import json,sys; h=json.load(sys.stdin)["host"]; p=h["nvlink_pairs"]; sys.exit(0 if len(p)==120 and all(x["via_switch"] and x["gbps"]==150 for x in p) else 1)' \
  <<< "$out" || fail "dgx2: 120 pairs through NVSwitch in the JSON"

out=$("$topo" --hosts 'node[01-04]' --topology-file "$fixtures/topology/two_racks.conf" --ranks-per-host 2 \
      --numbering round-robin --cores 2)
echo "$out" | grep -E "Cluster|Ring|allreduce +(8 B|64 MiB)"
echo "$out" | grep -q "Ring (| host, || rack boundary): 0 4 | 1 5 || 2 6 | 3 7" || fail "ring order"

# The NCCL plugin tuner's table: NCCL's ring crosses the two racks twice; trees for small
# allreduces, the ring with Simple for 1 GiB; collectives NCCL has no tree for show "-".
out=$("$topo" --hosts 'node[01-04]' --topology-file "$fixtures/topology/two_racks.conf" --ranks-per-host 8 --nccl-tuner)
echo "$out" | sed -n '1,3p'
echo "$out" | grep -q "ring crosses racks 2 times" || fail "tuner: ring crossings"
echo "$out" | grep -Eq "^ +8 .* tree/LL$" || fail "tuner: 8-byte allreduce pick"
echo "$out" | grep -Eq "^ +1073741824 .* ring/Simple$" || fail "tuner: 1 GiB allreduce pick"
echo "$out" | sed -n '/^allgather/,$p' | grep -Eq "^ +8 +- +- +- " || fail "tuner: allgather has no tree entries"
echo "$out" | sed -n '/factor the tuner multiplies/,$p' | grep -Eq "^ +8 +1\.[0-9]*[1-9]" || fail "tuner: no rack factor above 1"

json=$("$topo" --hosts 'n[1-2]' --ranks-per-host 2 --numbering round-robin --json)
echo "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["ring"] == [0, 2, 1, 3], d["ring"]; assert d["choices"] and d["cluster"]["racks"]' \
  || fail "JSON ring and choices"
# Host names are bytes from files and hosts: quotes, control characters and bytes that are not
# UTF-8 must still come out as JSON that parses.
odd=$(printf 'a"b\\c,d\001e,f\377g')
json=$("$topo" --hosts "$odd" --ranks-per-host 1 --json) || fail "strata-topo with odd host names"
echo "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); hosts=d["cluster"]["racks"][0]["hosts"]; assert len(hosts) == 3 and "a\"b\\c" in hosts, hosts' \
  || fail "JSON with odd host names does not parse"

dotText=$("$topo" --hosts 'node[01-04]' --topology-file "$fixtures/topology/two_racks.conf" --dot)
echo "$dotText" | grep -q "subgraph cluster_1" || fail "DOT racks"
if command -v dot > /dev/null; then
  echo "$dotText" | dot -Tsvg > /dev/null || fail "dot cannot render the DOT output"
else
  echo "note: graphviz not installed, DOT output not rendered"
fi

"$topo" --no-such-option > /dev/null 2>&1; [[ $? -eq 2 ]] || fail "unknown option must exit 2"
err=$("$topo" --topology-file "$fixtures/topology/malformed/unknown_key.conf" 2>&1); [[ $? -ne 0 ]] || fail "malformed file accepted"
echo "$err" | grep -q "unknown_key.conf:1: unknown key 'Colour'" || fail "malformed file message: $err"
err=$("$topo" --hosts 'n[1-' 2>&1); [[ $? -ne 0 ]] && echo "$err" | grep -q "hostlist" || fail "bad hostlist"
# Files that are not configuration files: each a clear error, never a crash or an endless read.
for bad in /dev/zero "$fixtures" /no/such/file; do
  for flag in --topology-file --cost-file --xml; do
    err=$(timeout 20 "$topo" $flag "$bad" 2>&1); rc=$?
    [[ $rc -ne 0 && $rc -lt 124 ]] || fail "$flag $bad: exit $rc"
    echo "$err" | grep -Eq "directory|larger than|cannot read|No such file" || fail "$flag $bad: message '$err'"
  done
done
exit $status
