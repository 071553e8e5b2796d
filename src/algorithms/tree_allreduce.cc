// Double binary tree allreduce across hosts: each host first reduces into its leader (its first
// rank in ring order) over shm; the leaders then reduce up and broadcast down two trees (the
// rack-aware pair from topology/trees.h: binary inside each rack, rack roots joined across racks,
// so only racks-1 edges per tree cross uplinks), the message cut into chunks that alternate
// between the trees and flow pipelined — stage s receives chunk s from below while passing chunk
// s-1 up; finally each leader hands the result to its host's ranks.
// Cost: ~(depth + chunks) chunk steps up and down: 2·depth·alpha + 2·S/beta per leader link,
// latency logarithmic in hosts with only O(racks) uplink crossings. Every wait is on a stage with
// a higher number at the peer, so the two trees never deadlock each other.
#include <cmath>

#include "src/algorithms/algorithms.h"
#include "src/algorithms/message_work.h"
#include "topology/trees.h"

namespace strata {
namespace {

constexpr size_t kTreeChunkBytes = 128 * 1024;

size_t chunkCount(const CollectiveShape& shape) {
  size_t chunks = ceilDiv(shape.bytes(), kTreeChunkBytes);
  return std::max<size_t>(2, chunks + chunks % 2);  // even: both trees get as many chunks
}

}  // namespace

Plan planTreeAllReduce(const CollectiveShape& shape, const PlanTopology& topo) {
  if (topo.hierarchy == nullptr || topo.hierarchy->nranks() != topo.nranks) return planRingAllReduce(shape, topo);
  const Hierarchy& h = *topo.hierarchy;
  Plan plan;
  plan.algorithm = "double binary tree allreduce";
  const size_t es = shape.elementSize;
  const HostGroup& host = h.hosts()[static_cast<size_t>(h.hostOf(topo.rank))];
  const int leader = host.ranks.front();
  if (topo.rank != leader) {
    Plan::send(plan.newStage(), leader, {kSendBuffer, 0}, shape.bytes());
    Plan::recv(plan.newStage(), leader, {kRecvBuffer, 0}, shape.bytes());
    plan.compact();
    return plan;
  }
  Stage& gather = plan.newStage();
  Plan::copy(gather, {kRecvBuffer, 0}, {kSendBuffer, 0}, shape.bytes());
  for (size_t i = 1; i < host.ranks.size(); ++i) {
    Plan::recvReduce(gather, host.ranks[i], {kRecvBuffer, 0}, {kRecvBuffer, 0}, shape.bytes());
  }
  const auto trees = rackAwareHostTrees(h);
  const Tree* tree[2] = {&trees.first, &trees.second};
  const int me = h.hostOf(topo.rank);
  auto leaderOf = [&](int hostIndex) { return h.hosts()[static_cast<size_t>(hostIndex)].ranks.front(); };
  const size_t chunks = chunkCount(shape);
  auto chunk = [&](size_t c) {
    ElementRange r = partOf(shape.count, chunks, c);
    return std::make_pair(BufferSlice{kRecvBuffer, r.begin * es}, r.size * es);
  };
  auto parent = [&](size_t c) { return tree[c % 2]->parent[static_cast<size_t>(me)]; };
  auto children = [&](size_t c) { return tree[c % 2]->children[static_cast<size_t>(me)]; };
  // Up: stage s folds chunk s from the children of its tree and passes chunk s-1 up its tree.
  for (size_t s = 0; s <= chunks; ++s) {
    Stage& stage = plan.newStage();
    if (s < chunks) {
      auto [at, bytes] = chunk(s);
      for (int child : children(s)) Plan::recvReduce(stage, leaderOf(child), at, at, bytes);
    }
    if (s >= 1 && parent(s - 1) >= 0) {
      auto [at, bytes] = chunk(s - 1);
      Plan::send(stage, leaderOf(parent(s - 1)), at, bytes);
    }
  }
  // Down: stage s takes chunk s from the parent of its tree and hands chunk s-1 to its children.
  for (size_t s = 0; s <= chunks; ++s) {
    Stage& stage = plan.newStage();
    if (s < chunks && parent(s) >= 0) {
      auto [at, bytes] = chunk(s);
      Plan::recv(stage, leaderOf(parent(s)), at, bytes);
    }
    if (s >= 1) {
      auto [at, bytes] = chunk(s - 1);
      for (int child : children(s - 1)) Plan::send(stage, leaderOf(child), at, bytes);
    }
  }
  Stage& scatter = plan.newStage();
  for (size_t i = 1; i < host.ranks.size(); ++i) Plan::send(scatter, host.ranks[i], {kRecvBuffer, 0}, shape.bytes());
  plan.compact();
  return plan;
}

double costTreeAllReduce(const CollectiveShape& shape, const CostContext& cost) {
  const Hierarchy& h = *cost.hierarchy;
  const double bytes = static_cast<double>(shape.bytes());
  double seconds = 0;
  std::vector<std::pair<int, int>> toLeader, fromLeader;
  for (const HostGroup& host : h.hosts()) {
    for (size_t i = 1; i < host.ranks.size(); ++i) {
      toLeader.emplace_back(host.ranks[i], host.ranks.front());
      fromLeader.emplace_back(host.ranks.front(), host.ranks[i]);
    }
  }
  if (!toLeader.empty()) {
    const double locals = static_cast<double>(h.hosts().front().ranks.size() - 1);
    seconds += locals * cost.stepSeconds(toLeader, bytes) + locals * cost.reduceSeconds(bytes);
    seconds += locals * cost.stepSeconds(fromLeader, bytes);
  }
  if (h.hosts().size() > 1) {
    // Edges grouped by the depth of their child, both trees together (chunks alternate between
    // the trees, so both are busy at once).
    const auto trees = rackAwareHostTrees(h);
    std::vector<std::vector<std::pair<int, int>>> levels;
    for (const Tree* t : {&trees.first, &trees.second}) {
      for (size_t i = 0; i < t->parent.size(); ++i) {
        if (t->parent[i] < 0) continue;
        size_t d = 0;
        for (int v = static_cast<int>(i); t->parent[static_cast<size_t>(v)] >= 0; v = t->parent[static_cast<size_t>(v)]) ++d;
        if (levels.size() < d) levels.resize(d);
        levels[d - 1].emplace_back(h.hosts()[i].ranks.front(), h.hosts()[static_cast<size_t>(t->parent[i])].ranks.front());
      }
    }
    const double chunks = static_cast<double>(chunkCount(shape));
    const double chunk = bytes / chunks;
    // A pipeline: the first chunk pays every level once (fill), each further chunk of a tree the
    // slowest level; the same again on the way down. Upward steps also fold up to two children.
    double fill = 0, slowest = 0;
    for (const auto& edges : levels) {
      double level = cost.stepSeconds(edges, chunk);
      fill += level;
      slowest = std::max(slowest, level);
    }
    const double perTreeChunks = chunks / 2;
    const double oneWay = fill + (perTreeChunks - 1) * slowest;
    seconds += oneWay + perTreeChunks * 2 * cost.reduceSeconds(chunk) * static_cast<double>(levels.size());
    seconds += oneWay;
  }
  return seconds;
}

// Work: every rank but a host's leader sends its buffer to the leader and gets the result back;
// across hosts each tree edge carries each non-empty chunk of its tree once up and once down.
double workTreeAllReduce(const CollectiveShape& shape, const CostContext& cost) {
  const Hierarchy& h = *cost.hierarchy;
  if (h.nranks() != cost.nranks()) return workRingAllReduce(shape, cost);
  if (shape.count == 0) return 0;
  double work = 0;
  for (const HostGroup& host : h.hosts()) {
    for (size_t i = 1; i < host.ranks.size(); ++i) {
      work += cost.linkAlphaSeconds(host.ranks[i], host.ranks.front()) + cost.linkAlphaSeconds(host.ranks.front(), host.ranks[i]);
    }
  }
  if (h.hosts().size() < 2) return work;
  const size_t filled = nonEmptyParts(shape.count, chunkCount(shape));  // chunks alternate trees: 0, 1, 0, ...
  const double chunksOfTree[2] = {static_cast<double>((filled + 1) / 2), static_cast<double>(filled / 2)};
  const auto trees = rackAwareHostTrees(h);
  const Tree* tree[2] = {&trees.first, &trees.second};
  auto leaderOf = [&](int hostIndex) { return h.hosts()[static_cast<size_t>(hostIndex)].ranks.front(); };
  for (int k = 0; k < 2; ++k) {
    for (size_t i = 0; i < tree[k]->parent.size(); ++i) {
      const int parent = tree[k]->parent[i];
      if (parent < 0) continue;
      const int child = leaderOf(static_cast<int>(i)), above = leaderOf(parent);
      work += chunksOfTree[k] * (cost.linkAlphaSeconds(child, above) + cost.linkAlphaSeconds(above, child));
    }
  }
  if (cost.tally != nullptr) cost.tally->messageTerms += static_cast<uint64_t>(h.nranks()) + 2 * h.hosts().size();
  return work;
}

}  // namespace strata
