// STRATA_ALGO parsing and the default size rule.
#include <gtest/gtest.h>

#include "algorithms/selection.h"

namespace {

strata::CollectiveShape shape(strata::CollectiveKind kind, size_t bytes, size_t windowBytes = 0) {
  strata::CollectiveShape s;
  s.kind = kind;
  s.count = bytes;
  s.elementSize = 1;
  s.windowBytes = windowBytes;
  return s;
}

TEST(Selection, DefaultRuleBySize) {
  auto selector = strata::AlgorithmSelector::parse("");
  ASSERT_TRUE(selector.ok());
  EXPECT_STREQ(selector.value().choose(shape(strata::CollectiveKind::AllReduce, 8), 4).name, "recursive_doubling");
  EXPECT_STREQ(selector.value().choose(shape(strata::CollectiveKind::AllReduce, 1 << 20), 4).name, "ring");
  EXPECT_STREQ(selector.value().choose(shape(strata::CollectiveKind::Broadcast, 8), 4).name, "chain");
  // With peer memory (one host), small allreduces go one-shot; too large ones do not.
  EXPECT_STREQ(selector.value().choose(shape(strata::CollectiveKind::AllReduce, 8), 4, 16384).name, "one_shot");
  EXPECT_STREQ(selector.value().choose(shape(strata::CollectiveKind::AllReduce, 32768), 4, 16384).name, "recursive_doubling");
  EXPECT_STREQ(selector.value().choose(shape(strata::CollectiveKind::AllReduce, 8192), 2, 16384).name, "recursive_doubling");
  EXPECT_STREQ(selector.value().choose(shape(strata::CollectiveKind::AllReduce, 512), 2, 16384).name, "one_shot");
  // Larger ones go two-shot through the windows, at any size.
  EXPECT_STREQ(selector.value().choose(shape(strata::CollectiveKind::AllReduce, 65536, 4096), 2, 4096).name, "two_shot");
  EXPECT_STREQ(selector.value().choose(shape(strata::CollectiveKind::AllReduce, 1 << 30, 4096), 8, 4096).name, "two_shot");
  EXPECT_STREQ(selector.value().choose(shape(strata::CollectiveKind::AllReduce, 1 << 30, 0), 8, 0).name, "ring");
}

TEST(Selection, ForcedTwoShotNeedsWindows) {
  auto selector = strata::AlgorithmSelector::parse("two_shot");
  ASSERT_TRUE(selector.ok());
  EXPECT_STREQ(selector.value().choose(shape(strata::CollectiveKind::AllReduce, 8, 0), 4).name, "recursive_doubling");
  EXPECT_STREQ(selector.value().choose(shape(strata::CollectiveKind::AllReduce, 8, 64), 4).name, "two_shot");
}

TEST(Selection, ForcedOneShotNeedsPeerMemory) {
  auto selector = strata::AlgorithmSelector::parse("allreduce:one_shot");
  ASSERT_TRUE(selector.ok());
  EXPECT_STREQ(selector.value().choose(shape(strata::CollectiveKind::AllReduce, 8), 4, 0).name, "recursive_doubling");
  EXPECT_STREQ(selector.value().choose(shape(strata::CollectiveKind::AllReduce, 8), 4, 64).name, "one_shot");
}

TEST(Selection, ForcedNamesAndPerCollectiveLists) {
  auto selector = strata::AlgorithmSelector::parse("Ring");
  ASSERT_TRUE(selector.ok());
  EXPECT_STREQ(selector.value().choose(shape(strata::CollectiveKind::AllReduce, 8), 4).name, "ring");
  EXPECT_STREQ(selector.value().choose(shape(strata::CollectiveKind::Broadcast, 8), 4).name, "chain");
  auto perCollective = strata::AlgorithmSelector::parse("allreduce:recursive-doubling;allgather:ring");
  ASSERT_TRUE(perCollective.ok());
  EXPECT_STREQ(perCollective.value().choose(shape(strata::CollectiveKind::AllReduce, 1 << 24), 4).name, "recursive_doubling");
}

TEST(Selection, UnknownNamesAreErrorsThatListTheAlgorithms) {
  auto bad = strata::AlgorithmSelector::parse("rign");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), strataInvalidArgument);
  EXPECT_NE(bad.status().message().find("rign"), std::string::npos);
  EXPECT_NE(bad.status().message().find("recursive_doubling"), std::string::npos);
  EXPECT_FALSE(strata::AlgorithmSelector::parse("allredcue:ring").ok());
}

}  // namespace
