#include "hwloc_discovery.h"

#include <fstream>

#include "nvlink_distances.h"
#include "topology/hwloc_pci.h"
#include "src/common/text_file.h"

#if STRATA_HAVE_HWLOC
#include <hwloc.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#endif

namespace strata {

#if STRATA_HAVE_HWLOC
namespace {

using TopologyHandle = std::unique_ptr<hwloc_topology, void (*)(hwloc_topology_t)>;

std::string cpusetText(hwloc_const_cpuset_t set) {
  if (set == nullptr) return "";
  char* text = nullptr;
  hwloc_bitmap_asprintf(&text, set);
  std::string s = text != nullptr ? text : "";
  free(text);  // NOLINT: hwloc allocates with malloc
  return s;
}

bool isGpu(hwloc_obj_t pci) {
  unsigned cls = pci->attr->pcidev.class_id >> 8;
  return pci->attr->pcidev.vendor_id == 0x10de && cls == 0x03;  // display or 3D controller
}

bool isNicClass(hwloc_obj_t pci) {
  unsigned cls = pci->attr->pcidev.class_id >> 8;
  return cls == 0x02;  // network controller (Ethernet, InfiniBand, ...)
}

// The OS device under a PCI device that names it, preferring OpenFabrics (mlx5_0) to network (ib0).
hwloc_obj_t nicOsDevice(hwloc_obj_t pci) {
  hwloc_obj_t network = nullptr;
  for (hwloc_obj_t child = pci->io_first_child; child != nullptr; child = child->next_sibling) {
    if (child->type != HWLOC_OBJ_OS_DEVICE) continue;
    if (child->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS) return child;
    if (child->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK && network == nullptr) network = child;
  }
  return network;
}

class Builder {
 public:
  Builder(hwloc_topology_t topology, bool local) : topology_(topology), local_(local) {}

  HostTopology build(const std::string& source) {
    HostTopology host;
    host.source = source;
    host.packages = std::max(1, hwloc_get_nbobjs_by_type(topology_, HWLOC_OBJ_PACKAGE));
    host.numaNodes = std::max(1, hwloc_get_nbobjs_by_type(topology_, HWLOC_OBJ_NUMANODE));
    host.cores = hwloc_get_nbobjs_by_type(topology_, HWLOC_OBJ_CORE);
    host.pus = hwloc_get_nbobjs_by_type(topology_, HWLOC_OBJ_PU);
    for (int i = 0; i < hwloc_get_nbobjs_by_type(topology_, HWLOC_OBJ_NUMANODE); ++i) {
      host.numaCpusets.push_back(cpusetText(hwloc_get_obj_by_type(topology_, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i))->cpuset));
    }
    for (int i = 0; i < host.cores; ++i) {
      hwloc_obj_t core = hwloc_get_obj_by_type(topology_, HWLOC_OBJ_CORE, static_cast<unsigned>(i));
      host.coreCpusets.push_back(cpusetText(core->cpuset));
      hwloc_obj_t numa = nullptr;
      if (core->nodeset != nullptr && hwloc_bitmap_weight(core->nodeset) == 1) {
        numa = hwloc_get_numanode_obj_by_os_index(topology_, static_cast<unsigned>(hwloc_bitmap_first(core->nodeset)));
      }
      host.coreNuma.push_back(numa != nullptr ? static_cast<int>(numa->logical_index) : -1);
    }
    for (hwloc_obj_t pci = nullptr; (pci = hwloc_get_next_pcidev(topology_, pci)) != nullptr;) {
      if (isGpu(pci)) {
        HostDevice d = device(host, pci, DeviceKind::Gpu);
        d.name = "GPU" + std::to_string(host.gpus.size());
        // With hwloc's CUDA plugin the GPU carries its CUDA OS device ("cuda0").
        for (hwloc_obj_t child = pci->io_first_child; child != nullptr; child = child->next_sibling) {
          if (child->type == HWLOC_OBJ_OS_DEVICE && child->attr->osdev.type == HWLOC_OBJ_OSDEV_COPROC &&
              child->name != nullptr) {
            d.name += " (" + std::string(child->name) + ")";
          }
        }
        host.gpus.push_back(d);
      } else if (isNicClass(pci)) {
        hwloc_obj_t os = nicOsDevice(pci);
        if (os == nullptr) continue;  // a network controller nobody drives
        HostDevice d = device(host, pci, DeviceKind::Nic);
        d.name = os->name != nullptr ? os->name : pciBusId(pci);
        if (local_ && os->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK) d.speedMbps = linuxNetSpeedMbps(d.name);
        host.nics.push_back(d);
      }
    }
    readNvLinkDistances(topology_, host);
    return host;
  }

