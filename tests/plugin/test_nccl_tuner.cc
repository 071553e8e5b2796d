// The tuner's prices for NCCL's ring and trees on described clusters (tuner_model.h), and the
// tuner through its ABI as NCCL calls it: the picks a user should see, rack crossings priced,
// NCCL's ruled-out entries and other algorithms left alone.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "plugins/nccl_net/tuner_model.h"

namespace strata::nccl_net {
namespace {

using namespace ncclabi;

constexpr size_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;

// `racks` racks of `perRack` hosts each; hosts named r<rack>n<i>. `interleaved`: NCCL's node order
// takes one host of each rack in turn (what a scheduler may hand out), else rack by rack.
NcclJobShape cluster(int racks, int perRack, int ranksPerNode, bool interleaved, CostModel costs = CostModel()) {
  SwitchTree tree;
  std::vector<std::string> hosts;
  for (int i = 0; i < racks * perRack; ++i) {
    int rack = interleaved ? i % racks : i / perRack;
    int index = interleaved ? i / racks : i % perRack;
    std::string host = "r" + std::to_string(rack) + "n" + std::to_string(index);
    tree.pathOfHost[host] = {"spine", "rack" + std::to_string(rack)};
    hosts.push_back(host);
  }
  return describeNcclJob(racks * perRack * ranksPerNode, racks * perRack, hosts, &tree, costs);
}

// The cheapest (algorithm, protocol) of a table where NCCL priced every other entry out of reach.
std::pair<int, int> pick(const NcclJobShape& job, ncclFunc_t coll, size_t bytes) {
  std::pair<int, int> best{-1, -1};
  double bestUs = 1e30;
  for (int a : {NCCL_ALGO_TREE, NCCL_ALGO_RING}) {
    for (int p = 0; p < NCCL_NUM_PROTOCOLS_V5; ++p) {
      double us = predictNcclMicroseconds(job, ncclDefaultLatencies(), coll, a, p, bytes);
      if (us >= 0 && us < bestUs) {
        bestUs = us;
        best = {a, p};
      }
    }
  }
  return best;
}

std::string name(std::pair<int, int> choice) {
  const char* algorithms[] = {"tree", "ring"};
  const char* protocols[] = {"LL", "LL128", "Simple"};
  if (choice.first < 0) return "none";
  return std::string(algorithms[choice.first]) + "/" + protocols[choice.second];
}

TEST(NcclTunerModel, NcclTreesAreDoubleBinaryTrees) {
  for (int nodes : {2, 3, 7, 8, 16, 33}) {
    for (int tree = 0; tree < 2; ++tree) {
      std::vector<int> children(static_cast<size_t>(nodes), 0);
      int roots = 0;
      for (int node = 0; node < nodes; ++node) {
        int parent = ncclTreeParent(tree, node, nodes);
        if (parent < 0) {
          ++roots;
          continue;
        }
        ASSERT_LT(parent, nodes);
        ++children[static_cast<size_t>(parent)];
        int hops = 0;  // reaches a root without a cycle, in about log2(nodes) hops
        for (int p = node; p >= 0 && hops <= nodes; p = ncclTreeParent(tree, p, nodes)) ++hops;
        EXPECT_LE(hops, 2 + static_cast<int>(std::log2(nodes))) << nodes << " nodes, tree " << tree;
      }
      EXPECT_EQ(roots, 1);
      for (int c : children) EXPECT_LE(c, 2);
    }
  }
  // NCCL's tree 0 over 8 nodes: 0-4, 4-{2,6}, 2-{1,3}, 6-{5,7}; tree 1 mirrors it.
  const int parents[8] = {-1, 2, 4, 2, 0, 6, 4, 6};
  for (int node = 0; node < 8; ++node) {
    EXPECT_EQ(ncclTreeParent(0, node, 8), parents[node]);
    EXPECT_EQ(ncclTreeParent(1, 7 - node, 8), parents[node] < 0 ? -1 : 7 - parents[node]);
  }
}

// 16 hosts × 8 GPUs in 4 racks: the picks NCCL gets, written out size by size.
TEST(NcclTunerModel, PicksAcrossRacks) {
  NcclJobShape job = cluster(4, 4, 8, false);
  // Latency first (trees: log2 of the nodes; LL), then the protocols' bandwidth, then the ring's
  // (R-1)/R advantage in bytes on the wire once time is all bandwidth.
  const std::vector<std::pair<size_t, std::string>> expected = {
      {8, "tree/LL"},           {4 * KiB, "tree/LL"},      {32 * KiB, "tree/LL"},
      {256 * KiB, "tree/LL128"}, {2 * MiB, "tree/Simple"},  {16 * MiB, "ring/LL128"},
      {128 * MiB, "ring/Simple"}, {1 * GiB, "ring/Simple"}};
  for (const auto& [bytes, choice] : expected) {
    EXPECT_EQ(name(pick(job, ncclFuncAllReduce, bytes)), choice) << bytes << " bytes";
  }
  // The same question, the same answer.
  for (const auto& [bytes, choice] : expected) EXPECT_EQ(name(pick(job, ncclFuncAllReduce, bytes)), choice);
  EXPECT_EQ(name(pick(job, ncclFuncAllGather, 8)), "ring/LL");  // NCCL's trees do allreduce only
}

TEST(NcclTunerModel, LargeAllReduceOnOneRackTakesTheRing) {
  NcclJobShape job = cluster(1, 4, 8, false);
  for (size_t bytes : {64 * MiB, 256 * MiB, 1 * GiB}) EXPECT_EQ(name(pick(job, ncclFuncAllReduce, bytes)), "ring/Simple");
  EXPECT_EQ(name(pick(job, ncclFuncAllReduce, 8)), "tree/LL");
}

// Where the scheduler interleaves racks, NCCL's ring crosses between them at every hop and shares
// each oversubscribed uplink among all its flows: slower than the same ring rack by rack, which in
// turn is slower than on one rack. Trees cross too, and are priced so.
TEST(NcclTunerModel, RackCrossingsArePriced) {
  CostModel oversubscribed;
  oversubscribed.uplinkOversubscription = 4;
  NcclJobShape oneRack = cluster(1, 8, 8, false, oversubscribed);
  NcclJobShape byRack = cluster(2, 4, 8, false, oversubscribed);
  NcclJobShape interleaved = cluster(2, 4, 8, true, oversubscribed);
  EXPECT_EQ(describeNcclStructures(oneRack).ringRackCrossings, 0);
  EXPECT_EQ(describeNcclStructures(byRack).ringRackCrossings, 2);
  EXPECT_EQ(describeNcclStructures(interleaved).ringRackCrossings, 8);
  EXPECT_GT(describeNcclStructures(interleaved).treeRackCrossings, describeNcclStructures(byRack).treeRackCrossings);
  for (size_t bytes : {8 * KiB, 64 * MiB}) {
    auto ring = [&](const NcclJobShape& job) {
      return predictNcclMicroseconds(job, ncclDefaultLatencies(), ncclFuncAllReduce, NCCL_ALGO_RING, NCCL_PROTO_SIMPLE, bytes);
    };
    EXPECT_LT(ring(oneRack), ring(byRack)) << bytes;
    EXPECT_LE(ring(byRack), ring(interleaved)) << bytes;
  }
  auto ringAt64M = [&](const NcclJobShape& job) {
    return predictNcclMicroseconds(job, ncclDefaultLatencies(), ncclFuncAllReduce, NCCL_ALGO_RING, NCCL_PROTO_SIMPLE,
                                   64 * MiB);
  };
  // 4 flows through each 4-host uplink at a quarter of 4 hosts' rate: a quarter of a NIC's rate.
  EXPECT_NEAR(ringAt64M(interleaved) / ringAt64M(byRack), 4.0, 0.2);
}

TEST(NcclTunerModel, RackFactorIsOneOnOneRack) {
  NcclJobShape oneRack = cluster(1, 8, 8, false);
  NcclJobShape twoRacks = cluster(2, 4, 8, true);
  for (int a : {NCCL_ALGO_TREE, NCCL_ALGO_RING}) {
    for (int p = 0; p < 3; ++p) {
      EXPECT_DOUBLE_EQ(rackFactor(oneRack, withoutRacks(oneRack), ncclDefaultLatencies(), ncclFuncAllReduce, a, p, MiB), 1.0);
      EXPECT_GT(rackFactor(twoRacks, withoutRacks(twoRacks), ncclDefaultLatencies(), ncclFuncAllReduce, a, p, MiB), 1.0);
    }
  }
  EXPECT_LT(rackFactor(twoRacks, withoutRacks(twoRacks), ncclDefaultLatencies(), ncclFuncAlltoAll, NCCL_ALGO_RING,
                       NCCL_PROTO_SIMPLE, MiB),
            0);
}

TEST(NcclTunerModel, OneNodeAndOtherAlgorithmsAreLeftToNccl) {
  NcclJobShape single = describeNcclJob(8, 1, {}, nullptr, CostModel());
  EXPECT_LT(predictNcclMicroseconds(single, ncclDefaultLatencies(), ncclFuncAllReduce, NCCL_ALGO_RING, NCCL_PROTO_SIMPLE, MiB), 0);
  NcclJobShape job = cluster(2, 2, 4, false);
  EXPECT_LT(predictNcclMicroseconds(job, ncclDefaultLatencies(), ncclFuncAllGather, NCCL_ALGO_TREE, NCCL_PROTO_LL, MiB), 0);
  EXPECT_LT(predictNcclMicroseconds(job, ncclDefaultLatencies(), ncclFuncAllReduce, 6 /*PAT*/, NCCL_PROTO_SIMPLE, MiB), 0);
  EXPECT_LT(predictNcclMicroseconds(job, ncclDefaultLatencies(), ncclFuncAlltoAll, NCCL_ALGO_RING, NCCL_PROTO_SIMPLE, MiB), 0);
  NcclJobShape unknownHosts = describeNcclJob(16, 4, {"a", "b"}, nullptr, CostModel());
  EXPECT_EQ(unknownHosts.racks.size(), 1u);
}

// Through the ABI, as NCCL calls it: the job's hosts from Slurm's node list, racks from a
// topology file; NCCL's ring and tree estimates scaled by the racks' cost, NCCL's -1 entries and
// the other algorithms kept, and a job without rack metadata left as NCCL priced it.
TEST(NcclTunerPlugin, FillsTheTableNcclPasses) {
  void* library = dlopen("libnccl-net-strata.so", RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(library, nullptr) << dlerror();
  auto* tuner = static_cast<ncclTuner_v5_t*>(dlsym(library, "ncclTunerPlugin_v5"));
  ASSERT_NE(tuner, nullptr);
  EXPECT_STREQ(tuner->name, "Strata");
  char dir[] = "/tmp/strata_tuner_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string topology = std::string(dir) + "/topology.conf";
  std::ofstream(topology) << "SwitchName=rackA Nodes=n[0-3]\nSwitchName=rackB Nodes=n[4-7]\nSwitchName=spine Switches=rackA,rackB\n";
  setenv("STRATA_TOPO_FILE", topology.c_str(), 1);
  setenv("SLURM_JOB_NODELIST", "n[0-7]", 1);
  void* ctx = nullptr;
  ASSERT_EQ(tuner->init(&ctx, 7, 64, 8, nullptr, nullptr, nullptr), ncclSuccess);
  unsetenv("STRATA_TOPO_FILE");
  unsetenv("SLURM_JOB_NODELIST");
  unlink(topology.c_str());
  rmdir(dir);

  float table[NCCL_NUM_ALGORITHMS_V5][NCCL_NUM_PROTOCOLS_V5];
  for (auto& row : table) {
    for (float& entry : row) entry = 12345.0f;
  }
  table[NCCL_ALGO_TREE][NCCL_PROTO_LL128] = NCCL_ALGO_PROTO_IGNORE;
  int channels = 7;
  ASSERT_EQ(tuner->getCollInfo(ctx, ncclFuncAllReduce, 8, 1, reinterpret_cast<float**>(table), NCCL_NUM_ALGORITHMS_V5,
                               NCCL_NUM_PROTOCOLS_V5, 0, &channels),
            ncclSuccess);
  EXPECT_EQ(table[NCCL_ALGO_TREE][NCCL_PROTO_LL128], NCCL_ALGO_PROTO_IGNORE);
  // Two racks: NCCL's own estimates of its ring and trees grow by what the crossings cost.
  EXPECT_GT(table[NCCL_ALGO_TREE][NCCL_PROTO_LL], 12345.0f);
  EXPECT_GT(table[NCCL_ALGO_RING][NCCL_PROTO_SIMPLE], 12345.0f);
  for (int a = 2; a < NCCL_NUM_ALGORITHMS_V5; ++a) {
    for (int p = 0; p < NCCL_NUM_PROTOCOLS_V5; ++p) EXPECT_EQ(table[a][p], 12345.0f) << "algorithm " << a;
  }
  EXPECT_EQ(channels, 7);
  // The racks were read: the same job priced by the model with those racks gives the same entry.
  SwitchTree tree;
  for (int i = 0; i < 8; ++i) tree.pathOfHost["n" + std::to_string(i)] = {"spine", i < 4 ? "rackA" : "rackB"};
  std::vector<std::string> hosts;
  for (int i = 0; i < 8; ++i) hosts.push_back("n" + std::to_string(i));
  NcclJobShape job = describeNcclJob(64, 8, hosts, &tree, CostModel());
  const double factor =
      rackFactor(job, withoutRacks(job), ncclDefaultLatencies(), ncclFuncAllReduce, NCCL_ALGO_RING, NCCL_PROTO_SIMPLE, 8);
  EXPECT_GT(factor, 1.0);
  EXPECT_FLOAT_EQ(table[NCCL_ALGO_RING][NCCL_PROTO_SIMPLE], static_cast<float>(12345.0 * factor));

  float untouched[NCCL_NUM_ALGORITHMS_V5][NCCL_NUM_PROTOCOLS_V5];
  for (auto& row : untouched) {
    for (float& entry : row) entry = 5.0f;
  }
  ASSERT_EQ(tuner->getCollInfo(ctx, ncclFuncAlltoAll, 1024, 1, reinterpret_cast<float**>(untouched), NCCL_NUM_ALGORITHMS_V5,
                               NCCL_NUM_PROTOCOLS_V5, 0, &channels),
            ncclSuccess);
  for (auto& row : untouched) {
    for (float entry : row) EXPECT_EQ(entry, 5.0f);
  }
  // Without rack metadata (no topology file): one rack, NCCL's table as it was.
  void* flatCtx = nullptr;
  ASSERT_EQ(tuner->init(&flatCtx, 8, 64, 8, nullptr, nullptr, nullptr), ncclSuccess);
  float flatTable[NCCL_NUM_ALGORITHMS_V5][NCCL_NUM_PROTOCOLS_V5];
  for (auto& row : flatTable) {
    for (float& entry : row) entry = 777.0f;
  }
  ASSERT_EQ(tuner->getCollInfo(flatCtx, ncclFuncAllReduce, 1 << 20, 1, reinterpret_cast<float**>(flatTable),
                               NCCL_NUM_ALGORITHMS_V5, NCCL_NUM_PROTOCOLS_V5, 0, &channels),
            ncclSuccess);
  for (auto& row : flatTable) {
    for (float entry : row) EXPECT_FLOAT_EQ(entry, 777.0f);
  }
  EXPECT_EQ(tuner->finalize(flatCtx), ncclSuccess);
  int local = 0;
  EXPECT_EQ(tuner->getCollInfo(&local, ncclFuncAllReduce, 8, 1, reinterpret_cast<float**>(table), 7, 3, 0, &channels),
            ncclInternalError);
  EXPECT_EQ(tuner->finalize(ctx), ncclSuccess);
  EXPECT_EQ(tuner->finalize(ctx), ncclInternalError);
}

}  // namespace
}  // namespace strata::nccl_net
