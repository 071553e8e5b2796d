#include "nvlink_distances.h"

#if STRATA_HAVE_HWLOC
#include <algorithm>

#include "topology/hwloc_pci.h"

namespace strata {
namespace {

enum class EndKind { Gpu, Switch, Cpu, Other };

struct End {
  EndKind kind = EndKind::Other;
  int gpu = -1;  // index into host.gpus for EndKind::Gpu
};

// What a matrix object stands for: a GPU's OS device (nvml0, cuda0) or the GPU itself, an
// NVSwitch (a PCI device that is not one of our GPUs, or a Misc object), or a CPU (POWER's NVLink
// ports appear as the Package).
End endOf(hwloc_obj_t obj, const HostTopology& host) {
  End end;
  hwloc_obj_t pci = obj;
  while (pci != nullptr && pci->type == HWLOC_OBJ_OS_DEVICE) pci = pci->parent;
  if (pci != nullptr && pci->type == HWLOC_OBJ_PCI_DEVICE) {
    std::string bus = pciBusId(pci);
    for (size_t g = 0; g < host.gpus.size(); ++g) {
      if (host.gpus[g].busId == bus) return End{EndKind::Gpu, static_cast<int>(g)};
    }
    end.kind = EndKind::Switch;
  } else if (obj->type == HWLOC_OBJ_MISC || obj->type == HWLOC_OBJ_BRIDGE) {
    end.kind = EndKind::Switch;
  } else if (obj->cpuset != nullptr) {
    end.kind = EndKind::Cpu;
  }
  return end;
}


}  // namespace

void readNvLinkDistances(hwloc_topology_t topology, HostTopology& host) {
  unsigned count = 1;
  hwloc_distances_s* matrix = nullptr;
  if (hwloc_distances_get_by_name(topology, "NVLinkBandwidth", &count, &matrix, 0) != 0 || count == 0 ||
      matrix == nullptr) {
    return;
  }
  const size_t n = matrix->nbobjs;
  auto bandwidth = [&](size_t i, size_t j) { return static_cast<double>(matrix->values[i * n + j]) / 1000.0; };  // MB/s
  // Each GPU once: a GPU named twice (its NVML and its CUDA OS device) counts by its first.
  std::vector<End> ends(n);
  std::vector<bool> seen(host.gpus.size(), false);
  for (size_t i = 0; i < n; ++i) {
    ends[i] = endOf(matrix->objs[i], host);
    if (ends[i].kind != EndKind::Gpu) continue;
    if (seen[static_cast<size_t>(ends[i].gpu)]) ends[i].kind = EndKind::Other;
    seen[static_cast<size_t>(ends[i].gpu)] = true;
  }
  // The NVSwitches of a host form one fabric: NVML names the switch port each GPU link ends at,
  // not how the switches join, so, as hwloc's merge-switch-ports transform and PyTorch do, every
  // switch is taken to reach every other. A GPU's bandwidth into the fabric is the sum of its
  // links to switches.
  std::vector<double> intoFabric(host.gpus.size(), 0.0);
  int switches = 0, cpuLinks = 0;
  for (size_t i = 0; i < n; ++i) {
    if (ends[i].kind == EndKind::Switch) ++switches;
    if (ends[i].kind != EndKind::Gpu) continue;
    for (size_t j = 0; j < n; ++j) {
      if (bandwidth(i, j) <= 0) continue;
      if (ends[j].kind == EndKind::Switch) intoFabric[static_cast<size_t>(ends[i].gpu)] += bandwidth(i, j);
      if (ends[j].kind == EndKind::Cpu) ++cpuLinks;
    }
  }
  NvLinkMap map;
  map.switches = switches;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      if (ends[i].kind != EndKind::Gpu || ends[j].kind != EndKind::Gpu || ends[i].gpu >= ends[j].gpu) continue;
      NvLinkPair pair{ends[i].gpu, ends[j].gpu, bandwidth(i, j), false};
      const double switched =
          std::min(intoFabric[static_cast<size_t>(pair.a)], intoFabric[static_cast<size_t>(pair.b)]);
      if (pair.gbps <= 0 && switched > 0) pair.viaSwitch = true;
      pair.gbps += switched;
      if (pair.gbps > 0) map.pairs.push_back(pair);
    }
  }
  hwloc_distances_release(topology, matrix);
  std::sort(map.pairs.begin(), map.pairs.end(),
            [](const NvLinkPair& x, const NvLinkPair& y) { return x.a != y.a ? x.a < y.a : x.b < y.b; });
  int switched = static_cast<int>(
      std::count_if(map.pairs.begin(), map.pairs.end(), [](const NvLinkPair& p) { return p.viaSwitch; }));
  host.nvlinkNote = "NVLink (hwloc NVLinkBandwidth distances): " + std::to_string(map.pairs.size()) + " GPU pairs";
  if (switched > 0)
    host.nvlinkNote += ", " + std::to_string(switched) + " through " + std::to_string(switches) + " NVSwitches";
  if (cpuLinks > 0) host.nvlinkNote += "; " + std::to_string(cpuLinks) + " GPU-CPU links (not used between GPUs)";
  host.nvlinks = std::move(map);
}

}  // namespace strata
#endif
