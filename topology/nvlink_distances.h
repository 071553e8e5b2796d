// NVLink between the GPUs of a host from hwloc's "NVLinkBandwidth" distances matrix, the form in
// which hwloc's NVML backend reports it (and XML exports of GPU servers carry it). The matrix is
// heterogeneous: besides the GPUs' OS devices it may hold NVSwitches (PCI devices) and, on POWER
// hosts, CPU packages. GPUs on one NVSwitch fabric (switches joined to each other count as one)
// are joined through it at the lesser of their bandwidths into the fabric.
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
