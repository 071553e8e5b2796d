// What a rank's kernel reads and writes when the ranks of a host read each other's device memory
// (src/api/peer_memory_plan.h), for every kind it takes: the sources and offsets, and where
// in-place calls must write to scratch (their writes would land on bytes a reader still takes) or
// may skip their own block.
#include <gtest/gtest.h>

#include <vector>

#include "src/api/peer_memory_plan.h"

namespace strata::api {
namespace {

using Kernel = PeerMemoryPlan::Kernel;

// Buffers are only compared as addresses here, never touched.
char gMemory[4 << 20];

CollectiveCall callOf(CollectiveKind kind, size_t count, size_t sendAt, size_t recvAt, int root = 0) {
  CollectiveCall call;
  call.shape.kind = kind;
  call.shape.count = count;
  call.shape.elementSize = 4;
  call.shape.root = root;
  call.send = gMemory + sendAt;
  call.recv = gMemory + recvAt;
  call.dtype = strataFloat32;
  call.op = strataSum;
  return call;
}

// The one stage of a one-shot plan.
const PeerMemoryPlan::Stage& only(const PeerMemoryPlan& plan) {
  EXPECT_EQ(plan.stages.size(), 1u);
  return plan.stages.front();
}

std::vector<int> ranksOf(const PeerMemoryPlan& plan) {
  std::vector<int> ranks;
  for (const auto& s : only(plan).sources) ranks.push_back(s.rank);
  return ranks;
}

TEST(PeerMemoryPlan, AllReduceReducesEveryRankInRankOrder) {
  PeerMemoryPlan plan = planPeerMemory(callOf(CollectiveKind::AllReduce, 100, 0, 4096), 1, 3);
  EXPECT_EQ(only(plan).kernel, Kernel::Reduce);
  EXPECT_EQ(ranksOf(plan), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(only(plan).count, 100u);
  EXPECT_TRUE(plan.sendRead);
  EXPECT_FALSE(plan.scratch);
  PeerMemoryPlan inPlace = planPeerMemory(callOf(CollectiveKind::AllReduce, 100, 0, 0), 1, 3);
  EXPECT_TRUE(inPlace.scratch);  // peers read this rank's input while its kernel writes it
}

TEST(PeerMemoryPlan, AverageDividesOnlyReductions) {
  CollectiveCall call = callOf(CollectiveKind::AllReduce, 10, 0, 4096);
  call.op = strataAvg;
  EXPECT_TRUE(only(planPeerMemory(call, 0, 2)).average);
}

TEST(PeerMemoryPlan, ReduceScatterReadsThisRanksBlockOfEveryInput) {
  PeerMemoryPlan plan = planPeerMemory(callOf(CollectiveKind::ReduceScatter, 10, 0, 8192), 2, 4);
  ASSERT_EQ(only(plan).sources.size(), 4u);
  for (const auto& s : only(plan).sources) EXPECT_EQ(s.offset, 80u);
  // In place (recvbuff is this rank's block of sendbuff): scratch.
  EXPECT_TRUE(planPeerMemory(callOf(CollectiveKind::ReduceScatter, 10, 0, 80), 2, 4).scratch);
}

TEST(PeerMemoryPlan, ReduceRunsOnTheRootOnly) {
  EXPECT_EQ(only(planPeerMemory(callOf(CollectiveKind::Reduce, 10, 0, 4096, 1), 1, 3)).kernel, Kernel::Reduce);
  PeerMemoryPlan other = planPeerMemory(callOf(CollectiveKind::Reduce, 10, 0, 4096, 1), 0, 3);
  EXPECT_EQ(only(other).kernel, Kernel::None);
  EXPECT_TRUE(other.sendRead);  // the root reads it
}

TEST(PeerMemoryPlan, BroadcastCopiesTheRootsBuffer) {
  PeerMemoryPlan leaf = planPeerMemory(callOf(CollectiveKind::Broadcast, 10, 0, 4096, 2), 0, 3);
  EXPECT_EQ(only(leaf).kernel, Kernel::Copy);
  EXPECT_EQ(ranksOf(leaf), (std::vector<int>{2}));
  EXPECT_FALSE(leaf.sendRead);
  EXPECT_EQ(only(planPeerMemory(callOf(CollectiveKind::Broadcast, 10, 0, 0, 2), 2, 3)).kernel, Kernel::None);
  EXPECT_EQ(only(planPeerMemory(callOf(CollectiveKind::Broadcast, 10, 0, 4096, 2), 2, 3)).kernel, Kernel::Copy);
}

TEST(PeerMemoryPlan, AllGatherInPlaceSkipsItsOwnBlockWithoutScratch) {
  PeerMemoryPlan out = planPeerMemory(callOf(CollectiveKind::AllGather, 10, 0, 4096), 1, 3);
  EXPECT_EQ(ranksOf(out), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(only(out).sources[2].dstOffset, 80u);
  PeerMemoryPlan in = planPeerMemory(callOf(CollectiveKind::AllGather, 10, 4096 + 40, 4096), 1, 3);
  EXPECT_EQ(ranksOf(in), (std::vector<int>{0, 2}));
  EXPECT_FALSE(in.scratch);
  // A sendbuff overlapping recvbuff any other way: scratch.
  EXPECT_TRUE(planPeerMemory(callOf(CollectiveKind::AllGather, 10, 4096, 4096), 1, 3).scratch);
}

TEST(PeerMemoryPlan, AllToAllReadsThisRanksBlockOfEveryPeer) {
  PeerMemoryPlan plan = planPeerMemory(callOf(CollectiveKind::AllToAll, 10, 0, 4096), 1, 3);
  ASSERT_EQ(only(plan).sources.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(only(plan).sources[k].offset, 40u);
    EXPECT_EQ(only(plan).sources[k].dstOffset, 40u * k);
  }
  EXPECT_TRUE(planPeerMemory(callOf(CollectiveKind::AllToAll, 10, 0, 0), 1, 3).scratch);
}

TEST(PeerMemoryPlan, GatherAndScatterInPlaceAtTheRoot) {
  EXPECT_EQ(only(planPeerMemory(callOf(CollectiveKind::Gather, 10, 0, 4096, 1), 0, 3)).kernel, Kernel::None);
  PeerMemoryPlan gather = planPeerMemory(callOf(CollectiveKind::Gather, 10, 4096 + 40, 4096, 1), 1, 3);
  EXPECT_EQ(ranksOf(gather), (std::vector<int>{0, 2}));
  EXPECT_FALSE(gather.scratch);
  PeerMemoryPlan leaf = planPeerMemory(callOf(CollectiveKind::Scatter, 10, 0, 4096, 1), 2, 3);
  ASSERT_EQ(only(leaf).sources.size(), 1u);
  EXPECT_EQ(only(leaf).sources[0].offset, 80u);
  EXPECT_EQ(only(planPeerMemory(callOf(CollectiveKind::Scatter, 10, 0, 40, 1), 1, 3)).kernel, Kernel::None);
}

TEST(PeerMemoryPlan, LargeAllReducesOfThreeOrMoreRanksGoInTwoStages) {
  // Slices cut on 16-byte boundaries: 21848, 21844 and 21844 + 1 elements.
  const size_t count = kTwoShotBytes / 4 + 1;
  PeerMemoryPlan plan = planPeerMemory(callOf(CollectiveKind::AllReduce, count, 0, 0), 2, 3);
  ASSERT_EQ(plan.stages.size(), 2u);
  EXPECT_FALSE(plan.scratch);  // in place, without scratch
  EXPECT_TRUE(plan.recvRead);
  const auto& reduce = plan.stages[0];
  EXPECT_EQ(reduce.kernel, Kernel::Reduce);
  EXPECT_EQ(reduce.count, 21845u);
  for (const auto& s : reduce.sources) EXPECT_EQ(s.offset, 43692u * 4);
  EXPECT_EQ(reduce.dstOffset, 43692u * 4);  // into this rank's own slice
  const auto& gather = plan.stages[1];
  EXPECT_EQ(gather.kernel, Kernel::Copy);
  ASSERT_EQ(gather.sources.size(), 2u);
  EXPECT_TRUE(gather.sources[0].fromRecv);
  EXPECT_EQ(gather.sources[1].offset, 21848u * 4);
  EXPECT_EQ(gather.sources[1].bytes, 21844u * 4);
  for (const auto& s : gather.sources) EXPECT_EQ(s.offset % 16, 0u);
  // Below the size, with 2 ranks, or with buffers that overlap partly: one stage.
  EXPECT_EQ(planPeerMemory(callOf(CollectiveKind::AllReduce, count - 2, 0, 0), 2, 3).stages.size(), 1u);
  EXPECT_EQ(planPeerMemory(callOf(CollectiveKind::AllReduce, count, 0, 0), 1, 2).stages.size(), 1u);
  EXPECT_EQ(planPeerMemory(callOf(CollectiveKind::AllReduce, count, 0, 4), 1, 3).stages.size(), 1u);
}

TEST(PeerMemoryPlan, TakesNeitherAllToAllvNorBarrier) {
  EXPECT_FALSE(peerMemoryTakes(CollectiveKind::AllToAllv));
  EXPECT_FALSE(peerMemoryTakes(CollectiveKind::Barrier));
  EXPECT_TRUE(peerMemoryTakes(CollectiveKind::Scatter));
}

}  // namespace
}  // namespace strata::api
