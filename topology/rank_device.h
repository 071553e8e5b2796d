// Which device of its host a rank drives, and so where it should run: the launcher's local rank
// picks GPU (local rank mod GPUs), as with one GPU per process; a CPU-only rank takes NUMA node
// (local rank mod NUMA nodes), which spreads ranks over the memory controllers. The GPU's place in
// the host's GPU ring (gpu_ring.h: PCIe order, or the best ring of NVLinks) becomes the rank's
// order inside the host ring.
#pragma once

#include <string>

#include "host_topology.h"

namespace strata {

struct RankDevice {
  int gpu = -1;          // index into HostTopology::gpus, -1 none
  int nic = -1;          // its nearest NIC, -1 none
  int numaNode = -1;     // CPU-only ranks: the NUMA node (logical index) they run on
  int localOrder = 0;    // order inside the host's part of the ring
  std::string cpuset;    // CPUs near the device (hwloc cpuset string), "" unknown
  std::string describe;  // "GPU2 (PIX to NIC mlx5_1), CPUs 0x0000000f" for INFO
};

RankDevice chooseRankDevice(const HostTopology& host, int localRank, const NvLinkMap& nvlinks = {});

// A core of its own for local rank `localIndex` of `localCount` CPU-only ranks (one process each),
// spread round-robin over the NUMA nodes: on a host with at least as many cores as ranks this
// keeps two ranks from sharing a core, where every handshake would cost a context switch.
// "" when there are more ranks than cores.
std::string coreForLocalRank(const HostTopology& host, int localIndex, int localCount);

}  // namespace strata
