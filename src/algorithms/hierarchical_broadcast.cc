// Hierarchical broadcast: a tree shaped by the hierarchy, pipelined in chunks. The root sends to
// the other ranks of its host, to the leaders (first ranks) of the other hosts of its rack, and to
// one leader host per other rack; a rack's leader host passes the data to the leaders of its
// rack's other hosts, and every host leader to its host's ranks. Each rack uplink carries the
// message once, each host link once, the rest moves over shm; stage k receives chunk k while
// passing chunk k-1 on. Cost: (depth + chunks - 1) chunk steps, depth <= 3.
#include <cmath>
#include <map>

#include "src/algorithms/algorithms.h"
#include "src/algorithms/message_work.h"

namespace strata {
namespace {

int parentOf(const Hierarchy& h, int rank, int root) {
  if (rank == root) return -1;
  const int host = h.hostOf(rank), rootHost = h.hostOf(root);
  const HostGroup& group = h.hosts()[static_cast<size_t>(host)];
  if (host == rootHost) return root;
  if (rank != group.ranks.front()) return group.ranks.front();  // host leader feeds its host
  const RackGroup& rack = h.racks()[static_cast<size_t>(group.rack)];
  if (group.rack == h.hosts()[static_cast<size_t>(rootHost)].rack) return root;  // root's rack
  const int rackLeaderHost = rack.hosts.front();
  if (host == rackLeaderHost) return root;  // one crossing per rack
  return h.hosts()[static_cast<size_t>(rackLeaderHost)].ranks.front();
}

}  // namespace

Plan planHierarchicalBroadcast(const CollectiveShape& shape, const PlanTopology& topo) {
  if (topo.hierarchy == nullptr || topo.hierarchy->nranks() != topo.nranks) return planChainBroadcast(shape, topo);
  const Hierarchy& h = *topo.hierarchy;
  Plan plan;
  plan.algorithm = "hierarchical broadcast";
  const size_t es = shape.elementSize;
  const int parent = parentOf(h, topo.rank, shape.root);
  std::vector<int> children;
  for (int r = 0; r < topo.nranks; ++r) {
    if (parentOf(h, r, shape.root) == topo.rank) children.push_back(r);
  }
  const size_t chunkElements = pipelineChunkElements(shape);
  const size_t chunks = ceilDiv(shape.count, chunkElements);
  auto chunkBytes = [&](size_t k) { return std::min(chunkElements, shape.count - k * chunkElements) * es; };
  auto at = [&](uint16_t buffer, size_t k) { return BufferSlice{buffer, k * chunkElements * es}; };
  if (parent < 0) {
    for (size_t k = 0; k < chunks || k == 0; ++k) {
      Stage& stage = plan.newStage();
      if (k == 0) Plan::copy(stage, {kRecvBuffer, 0}, {kSendBuffer, 0}, shape.bytes());
      if (k >= chunks) break;
      for (int child : children) Plan::send(stage, child, at(kSendBuffer, k), chunkBytes(k));
    }
  } else {
    for (size_t k = 0; k <= chunks; ++k) {
      Stage& stage = plan.newStage();
      if (k < chunks) Plan::recv(stage, parent, at(kRecvBuffer, k), chunkBytes(k));
      if (k > 0) {
        for (int child : children) Plan::send(stage, child, at(kRecvBuffer, k - 1), chunkBytes(k - 1));
      }
    }
  }
  plan.compact();
  return plan;
}

double costHierarchicalBroadcast(const CollectiveShape& shape, const CostContext& cost) {
  const Hierarchy& h = *cost.hierarchy;
  const double bytes = static_cast<double>(shape.bytes());
  const double chunk = std::min(bytes, static_cast<double>(pipelineChunkElements(shape) * shape.elementSize));
  const double chunks = chunk > 0 ? std::ceil(bytes / chunk) : 0;
  std::vector<std::pair<int, int>> edges;
  int depth = 0;
  for (int r = 0; r < h.nranks(); ++r) {
    int d = 0;
    for (int v = r; parentOf(h, v, shape.root) >= 0; v = parentOf(h, v, shape.root)) ++d;
    depth = std::max(depth, d);
    int p = parentOf(h, r, shape.root);
    if (p >= 0) edges.emplace_back(p, r);
  }
  if (edges.empty()) return cost.copySeconds(bytes);
  // A sender feeds its children one after another: the busiest sender sets the pace of a stage.
  std::map<int, double> senderSeconds;
  for (const auto& e : edges) senderSeconds[e.first] += cost.stepSeconds({e}, chunk);
  double stage = 0;
  for (const auto& [sender, seconds] : senderSeconds) stage = std::max(stage, seconds);
  return cost.copySeconds(bytes) + (depth + std::max(0.0, chunks - 1)) * stage;
}

// Work: every chunk crosses every edge of the tree once.
double workHierarchicalBroadcast(const CollectiveShape& shape, const CostContext& cost) {
  const Hierarchy& h = *cost.hierarchy;
  if (h.nranks() != cost.nranks()) return workChainBroadcast(shape, cost);
  const double chunks = static_cast<double>(ceilDiv(shape.count, pipelineChunkElements(shape)));
  double edges = 0;
  for (int r = 0; r < h.nranks(); ++r) {
    const int parent = parentOf(h, r, shape.root);
    if (parent >= 0) edges += cost.linkAlphaSeconds(parent, r);
  }
  if (cost.tally != nullptr) cost.tally->messageTerms += static_cast<uint64_t>(h.nranks());
  return chunks * edges;
}

}  // namespace strata
