#include "trees.h"

#include <functional>
#include <utility>

namespace strata {
namespace {

// In-order binary tree over 0..count-1, numbered v = i + 1: v's lowest set bit b says where it
// sits; odd v are leaves, even v have the left child v - b/2 and, as right child, v + s for the
// largest power of two s <= b/2 that stays in range. The root is the largest power of two <= count.
// Leaves are exactly the odd numbers, which is what makes the mirrored or shifted copy complementary.
Tree inOrderTree(int count) {
  Tree t;
  t.parent.assign(static_cast<size_t>(count), -1);
  t.children.assign(static_cast<size_t>(count), {});
  if (count == 0) return t;
  int root = 1;
  while (root * 2 <= count) root *= 2;
  t.root = root - 1;
  auto link = [&](int parent, int child) {
    t.parent[static_cast<size_t>(child - 1)] = parent - 1;
    t.children[static_cast<size_t>(parent - 1)].push_back(child - 1);
  };
  for (int v = 2; v <= count; v += 2) {
    int half = (v & -v) / 2;
    link(v, v - half);
    for (int s = half; s > 0; s /= 2) {
      if (v + s <= count) {
        link(v, v + s);
        break;
      }
    }
  }
  return t;
}

Tree relabel(const Tree& t, const std::function<int(int)>& map) {
  Tree out;
  size_t n = t.parent.size();
  out.parent.assign(n, -1);
  out.children.assign(n, {});
  out.root = map(t.root);
  for (size_t i = 0; i < n; ++i) {
    int to = map(static_cast<int>(i));
    out.parent[static_cast<size_t>(to)] = t.parent[i] < 0 ? -1 : map(t.parent[i]);
    for (int c : t.children[i]) out.children[static_cast<size_t>(to)].push_back(map(c));
  }
  return out;
}

}  // namespace

std::pair<Tree, Tree> doubleBinaryTree(int count) {
  Tree first = inOrderTree(count);
  // Odd counts: shift by one; even counts: mirror. Either way the interior nodes of one tree are
  // leaves of the other (the in-order tree's interior nodes are the even positions).
  Tree second = count % 2 == 1 ? relabel(first, [count](int i) { return (i + 1) % count; })
                               : relabel(first, [count](int i) { return count - 1 - i; });
  return {first, second};
}

std::pair<Tree, Tree> rackAwareHostTrees(const Hierarchy& hierarchy) {
  const auto& racks = hierarchy.racks();
  const int hostCount = static_cast<int>(hierarchy.hosts().size());
  Tree trees[2];
  for (Tree& t : trees) {
    t.parent.assign(static_cast<size_t>(hostCount), -1);
    t.children.assign(static_cast<size_t>(hostCount), {});
  }
  // Inside each rack: a double binary tree over its hosts.
  std::vector<int> rackRoot[2];
  for (const RackGroup& rack : racks) {
    auto local = doubleBinaryTree(static_cast<int>(rack.hosts.size()));
    const Tree* pair[2] = {&local.first, &local.second};
    for (int k = 0; k < 2; ++k) {
      for (size_t i = 0; i < rack.hosts.size(); ++i) {
        int host = rack.hosts[i];
        int p = pair[k]->parent[i];
        trees[k].parent[static_cast<size_t>(host)] = p < 0 ? -1 : rack.hosts[static_cast<size_t>(p)];
        for (int c : pair[k]->children[i]) trees[k].children[static_cast<size_t>(host)].push_back(rack.hosts[static_cast<size_t>(c)]);
      }
      rackRoot[k].push_back(rack.hosts[static_cast<size_t>(pair[k]->root)]);
    }
  }
  // Across racks: a double binary tree over the racks, joining their subtree roots.
  auto across = doubleBinaryTree(static_cast<int>(racks.size()));
  const Tree* pair[2] = {&across.first, &across.second};
  for (int k = 0; k < 2; ++k) {
    for (size_t r = 0; r < racks.size(); ++r) {
      int p = pair[k]->parent[r];
      if (p < 0) continue;
      int child = rackRoot[k][r], parent = rackRoot[k][static_cast<size_t>(p)];
      trees[k].parent[static_cast<size_t>(child)] = parent;
      trees[k].children[static_cast<size_t>(parent)].push_back(child);
    }
    trees[k].root = racks.empty() ? -1 : rackRoot[k][static_cast<size_t>(pair[k]->root)];
  }
  return {trees[0], trees[1]};
}

int crossRackEdges(const Tree& tree, const Hierarchy& hierarchy) {
  int edges = 0;
  for (size_t i = 0; i < tree.parent.size(); ++i) {
    int p = tree.parent[i];
    if (p >= 0 && hierarchy.hosts()[i].rack != hierarchy.hosts()[static_cast<size_t>(p)].rack) ++edges;
  }
  return edges;
}

std::string describeTree(const Tree& tree) {
  std::string text = "root " + std::to_string(tree.root);
  for (size_t i = 0; i < tree.children.size(); ++i) {
    if (tree.children[i].empty()) continue;
    text += "; " + std::to_string(i) + " -> (";
    for (size_t c = 0; c < tree.children[i].size(); ++c) text += (c ? ", " : "") + std::to_string(tree.children[i][c]);
    text += ")";
  }
  return text;
}

}  // namespace strata
