#include "rank_device.h"

#include <algorithm>
#include <numeric>
#include <tuple>

namespace strata {

RankDevice chooseRankDevice(const HostTopology& host, int localRank, const NvLinkMap& nvlinks) {
  RankDevice d;
  if (localRank < 0) localRank = 0;
  if (!host.gpus.empty()) {
    d.gpu = localRank % static_cast<int>(host.gpus.size());
    std::vector<int> byLocality(host.gpus.size());
    std::iota(byLocality.begin(), byLocality.end(), 0);
    std::stable_sort(byLocality.begin(), byLocality.end(), [&](int a, int b) {
      const HostDevice& x = host.gpus[static_cast<size_t>(a)];
      const HostDevice& y = host.gpus[static_cast<size_t>(b)];
      return std::tie(x.package, x.busId) < std::tie(y.package, y.busId);
    });
    d.localOrder = static_cast<int>(std::find(byLocality.begin(), byLocality.end(), d.gpu) - byLocality.begin());
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

}  // namespace strata
