// A modelled cluster: pods of racks of hosts of ranks, and how a scheduler numbered the ranks.
// Turned into the same RankPlacements every rank of a real job reports, so the Hierarchy, ring,
// trees and plans are the ones Strata would build on such a cluster.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/common/status.h"
#include "topology/hierarchy.h"

namespace strata::sim {

enum class Numbering {
  Block,       // a host's ranks consecutive, hosts rack by rack
  RoundRobin,  // consecutive ranks on different racks: rank r in rack r mod racks (what hurts rings most)
  Random,      // a seeded shuffle of block numbering
};

Result<Numbering> parseNumbering(const std::string& text);
const char* numberingName(Numbering n);

struct ClusterShape {
  int pods = 1;
  int racksPerPod = 2;
  int hostsPerRack = 2;
  int ranksPerHost = 1;
  Numbering numbering = Numbering::Block;
  uint64_t seed = 1;
};

// Host i (rack by rack, pod by pod) is named host<i>, its rack rack<k>, its pod pod<p>.
std::vector<RankPlacement> placementsOf(const ClusterShape& shape);

// Hosts from a Slurm topology.conf's switch tree (`pathOfHost`, hosts in the file's order of the
// given list), `ranksPerHost` each, numbered as asked.
std::vector<RankPlacement> placementsOf(const std::vector<std::string>& hosts,
                                        const std::vector<std::vector<std::string>>& switchesOfHost, int ranksPerHost,
                                        Numbering numbering, uint64_t seed);

// The hierarchy a topology-blind library sees: the same hosts, no racks (hosts ordered by their
// lowest rank, a host's ranks together: how NCCL orders its rings when it knows only hosts).
Hierarchy hostsOnly(const std::vector<RankPlacement>& placements);

}  // namespace strata::sim
