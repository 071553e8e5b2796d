// The algorithms' analytic message counts (message_work.h) against an independent census: every
// rank's generated plan, each Send step priced at its link's alpha, each window publish or share
// at one window handshake. Awkward sizes (fewer elements than ranks, slice remainders), every
// element size, rooted collectives at several roots, flat, multi-host, multi-rack, round-robin
// and non-uniform clusters.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "src/algorithms/message_work.h"
#include "src/algorithms/selection.h"

namespace {

using strata::CollectiveKind;

// What the tuner used to compute: build each rank's plan and price its messages.
double censusOfPlans(const strata::AlgorithmEntry& algorithm, const strata::CollectiveShape& shape,
                     const strata::CostContext& cost) {
  strata::PlanTopology topology = *cost.topology;
  topology.hierarchy = cost.hierarchy;
  double seconds = 0;
  for (int rank = 0; rank < cost.nranks(); ++rank) {
    topology.rank = rank;
    const strata::Plan plan = algorithm.generate(shape, topology);
    for (const strata::Stage& stage : plan.stages) {
      for (const strata::Step& step : stage.steps) {
        if (step.kind == strata::StepKind::Send) seconds += cost.linkAlphaSeconds(rank, step.peer);
        if (step.kind == strata::StepKind::WindowPublish || step.kind == strata::StepKind::WindowShare) {
          seconds += cost.model->windowSyncUs * 1e-6;
        }
      }
    }
  }
  return seconds;
}

struct Cluster {
  std::string name;
  std::unique_ptr<strata::StandaloneCostContext> cost;
};

// hostsOfRack[i]: how many hosts rack i has; ranksOfHost[h]: ranks of host h (hosts numbered
// rack by rack); ranks numbered round-robin over hosts when `roundRobin`, else host by host.
Cluster cluster(const std::string& name, const std::vector<int>& hostsOfRack, const std::vector<int>& ranksOfHost,
                bool roundRobin, bool racked = true) {
  std::vector<int> rackOfHost;
  for (size_t rack = 0; rack < hostsOfRack.size(); ++rack) rackOfHost.insert(rackOfHost.end(), hostsOfRack[rack], static_cast<int>(rack));
  std::vector<int> hostOfRank;
  const size_t hosts = ranksOfHost.size();
  if (roundRobin) {
    std::vector<int> left = ranksOfHost;
    for (bool any = true; any;) {
      any = false;
      for (size_t h = 0; h < hosts; ++h) {
        if (left[h]-- > 0) {
          hostOfRank.push_back(static_cast<int>(h));
          any = true;
        }
      }
    }
  } else {
    for (size_t h = 0; h < hosts; ++h) hostOfRank.insert(hostOfRank.end(), ranksOfHost[h], static_cast<int>(h));
  }
  std::vector<strata::RankPlacement> places;
  for (int h : hostOfRank) {
    const std::string host = "h" + std::to_string(h);
    std::vector<std::string> switches;
    if (racked) switches = {"rack" + std::to_string(rackOfHost[static_cast<size_t>(h)])};
    places.push_back({host, host, switches, 0});
  }
  strata::CostModel model;  // distinct alphas per link class, so a miscounted class shows
  model.shm.alphaUs = 1;
  model.net.alphaUs = 10;
  model.interRack.alphaUs = 100;
  model.windowSyncUs = 1000;
  return {name, std::make_unique<strata::StandaloneCostContext>(strata::Hierarchy(places), model, 2, 4096)};
}

std::vector<Cluster> clusters() {
  std::vector<Cluster> all;
  for (int n = 1; n <= 9; ++n) all.push_back(cluster("one host x " + std::to_string(n), {1}, {n}, false, false));
  all.push_back(cluster("4 hosts x 1, no racks", {4}, {1, 1, 1, 1}, false, false));
  all.push_back(cluster("3 hosts x 2, no racks, round-robin", {3}, {2, 2, 2}, true, false));
  all.push_back(cluster("2 racks x 2 hosts x 1", {2, 2}, {1, 1, 1, 1}, true));
  all.push_back(cluster("2 racks x 2 hosts x 2", {2, 2}, {2, 2, 2, 2}, false));
  all.push_back(cluster("2 racks x 2 hosts x 2, round-robin", {2, 2}, {2, 2, 2, 2}, true));
  all.push_back(cluster("3 racks x 1 host x 3", {1, 1, 1}, {3, 3, 3}, false));
  all.push_back(cluster("3 racks x 2 hosts x 2, round-robin", {2, 2, 2}, {2, 2, 2, 2, 2, 2}, true));
  all.push_back(cluster("5 racks x 1 host x 1", {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1}, false));
  all.push_back(cluster("uneven hosts", {1, 2}, {3, 1, 2}, false));
  all.push_back(cluster("uneven racks, round-robin", {1, 3}, {2, 2, 2, 2}, true));
  return all;
}

std::vector<strata::CollectiveShape> shapesFor(const strata::AlgorithmEntry& e, int nranks) {
  std::vector<strata::CollectiveShape> shapes;
  // Counts around the rank count, around the slice and chunk sizes (1 MiB per rank, 256 KiB
  // chunks, 128 KiB tree chunks, 4 KiB windows), and several slices with a remainder.
  const size_t mib = size_t{1} << 20;
  const std::vector<size_t> counts = {0, 1, 2, 3, 5, 7, 9, 17, 100, 4097, 128 * 1024 + 1, 256 * 1024 + 3,
                                      mib * static_cast<size_t>(nranks) + 1, 3 * mib * static_cast<size_t>(nranks) + 7};
  const std::vector<int> roots = e.kind == CollectiveKind::Broadcast || e.kind == CollectiveKind::Reduce ||
                                         e.kind == CollectiveKind::Gather || e.kind == CollectiveKind::Scatter
                                     ? std::vector<int>{0, nranks - 1, nranks / 2}
                                     : std::vector<int>{0};
  for (size_t elementSize : {size_t{1}, size_t{2}, size_t{8}}) {
    for (size_t count : counts) {
      if (count * elementSize * static_cast<size_t>(nranks) > (size_t{64} << 20) && e.kind == CollectiveKind::AllToAll) continue;
      for (int root : roots) {
        strata::CollectiveShape s;
        s.kind = e.kind;
        s.count = count;
        s.elementSize = elementSize;
        s.root = root;
        s.windowBytes = 4096;
        if (e.kind == CollectiveKind::AllToAllv) {
          for (int r = 0; r < nranks; ++r) {
            const size_t c = r % 2 == 0 ? 0 : count;  // empty blocks travel too
            s.sendCounts.push_back(c);
            s.recvCounts.push_back(c);
            s.sendDispls.push_back(static_cast<size_t>(r) * count);
            s.recvDispls.push_back(static_cast<size_t>(r) * count);
          }
        }
        shapes.push_back(s);
      }
    }
  }
  return shapes;
}

TEST(MessageWork, AnalyticCountsEqualTheCensusOfEveryRanksPlan) {
  for (const Cluster& c : clusters()) {
    const strata::CostContext& cost = c.cost->context;
    for (const strata::AlgorithmEntry& e : strata::algorithmRegistry()) {
      for (const strata::CollectiveShape& s : shapesFor(e, cost.nranks())) {
        const double expected = censusOfPlans(e, s, cost);
        const double counted = strata::messageWork(e, s, cost);
        ASSERT_NEAR(counted, expected, 1e-9 * std::max(1.0, expected))
            << c.name << ": " << e.name << " " << strata::collectiveName(e.kind) << " count " << s.count << " x "
            << s.elementSize << " root " << s.root;
      }
    }
  }
}

}  // namespace
