// Double binary trees (as NCCL builds them across nodes): two binary trees over the same nodes in
// which every interior node of one is a leaf of the other, so a pipelined reduce+broadcast can
// run half the data down each tree and keep every node's links busy both ways.
// Rack-aware version: each rack gets its own pair of subtrees over its hosts, and the racks'
// subtree roots are joined by a pair of trees across racks, so only O(racks) edges cross uplinks.
#pragma once

#include <string>
#include <vector>

#include "hierarchy.h"

namespace strata {

struct Tree {
  int root = -1;
  std::vector<int> parent;                 // -1 for the root
  std::vector<std::vector<int>> children;  // at most 2 per node in a binary tree (more where subtrees join)
};

// Two complementary binary trees over nodes 0..count-1 (count >= 1).
std::pair<Tree, Tree> doubleBinaryTree(int count);

// Two trees over the hierarchy's hosts (indices into hierarchy.hosts()): binary within each rack,
// rack roots joined by a double binary tree across racks.
std::pair<Tree, Tree> rackAwareHostTrees(const Hierarchy& hierarchy);

// Edges whose ends are in different racks (what the uplinks carry).
int crossRackEdges(const Tree& tree, const Hierarchy& hierarchy);

// "0 -> (1, 2); 1 -> (3)": parents and children, for strata-topo and logs.
std::string describeTree(const Tree& tree);

}  // namespace strata
