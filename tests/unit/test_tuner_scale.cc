// The topology code and the tuner on 4096 described hosts x 8 ranks: the hierarchy, its tiers and
// trees, and the tuner's choice for every collective at every size, as strata-topo and every
// rank's first calls compute them. The bound is on work counted, not on time: the transfers the
// cost model prices and the terms the message counts sum stay within a constant times n log n
// (a loop quadratic in the ranks would count ~n² = 1.07e9 here; 128 n log2 n is 6.3e7).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "src/algorithms/message_work.h"
#include "src/algorithms/selection.h"
#include "src/algorithms/tiers.h"
#include "topology/trees.h"

namespace {

constexpr int kHosts = 4096, kRanksPerHost = 8, kHostsPerRack = 32;

// Ranks numbered round-robin over the racks' hosts, as a scheduler spreading a job hands them out.
strata::Hierarchy bigCluster() {
  std::vector<strata::RankPlacement> places;
  const int nranks = kHosts * kRanksPerHost;
  places.reserve(static_cast<size_t>(nranks));
  for (int r = 0; r < nranks; ++r) {
    const int host = r % kHosts;
    const std::string name = "node" + std::to_string(host);
    places.push_back({name, name, {"spine", "leaf" + std::to_string(host / kHostsPerRack)}, r / kHosts});
  }
  return strata::Hierarchy(places);
}

TEST(TunerScale, FourThousandHostsInNLogNWork) {
  strata::StandaloneCostContext cluster(bigCluster(), strata::CostModel{}, 8, 0);
  const strata::Hierarchy& h = cluster.hierarchy;
  const int n = h.nranks();
  ASSERT_EQ(n, kHosts * kRanksPerHost);
  ASSERT_EQ(h.racks().size(), static_cast<size_t>(kHosts / kHostsPerRack));
  ASSERT_TRUE(strata::isUniform(h));

  // Tiers of every rank, and each tier's edges: the ring groups the hierarchical algorithms use.
  size_t tierMembers = 0;
  for (int r = 0; r < n; ++r) {
    const strata::Tiers t = strata::tiersOf(h, r);
    ASSERT_EQ(t.host.members[static_cast<size_t>(t.host.me)], r);
    ASSERT_EQ(t.rack.members[static_cast<size_t>(t.rack.me)], r);
    ASSERT_EQ(t.top.members[static_cast<size_t>(t.top.me)], r);
    tierMembers += t.host.members.size() + t.rack.members.size() + t.top.members.size();
  }
  EXPECT_EQ(tierMembers, static_cast<size_t>(n) * (kRanksPerHost + kHostsPerRack + kHosts / kHostsPerRack));
  for (int tier = 0; tier < 3; ++tier) EXPECT_EQ(strata::tierEdges(h, tier).size(), static_cast<size_t>(n)) << tier;
  const auto trees = strata::rackAwareHostTrees(h);
  // Binary inside each rack, racks joined by one pair of trees: racks - 1 uplink edges per tree.
  EXPECT_EQ(strata::crossRackEdges(trees.first, h), kHosts / kHostsPerRack - 1);
  EXPECT_EQ(strata::crossRackEdges(trees.second, h), kHosts / kHostsPerRack - 1);

  strata::TunerTally tally;
  cluster.context.tally = &tally;
  int choices = 0;
  for (int k = 0; k <= static_cast<int>(strata::CollectiveKind::Barrier); ++k) {
    const auto kind = static_cast<strata::CollectiveKind>(k);
    if (kind == strata::CollectiveKind::AllToAllv) continue;  // per-call counts: one algorithm
    for (size_t bytes = 8; bytes <= (size_t{1} << 30); bytes *= 8) {
      strata::CollectiveShape shape;
      shape.kind = kind;
      shape.elementSize = 4;
      shape.count = std::max<size_t>(1, bytes / 4);
      const auto [chosen, seconds] = strata::AlgorithmSelector::cheapest(shape, cluster.context, 0);
      ASSERT_NE(chosen, nullptr) << strata::collectiveName(kind) << " " << bytes;
      EXPECT_GT(chosen->predict(shape, cluster.context), 0) << chosen->name;
      // Every candidate's message count too, tie or not: what the tie-break would cost.
      for (const strata::AlgorithmEntry& e : strata::algorithmRegistry()) {
        if (e.kind == kind && strata::AlgorithmSelector::runsHere(e, shape, 0)) {
          EXPECT_GE(strata::messageWork(e, shape, cluster.context), 0) << e.name;
        }
      }
      ++choices;
    }
  }
  const double nLogN = n * std::log2(static_cast<double>(n));
  std::printf("%d choices for %d ranks: %llu transfers priced, %llu message-count terms (n log2 n = %.0f)\n", choices, n,
              static_cast<unsigned long long>(tally.transfers), static_cast<unsigned long long>(tally.messageTerms), nLogN);
  EXPECT_LT(static_cast<double>(tally.transfers), 128 * nLogN);
  EXPECT_LT(static_cast<double>(tally.messageTerms), 64 * nLogN);
}

}  // namespace
