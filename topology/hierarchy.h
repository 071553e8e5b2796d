// The cluster as a tree: rank -> host -> leaf switch (rack) -> ... -> top, as deep as the rack
// metadata goes. Built identically on every rank from the allgathered placements, so every rank
// derives the same ring and trees without talking. Children are ordered by their lowest rank, so
// the order is deterministic and stays close to the user's numbering where that is already good.
#pragma once

#include <string>
#include <vector>

namespace strata {

// What one rank says about where it runs.
struct RankPlacement {
  std::string hostKey;                // host identity (hostname + boot id, or STRATA_HOSTID)
  std::string hostname;               // for messages and the topology file
  std::vector<std::string> switches;  // top switch first, leaf (rack) switch last; empty: flat
  int localOrder = 0;                 // order inside the host (device locality), lower first
};

struct HostGroup {
  std::string hostname;
  std::vector<int> ranks;  // in ring order (localOrder, then rank)
  int rack = 0;            // index into Hierarchy::racks
};

struct RackGroup {
  std::string name;                   // leaf switch ("" when flat)
  std::vector<std::string> switches;  // its path, top first
  std::vector<int> hosts;             // indices into Hierarchy::hosts, in ring order
};

class Hierarchy {
 public:
  Hierarchy() = default;
  explicit Hierarchy(const std::vector<RankPlacement>& placements);

  int nranks() const { return static_cast<int>(hostOfRank_.size()); }
  const std::vector<HostGroup>& hosts() const { return hosts_; }
  const std::vector<RackGroup>& racks() const { return racks_; }
  int hostOf(int rank) const { return hostOfRank_[static_cast<size_t>(rank)]; }
  int rackOf(int rank) const { return hosts_[static_cast<size_t>(hostOf(rank))].rack; }
  // Pods: racks under the same switch one level above their leaf (all racks form one pod when
  // the metadata stops at the leaves). Indices follow the ring order of the racks.
  int podOfRack(int rack) const { return podOfRack_[static_cast<size_t>(rack)]; }
  int podOf(int rank) const { return podOfRack(rackOf(rank)); }
  int podCount() const { return podCount_; }
  // Racks in a pod.
  int racksInPod(int pod) const { return racksInPod_[static_cast<size_t>(pod)]; }
  // Where a rank sits in its host's ranks, and a host in its rack's hosts (ring order), without
  // searching: tiers and costs ask this for every rank of clusters of thousands of hosts.
  int indexInHost(int rank) const { return indexInHost_[static_cast<size_t>(rank)]; }
  int indexInRack(int host) const { return indexInRack_[static_cast<size_t>(host)]; }
  // The most ranks any host has (1 when there are no ranks).
  int largestHost() const { return largestHost_; }
  // Switch levels above hosts (0: flat, 1: racks only, 2: racks under spines, ...).
  int switchDepth() const { return switchDepth_; }

  // Ranks in ring order: each host's ranks contiguous, each rack's hosts contiguous, racks (and
  // any higher switch groups) contiguous in turn. A ring in this order crosses every boundary of
  // every level the least possible number of times (twice per group when there are several).
  const std::vector<int>& ring() const { return ring_; }

  // One line per level, e.g. "2 racks (leaf1: 2 hosts, leaf2: 2 hosts), 4 hosts, 8 ranks".
  std::string summary() const;
  // "0 2 | 4 6 || 1 3 | 5 7": the ring with host (|) and rack (||) boundaries.
  std::string describeRing() const;

 private:
  std::vector<HostGroup> hosts_;
  std::vector<RackGroup> racks_;
  std::vector<int> hostOfRank_;
  std::vector<int> ring_;
  std::vector<int> indexInHost_;  // by rank
  std::vector<int> indexInRack_;  // by host
  std::vector<int> podOfRack_;    // by rack
  std::vector<int> racksInPod_;   // by pod
  int podCount_ = 0;
  int largestHost_ = 1;
  int switchDepth_ = 0;
};

// A flat hierarchy for `nranks` ranks on one host (tests, and before init finishes).
Hierarchy flatHierarchy(int nranks);

}  // namespace strata
