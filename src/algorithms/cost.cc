#include "src/algorithms/cost.h"

#include <algorithm>
#include <map>

namespace strata {

double CostContext::contention() const {
  if (coresPerHost <= 0) return 1.0;
  size_t busiest = 1;
  for (const HostGroup& h : hierarchy->hosts()) busiest = std::max(busiest, h.ranks.size());
  return std::max(1.0, static_cast<double>(busiest) / coresPerHost);
}

double CostContext::syncPenalty() const { return (contention() - 1.0) * model->contentionUs * 1e-6; }

double CostContext::stepSeconds(const std::vector<std::pair<int, int>>& transfers, double bytes) const {
  const Hierarchy& h = *hierarchy;
  // How many transfers leave each host and each rack at once: they share the NIC and uplink.
  std::map<int, int> leavingHost, leavingRack;
  for (const auto& [from, to] : transfers) {
    if (h.hostOf(from) != h.hostOf(to)) ++leavingHost[h.hostOf(from)];
    if (h.rackOf(from) != h.rackOf(to)) ++leavingRack[h.rackOf(from)];
  }
  double slowest = 0;
  for (const auto& [from, to] : transfers) {
    double seconds;
    if (h.hostOf(from) == h.hostOf(to)) {
      LinkCost shm = model->shm;
      shm.betaGBps /= contention();
      // Sliced algorithms keep each message cache-sized; one big message spills to memory.
      const double cached = model->shmCacheKiB * 1024;
      const double effective = bytes <= cached ? bytes : cached + 2 * (bytes - cached);
      seconds = shm.seconds(effective) + syncPenalty();
    } else {
      bool sameRack = h.rackOf(from) == h.rackOf(to);
      LinkCost link = linkBetween(from, to);
      double share = link.betaGBps / leavingHost[h.hostOf(from)];
      if (!sameRack) {
        int rack = h.rackOf(from);
        double hostsInRack = static_cast<double>(h.racks()[static_cast<size_t>(rack)].hosts.size());
        double uplink = hostsInRack * model->net.betaGBps / model->uplinkOversubscription;
        share = std::min(share, uplink / leavingRack[rack]);
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
  return h.rackOf(from) == h.rackOf(to) ? model->net : model->interRack;
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
