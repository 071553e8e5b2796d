#include "nvlink_distances.h"

#if STRATA_HAVE_HWLOC
#include <algorithm>
#include <cstdio>
#include <numeric>

namespace strata {
namespace {

enum class EndKind { Gpu, Switch, Cpu, Other };

struct End {
  EndKind kind = EndKind::Other;
  int gpu = -1;  // index into host.gpus for EndKind::Gpu
};

std::string busIdOf(hwloc_obj_t pci) {
  char text[32];
  std::snprintf(text, sizeof(text), "%04x:%02x:%02x.%01x", pci->attr->pcidev.domain, pci->attr->pcidev.bus,
                pci->attr->pcidev.dev, pci->attr->pcidev.func);
  return text;
}

// What a matrix object stands for: a GPU's OS device (nvml0, cuda0) or the GPU itself, an
// NVSwitch (a PCI device that is not one of our GPUs, or a Misc object), or a CPU (POWER's NVLink
// ports appear as the Package).
End endOf(hwloc_obj_t obj, const HostTopology& host) {
  End end;
  hwloc_obj_t pci = obj;
  while (pci != nullptr && pci->type == HWLOC_OBJ_OS_DEVICE) pci = pci->parent;
  if (pci != nullptr && pci->type == HWLOC_OBJ_PCI_DEVICE) {
    std::string bus = busIdOf(pci);
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

int findRoot(std::vector<int>& parent, int x) {
  while (parent[static_cast<size_t>(x)] != x)
    x = parent[static_cast<size_t>(x)] = parent[static_cast<size_t>(parent[static_cast<size_t>(x)])];
  return x;
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
  std::vector<End> ends(n);
  for (size_t i = 0; i < n; ++i) ends[i] = endOf(matrix->objs[i], host);

  // Switches joined to each other form one fabric.
  std::vector<int> fabric(n);
  std::iota(fabric.begin(), fabric.end(), 0);
  int switches = 0, cpuLinks = 0;
  for (size_t i = 0; i < n; ++i) {
    if (ends[i].kind == EndKind::Switch) ++switches;
    for (size_t j = 0; j < n; ++j) {
      if (i == j || bandwidth(i, j) <= 0) continue;
      if (ends[i].kind == EndKind::Switch && ends[j].kind == EndKind::Switch) {
        fabric[static_cast<size_t>(findRoot(fabric, static_cast<int>(i)))] = findRoot(fabric, static_cast<int>(j));
      }
      if (i < j && ((ends[i].kind == EndKind::Gpu && ends[j].kind == EndKind::Cpu) ||
                    (ends[i].kind == EndKind::Cpu && ends[j].kind == EndKind::Gpu))) {
        ++cpuLinks;
      }
    }
  }
  // Each GPU's bandwidth into each fabric (keyed by the fabric's root switch).
  std::vector<std::vector<double>> intoFabric(host.gpus.size(), std::vector<double>(n, 0.0));
  for (size_t i = 0; i < n; ++i) {
    if (ends[i].kind != EndKind::Gpu) continue;
    for (size_t s = 0; s < n; ++s) {
      if (ends[s].kind != EndKind::Switch) continue;
      intoFabric[static_cast<size_t>(ends[i].gpu)][static_cast<size_t>(findRoot(fabric, static_cast<int>(s)))] +=
          bandwidth(i, s);
    }
  }
  NvLinkMap map;
  map.switches = switches;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      if (ends[i].kind != EndKind::Gpu || ends[j].kind != EndKind::Gpu || ends[i].gpu >= ends[j].gpu) continue;
      NvLinkPair pair{ends[i].gpu, ends[j].gpu, bandwidth(i, j), false};
      double switched = 0;
      for (size_t f = 0; f < n; ++f) {
        switched += std::min(intoFabric[static_cast<size_t>(pair.a)][f], intoFabric[static_cast<size_t>(pair.b)][f]);
      }
      if (pair.gbps <= 0 && switched > 0) pair.viaSwitch = true;
      pair.gbps += switched;
      if (pair.gbps > 0) map.pairs.push_back(pair);
    }
  }
  hwloc_distances_release(topology, matrix);
  std::sort(map.pairs.begin(), map.pairs.end(),
            [](const NvLinkPair& x, const NvLinkPair& y) { return x.a != y.a ? x.a < y.a : x.b < y.b; });
  // A GPU may appear twice (its NVML and its CUDA OS device): one pair each, the larger figure.
  std::vector<NvLinkPair> unique;
  for (const NvLinkPair& p : map.pairs) {
    if (!unique.empty() && unique.back().a == p.a && unique.back().b == p.b) {
      if (p.gbps > unique.back().gbps) unique.back() = p;
    } else {
      unique.push_back(p);
    }
  }
  map.pairs = std::move(unique);
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
