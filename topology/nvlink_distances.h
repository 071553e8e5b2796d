// NVLink between the GPUs of a host from hwloc's "NVLinkBandwidth" distances matrix, the form in
// which hwloc's NVML backend reports it (and XML exports of GPU servers carry it). The matrix is
// heterogeneous: besides the GPUs' OS devices it may hold NVSwitches (PCI devices) and, on POWER
// hosts, CPU packages. A host's NVSwitches are taken as one fabric (NVML does not say how they
// join; hwloc's merge-switch-ports transform and PyTorch assume the same): two GPUs with links
// into it are joined at the lesser of their bandwidths into it.
#pragma once

#if STRATA_HAVE_HWLOC
#include <hwloc.h>

#include "host_topology.h"

namespace strata {

// Fills host.nvlinks and host.nvlinkNote from `topology`; GPUs are matched by PCI bus id, so
// host.gpus must be filled first. No matrix: both stay empty.
void readNvLinkDistances(hwloc_topology_t topology, HostTopology& host);

}  // namespace strata
#endif
