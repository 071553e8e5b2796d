// Fills a HostTopology from hwloc: this host (I/O objects kept), or an hwloc XML export
// (STRATA_TOPO_XML, test fixtures). GPUs are NVIDIA PCI devices (vendor 0x10de, display or 3D
// class) and CUDA OS devices; NICs are network-class PCI devices with a network or OpenFabrics OS
// device. A PCI-to-PCI bridge's depth below its host bridge tells ports from switches: odd depths
// are the downstream-facing ports (root ports, switch downstream ports), even depths the upstream
// ports that stand for a switch.
#pragma once

#include <string>

#include "src/common/status.h"
#include "host_topology.h"

namespace strata {

// `xmlPath` empty: this host. Built without hwloc: an error saying so.
Result<HostTopology> discoverHostTopology(const std::string& xmlPath);

// Binds the calling process to the CPUs of `cpuset` (an hwloc cpuset string). Returns what it
// did, for INFO; an error only when the set is malformed or the OS refuses.
Result<std::string> bindProcessToCpus(const std::string& cpuset);

// True when the build has hwloc.
bool haveHwloc();

// A network interface's line rate as Linux reports it (/sys/class/net/IF/speed), 0 when unknown.
int linuxNetSpeedMbps(const std::string& interface);

}  // namespace strata