 private:
  HostDevice device(HostTopology& host, hwloc_obj_t pci, DeviceKind kind) {
    HostDevice d;
    d.kind = kind;
    d.busId = pciBusId(pci);
    d.pciLinkGBps = pci->attr->pcidev.linkspeed;
    d.bridge = bridgeIndex(host, pci->parent);
    hwloc_obj_t cpuSide = hwloc_get_non_io_ancestor_obj(topology_, pci);
    if (cpuSide != nullptr) {
      d.cpuset = cpusetText(cpuSide->cpuset);
      hwloc_obj_t package = hwloc_get_ancestor_obj_by_type(topology_, HWLOC_OBJ_PACKAGE, cpuSide);
      if (package == nullptr && cpuSide->type == HWLOC_OBJ_PACKAGE) package = cpuSide;
      d.package = package != nullptr ? static_cast<int>(package->os_index) : -1;
      if (cpuSide->nodeset != nullptr && !hwloc_bitmap_iszero(cpuSide->nodeset) &&
          hwloc_bitmap_weight(cpuSide->nodeset) == 1) {
        d.numaNode = hwloc_bitmap_first(cpuSide->nodeset);
      }
    }
    return d;
  }

  // Index of `obj` (a bridge) in host.bridges, adding it and its ancestors on first sight.
  int bridgeIndex(HostTopology& host, hwloc_obj_t obj) {
    if (obj == nullptr || obj->type != HWLOC_OBJ_BRIDGE) return -1;
    auto known = index_.find(obj);
    if (known != index_.end()) return known->second;
    int parent = bridgeIndex(host, obj->parent);
    PciBridge b;
    b.parent = parent;
    b.hostBridge = obj->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_HOST;
    // Depth among PCI-to-PCI bridges below the host bridge: odd = a port, even = a switch.
    int depth = 0;
    for (hwloc_obj_t up = obj; up != nullptr && up->type == HWLOC_OBJ_BRIDGE &&
                               up->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_PCI;
         up = up->parent) {
      ++depth;
    }
    b.switchPort = !b.hostBridge && depth % 2 == 1;
    hwloc_obj_t cpuSide = hwloc_get_non_io_ancestor_obj(topology_, obj);
    hwloc_obj_t package = cpuSide ? hwloc_get_ancestor_obj_by_type(topology_, HWLOC_OBJ_PACKAGE, cpuSide) : nullptr;
    if (package == nullptr && cpuSide != nullptr && cpuSide->type == HWLOC_OBJ_PACKAGE) package = cpuSide;
    b.package = package != nullptr ? static_cast<int>(package->os_index) : -1;
    if (obj->attr->bridge.downstream_type == HWLOC_OBJ_BRIDGE_PCI) {
      char range[32];
      std::snprintf(range, sizeof(range), "%04x:[%02x-%02x]", obj->attr->bridge.downstream.pci.domain,
                    obj->attr->bridge.downstream.pci.secondary_bus, obj->attr->bridge.downstream.pci.subordinate_bus);
      b.busRange = range;
    }
    host.bridges.push_back(b);
    index_[obj] = static_cast<int>(host.bridges.size() - 1);
    return index_[obj];
  }

