// What this process learns about its own host at init: the hwloc topology (discovered once per
// process, or read from STRATA_TOPO_XML), NVLink pairs, the device this rank drives and the CPUs
// near it. Its summary travels in the init allgather with the host identity.
#pragma once

#include <memory>
#include <string>

#include "src/common/params.h"
#include "src/common/status.h"
#include "src/core/local_ranks.h"
#include "topology/host_topology.h"
#include "topology/nvml_links.h"
#include "topology/rank_device.h"

namespace strata {

struct HostAnalysis {
  std::shared_ptr<const HostTopology> topology;  // null when discovery is unavailable
  std::string nvlinkNote;
  NvLinkMap nvlinks;
  RankDevice device;
  std::string summary;  // HostTopology::summary(), or why it is unknown
};

// A malformed STRATA_TOPO_XML is an error; a live discovery that fails is not (the summary
// says "unknown: ...").
Result<HostAnalysis> analyseHost(const Params& params);

// Applies STRATA_BIND: binds the process near its device (a GPU's NUMA node; for CPU-only ranks,
// one process each and no more than the cores, a core of its own) unless told not to or already
// bound. Returns what happened, for INFO.
std::string bindNearDevice(const Params& params, const HostAnalysis& host, const LocalRanks& local);

}  // namespace strata
