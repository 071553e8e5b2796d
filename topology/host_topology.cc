#include "host_topology.h"

#include <algorithm>

namespace strata {
namespace {

// Bridges from the device up to the CPU side, switch downstream ports left out (a switch counts
// once, at its upstream port).
std::vector<int> pathUp(const HostTopology& host, const HostDevice& d) {
  std::vector<int> path;
  for (int b = d.bridge; b >= 0; b = host.bridges[static_cast<size_t>(b)].parent) path.push_back(b);
  return path;
}

std::string plural(int n, const char* one, const char* many) { return std::to_string(n) + " " + (n == 1 ? one : many); }

}  // namespace

std::string HostTopology::summary() const {
  return plural(packages, "package", "packages") + ", " + plural(numaNodes, "NUMA node", "NUMA nodes") + ", " +
         plural(cores, "core", "cores") + ", " + plural(static_cast<int>(gpus.size()), "GPU", "GPUs") + ", " +
         plural(static_cast<int>(nics.size()), "NIC", "NICs");
}

const char* linkClassName(LinkClass c) {
  switch (c) {
    case LinkClass::Same: return "LOC";
    case LinkClass::NvLink: return "NVL";
    case LinkClass::PcieSwitch: return "PIX";
    case LinkClass::PcieSwitches: return "PXB";
    case LinkClass::HostBridge: return "PHB";
    case LinkClass::CrossSocket: return "SYS";
  }
  return "?";
}

const char* linkClassMeaning(LinkClass c) {
  switch (c) {
    case LinkClass::Same: return "same device";
    case LinkClass::NvLink: return "NVLink";
    case LinkClass::PcieSwitch: return "same PCIe switch";
    case LinkClass::PcieSwitches: return "across PCIe switches below one host bridge";
    case LinkClass::HostBridge: return "through a host bridge";
    case LinkClass::CrossSocket: return "across CPU sockets";
  }
  return "?";
}

const NvLinkPair* NvLinkMap::find(int a, int b) const {
  for (const NvLinkPair& p : pairs) {
    if ((p.a == a && p.b == b) || (p.a == b && p.b == a)) return &p;
  }
  return nullptr;
}

bool NvLinkMap::connected(int a, int b) const { return find(a, b) != nullptr; }

LinkClass classifyLink(const HostTopology& host, const HostDevice& a, const HostDevice& b, const NvLinkMap& nvlinks) {
  if (&a == &b || (!a.busId.empty() && a.busId == b.busId)) return LinkClass::Same;
  if (a.kind == DeviceKind::Gpu && b.kind == DeviceKind::Gpu) {
    int ia = static_cast<int>(&a - host.gpus.data()), ib = static_cast<int>(&b - host.gpus.data());
    bool inHost = ia >= 0 && ia < static_cast<int>(host.gpus.size()) && ib >= 0 && ib < static_cast<int>(host.gpus.size());
    if (inHost && nvlinks.connected(ia, ib)) return LinkClass::NvLink;
  }
  std::vector<int> upA = pathUp(host, a), upB = pathUp(host, b);
  // Lowest common bridge, if any.
  int common = -1;
  size_t belowA = 0, belowB = 0;
  for (size_t i = 0; i < upA.size() && common < 0; ++i) {
    auto hit = std::find(upB.begin(), upB.end(), upA[i]);
    if (hit != upB.end()) {
      common = upA[i];
      belowA = i;
      belowB = static_cast<size_t>(hit - upB.begin());
    }
  }
  if (common < 0) {
    bool samePackage = a.package >= 0 && a.package == b.package;
    return samePackage || host.packages <= 1 ? LinkClass::HostBridge : LinkClass::CrossSocket;
  }
  if (host.bridges[static_cast<size_t>(common)].hostBridge) return LinkClass::HostBridge;
  // Below a switch: count switches (not their downstream ports) passed before meeting.
  auto switchesBelow = [&](const std::vector<int>& up, size_t count) {
    int switches = 0;
    for (size_t i = 0; i < count; ++i) {
      if (!host.bridges[static_cast<size_t>(up[i])].switchPort) ++switches;
    }
    return switches;
  };
  return switchesBelow(upA, belowA) + switchesBelow(upB, belowB) == 0 ? LinkClass::PcieSwitch : LinkClass::PcieSwitches;
}

std::vector<int> nearestNics(const HostTopology& host, const NvLinkMap& nvlinks) {
  std::vector<int> choice(host.gpus.size(), -1);
  std::vector<int> load(host.nics.size(), 0);
  for (size_t g = 0; g < host.gpus.size(); ++g) {
    int best = -1;
    LinkClass bestClass = LinkClass::CrossSocket;
    for (size_t n = 0; n < host.nics.size(); ++n) {
      LinkClass c = classifyLink(host, host.gpus[g], host.nics[n], nvlinks);
      bool better = best < 0 || c < bestClass || (c == bestClass && load[n] < load[static_cast<size_t>(best)]);
      if (better) {
        best = static_cast<int>(n);
        bestClass = c;
      }
    }
    choice[g] = best;
    if (best >= 0) ++load[static_cast<size_t>(best)];
  }
  return choice;
}

}  // namespace strata
