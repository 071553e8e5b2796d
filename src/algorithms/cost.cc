#include "src/algorithms/cost.h"

#include <algorithm>

namespace strata {

double CostContext::contention() const {
  if (coresPerHost <= 0) return 1.0;
  return std::max(1.0, static_cast<double>(hierarchy->largestHost()) / coresPerHost);
}

double CostContext::syncPenalty() const { return (contention() - 1.0) * model->contentionUs * 1e-6; }

namespace {

// How many transfers leave each host (or rack) at once. A dense table by group when the step has
// about as many transfers as there are groups (a ring step), sorted ids otherwise (one transfer
// of a gather): O(transfers + groups) or O(t log t), never O(transfers x groups).
class LeavingCounts {
 public:
  LeavingCounts(std::vector<int> groupIds, size_t groups) {
    if (groupIds.size() * 8 >= groups) {
      dense_.assign(groups, 0);
      for (int g : groupIds) ++dense_[static_cast<size_t>(g)];
    } else {
      sorted_ = std::move(groupIds);
      std::sort(sorted_.begin(), sorted_.end());
    }
  }
  int operator[](int group) const {
    if (!dense_.empty()) return dense_[static_cast<size_t>(group)];
    auto [first, last] = std::equal_range(sorted_.begin(), sorted_.end(), group);
    return static_cast<int>(last - first);
  }

 private:
  std::vector<int> dense_, sorted_;
};

}  // namespace

double CostContext::stepSeconds(const std::vector<std::pair<int, int>>& transfers, double bytes) const {
  const Hierarchy& h = *hierarchy;
  if (tally != nullptr) tally->transfers += transfers.size();
  // How many transfers leave each host and each rack at once: they share the NIC and uplink.
  std::vector<int> hostsLeft, racksLeft, podsLeft;
  for (const auto& [from, to] : transfers) {
    if (h.hostOf(from) != h.hostOf(to)) hostsLeft.push_back(h.hostOf(from));
    if (h.rackOf(from) != h.rackOf(to)) racksLeft.push_back(h.rackOf(from));
    if (h.podOf(from) != h.podOf(to)) podsLeft.push_back(h.podOf(from));
  }
  const LeavingCounts leavingHost(std::move(hostsLeft), h.hosts().size());
  const LeavingCounts leavingRack(std::move(racksLeft), h.racks().size());
  const LeavingCounts leavingPod(std::move(podsLeft), static_cast<size_t>(h.podCount()));
  const double ranksPerCore = contention();
  const double syncSeconds = syncPenalty();
  double slowest = 0;
  for (const auto& [from, to] : transfers) {
    double seconds;
    if (h.hostOf(from) == h.hostOf(to)) {
      LinkCost shm = model->shm;
      shm.betaGBps /= ranksPerCore;
      // Sliced algorithms keep each message cache-sized; one big message spills to memory.
      const double cached = model->shmCacheKiB * 1024;
      const double effective = bytes <= cached ? bytes : cached + 2 * (bytes - cached);
      seconds = shm.seconds(effective) + syncSeconds;
    } else {
      bool sameRack = h.rackOf(from) == h.rackOf(to);
      LinkCost link = linkBetween(from, to);
      double share = link.betaGBps / leavingHost[h.hostOf(from)];
      if (!sameRack) {
        int rack = h.rackOf(from);
        double hostsInRack = static_cast<double>(h.racks()[static_cast<size_t>(rack)].hosts.size());
        double uplink = hostsInRack * model->net.betaGBps / model->uplinkOversubscription;
        share = std::min(share, uplink / leavingRack[rack]);
        const int pod = h.podOf(from);
        if (pod != h.podOf(to)) {
          // The pod's spine uplink: its racks' uplinks, oversubscribed again at the spine.
          double spine = h.racksInPod(pod) * uplink / model->spineOversubscription;
          share = std::min(share, spine / leavingPod[pod]);
        }
      }
      link.betaGBps = share;
      seconds = link.seconds(bytes);
    }
    slowest = std::max(slowest, seconds);
  }
  return slowest;
}

double CostContext::ringStepSeconds(double bytes) const {
  std::vector<std::pair<int, int>> transfers;
  for (int p = 0; p < nranks(); ++p) transfers.emplace_back(topology->rankAt(p), topology->rankAt(p + 1));
  return stepSeconds(transfers, bytes);
}

double CostContext::reduceSeconds(double bytes) const { return bytes * contention() / (model->reduceGBps * 1e9); }

double CostContext::copySeconds(double bytes) const { return bytes * contention() / (model->copyGBps * 1e9); }

double CostContext::windowSyncSeconds() const { return model->windowSyncUs * 1e-6 + syncPenalty(); }

const LinkCost& CostContext::linkBetween(int from, int to) const {
  const Hierarchy& h = *hierarchy;
  if (h.hostOf(from) == h.hostOf(to)) return model->shm;
  if (h.rackOf(from) == h.rackOf(to)) return model->net;
  return h.podOf(from) == h.podOf(to) ? model->interRack : model->interPod;
}

double CostContext::linkAlphaSeconds(int from, int to) const { return linkBetween(from, to).alphaUs * 1e-6; }

StandaloneCostContext::StandaloneCostContext(Hierarchy h, CostModel m, int coresPerHost, size_t windowBytes)
    : hierarchy(std::move(h)), model(m), topology(PlanTopology::withRing(0, hierarchy.ring())) {
  topology.hierarchy = &hierarchy;
  context.hierarchy = &hierarchy;
  context.model = &model;
  context.topology = &topology;
  context.coresPerHost = coresPerHost;
  context.windowBytes = windowBytes;
}

}  // namespace strata
