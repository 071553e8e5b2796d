// NVLink between the GPUs of this host, from the NVIDIA management library loaded at run time
// (dlopen libnvidia-ml.so.1), so Strata neither links nor needs it. Absent library, no driver or
// no NVLink: an empty map, and the reason for INFO.
#pragma once

#include <string>

#include "host_topology.h"

namespace strata {

struct NvLinkDiscovery {
  NvLinkMap map;
  std::string note;  // "NVML not available (...): PCIe only" or "NVLink: 28 GPU pairs"
};

NvLinkDiscovery discoverNvLinks(const HostTopology& host);

}  // namespace strata
