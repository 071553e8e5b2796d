#include "src/sim/cluster_spec.h"

#include <random>

namespace strata::sim {

Result<Numbering> parseNumbering(const std::string& text) {
  if (text == "block") return Numbering::Block;
  if (text == "round-robin") return Numbering::RoundRobin;
  if (text == "random") return Numbering::Random;
  return invalidArgument("numbering must be block, round-robin or random, not '" + text + "'");
}

const char* numberingName(Numbering n) {
  switch (n) {
    case Numbering::Block: return "block";
    case Numbering::RoundRobin: return "round-robin";
    case Numbering::Random: return "random";
  }
  return "?";
}

namespace {

// slotOfRank[r]: the block-numbered slot (host-major) rank r takes.
std::vector<int> slotsOf(Numbering numbering, uint64_t seed, const std::vector<int>& rackOfHost, int racks,
                         int ranksPerHost) {
  const int hosts = static_cast<int>(rackOfHost.size());
  const int n = hosts * ranksPerHost;
  std::vector<int> slots(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) slots[static_cast<size_t>(r)] = r;
  if (numbering == Numbering::Random) {
    // Fisher-Yates with mt19937_64, whose sequence the standard fixes: the same seed gives the
    // same numbering everywhere.
    std::mt19937_64 random(seed);
    for (int i = n - 1; i > 0; --i) std::swap(slots[static_cast<size_t>(i)], slots[random() % static_cast<uint64_t>(i + 1)]);
  } else if (numbering == Numbering::RoundRobin) {
    // Deal the slots of each rack in turn: rank r goes to rack r mod racks, to its next free slot.
    std::vector<std::vector<int>> slotsOfRack(static_cast<size_t>(racks));
    for (int h = 0; h < hosts; ++h) {
      for (int l = 0; l < ranksPerHost; ++l) {
        slotsOfRack[static_cast<size_t>(rackOfHost[static_cast<size_t>(h)])].push_back(h * ranksPerHost + l);
      }
    }
    // Within a rack, spread over its hosts first, so consecutive visits land on different hosts.
    for (auto& rackSlots : slotsOfRack) {
      std::vector<int> spread;
      const size_t hostsHere = rackSlots.size() / static_cast<size_t>(ranksPerHost);
      for (int l = 0; l < ranksPerHost; ++l) {
        for (size_t h = 0; h < hostsHere; ++h) spread.push_back(rackSlots[h * static_cast<size_t>(ranksPerHost) + static_cast<size_t>(l)]);
      }
      rackSlots = spread;
    }
    std::vector<size_t> next(static_cast<size_t>(racks), 0);
    int rank = 0;
    while (rank < n) {
      for (int k = 0; k < racks && rank < n; ++k) {
        auto& rackSlots = slotsOfRack[static_cast<size_t>(k)];
        if (next[static_cast<size_t>(k)] < rackSlots.size()) slots[static_cast<size_t>(rank++)] = rackSlots[next[static_cast<size_t>(k)]++];
      }
    }
  }
  return slots;
}

}  // namespace

std::vector<RankPlacement> placementsOf(const std::vector<std::string>& hosts,
                                        const std::vector<std::vector<std::string>>& switchesOfHost, int ranksPerHost,
                                        Numbering numbering, uint64_t seed) {
  // Racks are the distinct leaf paths, in order of first appearance.
  std::vector<int> rackOfHost;
  std::vector<std::vector<std::string>> racks;
  for (const auto& path : switchesOfHost) {
    size_t k = 0;
    while (k < racks.size() && racks[k] != path) ++k;
    if (k == racks.size()) racks.push_back(path);
    rackOfHost.push_back(static_cast<int>(k));
  }
  const std::vector<int> slots = slotsOf(numbering, seed, rackOfHost, static_cast<int>(racks.size()), ranksPerHost);
  std::vector<RankPlacement> placements(slots.size());
  for (size_t r = 0; r < slots.size(); ++r) {
    const size_t host = static_cast<size_t>(slots[r] / ranksPerHost);
    placements[r] = {hosts[host], hosts[host], switchesOfHost[host], slots[r] % ranksPerHost};
  }
  return placements;
}

std::vector<RankPlacement> placementsOf(const ClusterShape& c) {
  std::vector<std::string> hosts;
  std::vector<std::vector<std::string>> switches;
  for (int p = 0; p < c.pods; ++p) {
    for (int k = 0; k < c.racksPerPod; ++k) {
      for (int h = 0; h < c.hostsPerRack; ++h) {
        hosts.push_back("host" + std::to_string(hosts.size()));
        switches.push_back({"pod" + std::to_string(p), "rack" + std::to_string(p * c.racksPerPod + k)});
      }
    }
  }
  return placementsOf(hosts, switches, c.ranksPerHost, c.numbering, c.seed);
}

Hierarchy hostsOnly(const std::vector<RankPlacement>& placements) {
  std::vector<RankPlacement> flat = placements;
  for (RankPlacement& p : flat) p.switches.clear();
  return Hierarchy(flat);
}

}  // namespace strata::sim
