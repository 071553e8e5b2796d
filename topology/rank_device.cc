#include "rank_device.h"

#include <algorithm>
#include <vector>

#include "gpu_ring.h"

namespace strata {

RankDevice chooseRankDevice(const HostTopology& host, int localRank, const NvLinkMap& nvlinks) {
  RankDevice d;
  if (localRank < 0) localRank = 0;
  if (!host.gpus.empty()) {
    d.gpu = localRank % static_cast<int>(host.gpus.size());
    std::vector<int> ring = gpuRingOrder(host, nvlinks);
    d.localOrder = static_cast<int>(std::find(ring.begin(), ring.end(), d.gpu) - ring.begin());
    const HostDevice& gpu = host.gpus[static_cast<size_t>(d.gpu)];
    d.cpuset = gpu.cpuset;
    d.nic = nearestNics(host, nvlinks)[static_cast<size_t>(d.gpu)];
    d.describe = gpu.name + " " + gpu.busId;
    if (d.nic >= 0) {
      const HostDevice& nic = host.nics[static_cast<size_t>(d.nic)];
      d.describe += ", nearest NIC " + nic.name + " (" + linkClassName(classifyLink(host, gpu, nic, nvlinks)) + ")";
    }
  } else if (!host.numaCpusets.empty()) {
    d.numaNode = localRank % static_cast<int>(host.numaCpusets.size());
    d.cpuset = host.numaCpusets[static_cast<size_t>(d.numaNode)];
    d.localOrder = d.numaNode;
    d.describe = "host memory on NUMA node " + std::to_string(d.numaNode);
  } else {
    d.describe = "host memory";
  }
  if (!d.cpuset.empty()) d.describe += ", near CPUs " + d.cpuset;
  return d;
}

std::string coreForLocalRank(const HostTopology& host, int localIndex, int localCount) {
  const int cores = static_cast<int>(host.coreCpusets.size());
  if (localCount <= 0 || localCount > cores || localIndex < 0 || localIndex >= localCount) return "";
  const int numas = std::max<int>(1, static_cast<int>(host.numaCpusets.size()));
  std::vector<std::vector<int>> coresOf(static_cast<size_t>(numas));
  for (int c = 0; c < cores; ++c) {
    int numa = c < static_cast<int>(host.coreNuma.size()) ? host.coreNuma[static_cast<size_t>(c)] : -1;
    coresOf[static_cast<size_t>(numa >= 0 && numa < numas ? numa : 0)].push_back(c);
  }
  // Deal ranks to NUMA nodes in turn, each taking that node's next free core.
  std::vector<size_t> next(static_cast<size_t>(numas), 0);
  int chosen = -1;
  for (int i = 0, numa = 0; i <= localIndex; numa = (numa + 1) % numas) {
    auto& list = coresOf[static_cast<size_t>(numa)];
    if (next[static_cast<size_t>(numa)] >= list.size()) continue;
    chosen = list[next[static_cast<size_t>(numa)]++];
    ++i;
  }
  return chosen >= 0 ? host.coreCpusets[static_cast<size_t>(chosen)] : "";
}

}  // namespace strata
