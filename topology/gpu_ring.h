// The order in which a host's GPUs sit in its part of the ring. Without NVLink it is PCIe order
// (package, then bus id: GPUs below one switch are adjacent). With NVLink it is the ring whose
// slowest hop is best and, among those, whose hops are best in sum (link classes, NVLink first),
// so that on a hybrid cube-mesh (DGX-1) every hop is an NVLink where PCIe order would cross the
// CPUs twice. A bounded search: exact for the GPU counts of real servers, the best ring found so
// far past the bound.
#pragma once

#include <vector>

#include "host_topology.h"

namespace strata {

// GPU indices (into host.gpus) in ring order; starts with the first GPU in PCIe order.
std::vector<int> gpuRingOrder(const HostTopology& host, const NvLinkMap& nvlinks);

// GPU indices in PCIe order (package, then bus id).
std::vector<int> gpusInPcieOrder(const HostTopology& host);

}  // namespace strata
