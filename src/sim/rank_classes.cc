#include "src/sim/aggregated.h"

#include <map>

namespace strata::sim {
namespace {

// First, middle or last of its siblings (or the only one).
int roleAmong(int index, int count) {
  if (count == 1) return 3;
  return index == 0 ? 0 : index == count - 1 ? 2 : 1;
}

}  // namespace

RankClasses classifyRanks(const Network& network, const std::vector<int>& ring, bool byIndexInRack) {
  const Hierarchy& h = network.hierarchy();
  const int n = h.nranks();
  std::vector<int> positionOf(static_cast<size_t>(n));
  for (int p = 0; p < n; ++p) positionOf[static_cast<size_t>(ring[static_cast<size_t>(p)])] = p;
  // A rack's index among the racks of its pod, and a pod's among the pods.
  std::vector<int> rackInPod(h.racks().size()), racksSeen(static_cast<size_t>(h.podCount()), 0);
  for (size_t k = 0; k < h.racks().size(); ++k) rackInPod[k] = racksSeen[static_cast<size_t>(h.podOfRack(static_cast<int>(k)))]++;
  std::map<std::vector<int>, int> classOfKey;
  RankClasses classes;
  for (int r = 0; r < n; ++r) {
    const int host = h.hostOf(r), rack = h.rackOf(r), pod = h.podOf(r);
    const int hostsInRack = static_cast<int>(h.racks()[static_cast<size_t>(rack)].hosts.size());
    const int p = positionOf[static_cast<size_t>(r)];
    std::vector<int> key = {
        h.indexInHost(r),
        static_cast<int>(h.hosts()[static_cast<size_t>(host)].ranks.size()),
        byIndexInRack ? h.indexInRack(host) : roleAmong(h.indexInRack(host), hostsInRack),
        byIndexInRack ? rackInPod[static_cast<size_t>(rack)] : roleAmong(rackInPod[static_cast<size_t>(rack)], h.racksInPod(pod)),
        roleAmong(pod, h.podCount()),
        static_cast<int>(network.reach(r, ring[static_cast<size_t>((p + 1) % n)])),
        static_cast<int>(network.reach(r, ring[static_cast<size_t>((p + n - 1) % n)])),
        static_cast<int>(network.reach(r, (r + 1) % n)),
        static_cast<int>(network.reach(r, (r + n - 1) % n)),
    };
    auto [it, isNew] = classOfKey.emplace(std::move(key), static_cast<int>(classes.representative.size()));
    if (isNew) {
      classes.representative.push_back(r);
      classes.members.push_back(0);
    }
    ++classes.members[static_cast<size_t>(it->second)];
    classes.classOf.push_back(it->second);
  }
  return classes;
}

}  // namespace strata::sim
