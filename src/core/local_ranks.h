// Where a rank stands among the ranks that share its machine's cores: the ranks of its host, and
// those of every emulated host on the same machine (same kernel: STRATA_HOSTID, network
// namespaces), which compete for the same cores. Binding and the wait policy count them all: two
// emulated hosts of one rank each used to bind both ranks to core 0 (2 ranks over tcp, 64 MiB
// all-to-all: 57 ms bound so, 29-33 ms unbound).
#pragma once

#include <vector>

namespace strata {

struct PeerInfo;
class Hierarchy;

struct LocalRanks {
  int index = 0;
  int count = 1;
  bool separateProcesses = true;  // false: thread ranks sharing one process
};

LocalRanks ranksSharingCores(const std::vector<PeerInfo>& peers, const Hierarchy& hierarchy, int rank);

}  // namespace strata
