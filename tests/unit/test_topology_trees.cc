// Double binary trees: every node appears once, at most 2 children, the two trees complementary
// (no node is interior in both), and the rack-aware trees cross racks only between rack roots.
#include <gtest/gtest.h>

#include "topology/trees.h"

namespace {

void expectValidTree(const strata::Tree& t, int count) {
  ASSERT_EQ(static_cast<int>(t.parent.size()), count);
  ASSERT_GE(t.root, 0);
  EXPECT_EQ(t.parent[static_cast<size_t>(t.root)], -1);
  // Every node reaches the root (no cycles, one component).
  for (int i = 0; i < count; ++i) {
    int steps = 0;
    for (int v = i; v != t.root; v = t.parent[static_cast<size_t>(v)]) {
      ASSERT_GE(t.parent[static_cast<size_t>(v)], 0) << "node " << v << " has no parent and is not the root";
      ASSERT_LE(++steps, count);
    }
    for (int c : t.children[static_cast<size_t>(i)]) EXPECT_EQ(t.parent[static_cast<size_t>(c)], i);
  }
}

TEST(Trees, DoubleBinaryTreesAreComplementary) {
  for (int count = 1; count <= 64; ++count) {
    auto [a, b] = strata::doubleBinaryTree(count);
    expectValidTree(a, count);
    expectValidTree(b, count);
    int interiorInBoth = 0;
    for (int i = 0; i < count; ++i) {
      EXPECT_LE(a.children[static_cast<size_t>(i)].size(), 2u);
      EXPECT_LE(b.children[static_cast<size_t>(i)].size(), 2u);
      if (!a.children[static_cast<size_t>(i)].empty() && !b.children[static_cast<size_t>(i)].empty()) ++interiorInBoth;
    }
    // The shift (odd counts) leaves at most one node interior in both trees, the mirror none.
    EXPECT_LE(interiorInBoth, count % 2 == 1 ? 1 : 0) << "count " << count;
  }
}

TEST(Trees, DepthIsLogarithmic) {
  auto [a, b] = strata::doubleBinaryTree(1000);
  for (const strata::Tree* t : {&a, &b}) {
    int deepest = 0;
    for (int i = 0; i < 1000; ++i) {
      int depth = 0;
      for (int v = i; v != t->root; v = t->parent[static_cast<size_t>(v)]) ++depth;
      deepest = std::max(deepest, depth);
    }
    EXPECT_LE(deepest, 10);
  }
}

TEST(Trees, RackAwareTreesCrossRacksOnlyBetweenRackRoots) {
  // 3 racks x 4 hosts, hosts numbered round-robin across racks.
  std::vector<strata::RankPlacement> places;
  for (int h = 0; h < 12; ++h) {
    std::string name = "h" + std::to_string(h);
    places.push_back({name, name, {"rack" + std::to_string(h % 3)}, 0});
  }
  strata::Hierarchy hierarchy(places);
  auto [a, b] = strata::rackAwareHostTrees(hierarchy);
  expectValidTree(a, 12);
  expectValidTree(b, 12);
  EXPECT_EQ(strata::crossRackEdges(a, hierarchy), 2);
  EXPECT_EQ(strata::crossRackEdges(b, hierarchy), 2);
  EXPECT_NE(strata::describeTree(a).find("root"), std::string::npos);
}

}  // namespace
