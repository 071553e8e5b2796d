// Where this process's host sits above the host level, from the first source that is present:
//   1. STRATA_TOPO_FILE: a Slurm topology.conf; the host is looked up by its name (full, then
//      short); a host the file does not list gets a warning and a rack of its own;
//   2. SLURM_TOPOLOGY_ADDR (+ SLURM_TOPOLOGY_ADDR_PATTERN): "spine.leaf3.node07" with pattern
//      "switch.switch.node" gives the switches spine, leaf3; without a pattern every part but the
//      last is a switch;
//   3. STRATA_RACK: one rack name for this process;
//   4. nothing: flat (every host directly below one switch).
#pragma once

#include <string>
#include <vector>

#include "src/common/status.h"

namespace strata {

struct PlacementInputs {
  std::string hostname;
  std::string topologyFile;          // STRATA_TOPO_FILE
  std::string slurmTopologyAddr;     // SLURM_TOPOLOGY_ADDR
  std::string slurmTopologyPattern;  // SLURM_TOPOLOGY_ADDR_PATTERN
  std::string rack;                  // STRATA_RACK
};

struct SwitchPlacement {
  std::vector<std::string> switches;  // top first, leaf last; empty: flat
  std::string source;                 // which input decided it, for INFO
  std::string warning;                // e.g. the host is missing from the file
};

// A malformed or unreadable topology file is an error naming the file and line.
Result<SwitchPlacement> placeThisHost(const PlacementInputs& inputs);

// Joins a switch path for the wire and for logs ("spine/leaf3"); '/' may not appear in names.
std::string joinSwitchPath(const std::vector<std::string>& switches);
std::vector<std::string> splitSwitchPath(const std::string& joined);

}  // namespace strata
