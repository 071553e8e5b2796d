// Inside one host: packages, NUMA nodes, the PCIe tree and the devices that matter to
// communication (GPUs and NICs), as discovered by hwloc or loaded from an hwloc XML export.
// Plain data, so tests build it from fixtures and strata-topo prints it.
#pragma once

#include <string>
#include <vector>

namespace strata {

// A PCI bridge on some device's path to the CPUs.
struct PciBridge {
  int parent = -1;           // index of the bridge above, -1: attached to the CPU side
  bool hostBridge = false;   // host-to-PCI bridge (root complex)
  bool switchPort = false;   // a PCIe switch's downstream port: belongs to the switch above it
  int package = -1;          // CPU package the bridge hangs off (-1 unknown)
  std::string busRange;      // "0000:[04-07]", for display
};

enum class DeviceKind { Gpu, Nic };

struct HostDevice {
  DeviceKind kind = DeviceKind::Gpu;
  std::string name;     // GPU: "GPU0"; NIC: its OS device ("mlx5_0", "eth0")
  std::string busId;    // "0000:07:00.0"
  int numaNode = -1;    // OS index of the nearest NUMA node (-1 unknown)
  int package = -1;     // OS index of the CPU package (-1 unknown)
  int bridge = -1;      // the bridge directly above (index into HostTopology::bridges), -1: none
  double pciLinkGBps = 0;  // PCIe link bandwidth hwloc reports (0 unknown)
  int speedMbps = 0;       // NIC line rate when the OS reports it (0 unknown)
  std::string cpuset;      // hwloc cpuset string of the CPUs near it
};

// Two GPUs (by index into HostTopology::gpus) joined by NVLink, directly or through NVSwitches.
struct NvLinkPair {
  int a = -1, b = -1;
  double gbps = 0;         // one direction's bandwidth, all links together (0 unknown)
  bool viaSwitch = false;  // through an NVSwitch fabric rather than links of their own
};

// The NVLink pairs of a host; empty when neither hwloc's distances nor NVML report any.
struct NvLinkMap {
  std::vector<NvLinkPair> pairs;
  int switches = 0;  // NVSwitches seen (0 none or unknown)
  bool connected(int a, int b) const;
  const NvLinkPair* find(int a, int b) const;  // nullptr when not joined
  bool empty() const { return pairs.empty(); }
};

struct HostTopology {
  std::string source;  // "hwloc (this host)" or the XML file
  int packages = 0;
  int numaNodes = 0;
  int cores = 0;
  int pus = 0;
  std::vector<PciBridge> bridges;
  std::vector<HostDevice> gpus;
  std::vector<HostDevice> nics;
  std::vector<std::string> numaCpusets;  // per NUMA node (by logical index), hwloc cpuset strings
  std::vector<std::string> coreCpusets;  // per core (by logical index), hwloc cpuset strings
  std::vector<int> coreNuma;             // per core, the logical index of its NUMA node (-1 unknown)
  // NVLink from hwloc's "NVLinkBandwidth" distances (its NVML backend on a live host, or an XML
  // export of a GPU server), and what the matrix held besides GPU pairs, for INFO.
  NvLinkMap nvlinks;
  std::string nvlinkNote;

  // "2 packages, 2 NUMA nodes, 64 cores, 8 GPUs, 4 NICs".
  std::string summary() const;
};

// How two devices of one host reach each other, best first, as NCCL's path types.
enum class LinkClass {
  Same,         // LOC: the same device
  NvLink,       // NVL: direct NVLink (or through NVSwitch)
  PcieSwitch,   // PIX: below one PCIe switch
  PcieSwitches, // PXB: across several PCIe switches, not through the host bridge
  HostBridge,   // PHB: through a host bridge, one CPU package
  CrossSocket,  // SYS: across the CPU interconnect between packages
};

const char* linkClassName(LinkClass c);    // "PIX", ...
const char* linkClassMeaning(LinkClass c);  // "same PCIe switch", ...

LinkClass classifyLink(const HostTopology& host, const HostDevice& a, const HostDevice& b, const NvLinkMap& nvlinks = {});

// For each GPU, the index of its nearest NIC (best link class, then fewest GPUs already sharing
// it, then lowest index); -1 when the host has no NIC.
std::vector<int> nearestNics(const HostTopology& host, const NvLinkMap& nvlinks = {});

}  // namespace strata