  hwloc_topology_t topology_;
  bool local_;
  std::map<hwloc_obj_t, int> index_;
};

// hwloc loads its plugins while any topology exists and unloads them with the last one; the PCI
// plugin's libpciaccess then strands what it allocated (LeakSanitizer sees it in an unloaded
// module). One topology kept for the life of the process keeps the plugins loaded, once.
// (Atomic, so the optimiser keeps the pointer in memory where LeakSanitizer finds it.)
std::atomic<hwloc_topology_t> pluginAnchor{nullptr};

void keepHwlocPluginsLoaded() {
  static std::once_flag once;
  std::call_once(once, [] {
    hwloc_topology_t t = nullptr;
    if (hwloc_topology_init(&t) == 0) pluginAnchor.store(t);
  });
}

// Discovery reads sysfs through libudev, which is not safe to enter from two threads at once
// (thread ranks in one process): loads take turns.
std::mutex& loadMutex() {
  static std::mutex mutex;
  return mutex;
}

Result<TopologyHandle> loadTopology(const std::string& xmlPath, bool withIo = true) {
  std::lock_guard<std::mutex> lock(loadMutex());
  keepHwlocPluginsLoaded();
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) return systemError("hwloc_topology_init failed");
  TopologyHandle topology(raw, hwloc_topology_destroy);
  hwloc_topology_set_io_types_filter(raw, withIo ? HWLOC_TYPE_FILTER_KEEP_IMPORTANT : HWLOC_TYPE_FILTER_KEEP_NONE);
  if (!xmlPath.empty()) {
    // Read here (a directory, /dev/zero or a huge file is refused by name), parsed by hwloc.
    auto xml = readTextFile(xmlPath, "topology XML", size_t{64} << 20);
    if (!xml.ok()) return xml.status();
    if (hwloc_topology_set_xmlbuffer(raw, xml.value().data(), static_cast<int>(xml.value().size())) != 0) {
      return invalidArgument("hwloc cannot read topology XML '" + xmlPath + "': not an hwloc XML export (lstopo --of xml)");
    }
  }
  if (hwloc_topology_load(raw) != 0) {
    return invalidArgument("hwloc cannot load the topology" + (xmlPath.empty() ? std::string() : " from '" + xmlPath + "'"));
  }
  return topology;
}

}  // namespace

bool haveHwloc() { return true; }

Result<HostTopology> discoverHostTopology(const std::string& xmlPath) {
  auto topology = loadTopology(xmlPath);
  if (!topology.ok()) return topology.status();
  Builder builder(topology.value().get(), xmlPath.empty());
  return builder.build(xmlPath.empty() ? "hwloc (this host)" : xmlPath);
}

Result<std::string> bindProcessToCpus(const std::string& cpuset) {
  auto topology = loadTopology("", /*withIo=*/false);
  if (!topology.ok()) return topology.status();
  std::unique_ptr<hwloc_bitmap_s, void (*)(hwloc_bitmap_t)> set(hwloc_bitmap_alloc(), hwloc_bitmap_free);
  if (hwloc_bitmap_sscanf(set.get(), cpuset.c_str()) != 0 || hwloc_bitmap_iszero(set.get())) {
    return invalidArgument("cpuset '" + cpuset + "' is not an hwloc cpuset");
  }
  hwloc_const_cpuset_t allowed = hwloc_topology_get_allowed_cpuset(topology.value().get());
  // A launcher that bound the process (mpirun --bind-to, taskset, Slurm's cpu binding) knows best.
  std::unique_ptr<hwloc_bitmap_s, void (*)(hwloc_bitmap_t)> current(hwloc_bitmap_alloc(), hwloc_bitmap_free);
  if (hwloc_get_cpubind(topology.value().get(), current.get(), HWLOC_CPUBIND_PROCESS) == 0 &&
      !hwloc_bitmap_isincluded(allowed, current.get())) {
    return "not bound: already bound to " + cpusetText(current.get()) + " by the launcher";
  }
  hwloc_bitmap_and(set.get(), set.get(), allowed);
  if (hwloc_bitmap_iszero(set.get())) return std::string("not bound: none of cpuset ") + cpuset + " is allowed here";
  if (hwloc_bitmap_isequal(set.get(), allowed)) return std::string("not bound: the near CPUs are all the CPUs allowed");
  if (hwloc_set_cpubind(topology.value().get(), set.get(), HWLOC_CPUBIND_PROCESS) != 0) {
    return systemError("binding to cpuset " + cpusetText(set.get()) + " failed");
  }
  return "bound to cpuset " + cpusetText(set.get());
}

#else

bool haveHwloc() { return false; }

Result<HostTopology> discoverHostTopology(const std::string&) {
  return invalidUsage("Strata was built without hwloc: host topology discovery is off (install libhwloc-dev and rebuild)");
}

Result<std::string> bindProcessToCpus(const std::string&) { return std::string("not bound: built without hwloc"); }

#endif

int linuxNetSpeedMbps(const std::string& interface) {
  std::ifstream in("/sys/class/net/" + interface + "/speed");
  int speed = 0;
  return in >> speed && speed > 0 ? speed : 0;
}

}  // namespace strata
