#include "plugins/nccl_net/tuner_model.h"

#include <algorithm>
#include <map>

namespace strata::nccl_net {
namespace {

using namespace ncclabi;

// Payload share of each protocol's wire format.
constexpr double kProtocolEfficiency[NCCL_NUM_PROTOCOLS_V5] = {0.5, 120.0 / 128.0, 1.0};

int binaryTreeParent(int node, int nodes) {
  if (node == 0) return -1;
  const int lowest = node & -node;
  int parent = (node ^ lowest) | (lowest << 1);  // the next level up, on the side the node is on
  if (parent >= nodes) parent = node ^ lowest;   // that side is cut off by the node count
  return parent;
}

int log2Floor(int n) {
  int levels = 0;
  while ((1 << (levels + 1)) <= n) ++levels;
  return levels;
}

// Directed node-to-node flows of a structure, and what they make of the rack uplinks.
struct FlowLoad {
  std::vector<int> out, in;  // per rack: flows leaving, entering
  int crossings = 0;
};

void addFlow(const NcclJobShape& job, FlowLoad& load, int from, int to) {
  const int a = job.rackOfNode[static_cast<size_t>(from)];
  const int b = job.rackOfNode[static_cast<size_t>(to)];
  if (a == b) return;
  ++load.out[static_cast<size_t>(a)];
  ++load.in[static_cast<size_t>(b)];
  ++load.crossings;
}

// The slowest node-to-node rate of a structure whose flows are `load`.
double bottleneckRate(const NcclJobShape& job, const FlowLoad& load) {
  const CostModel& m = job.costs;
  double rate = m.net.betaGBps;
  std::vector<int> hostsInRack(job.racks.size(), 0);
  for (int rack : job.rackOfNode) ++hostsInRack[static_cast<size_t>(rack)];
  for (size_t r = 0; r < job.racks.size(); ++r) {
    const int flows = std::max(load.out[r], load.in[r]);
    if (flows == 0) continue;
    const double uplink = hostsInRack[r] * m.net.betaGBps / std::max(m.uplinkOversubscription, 1e-9);
    rate = std::min({rate, m.interRack.betaGBps, uplink / flows});
  }
  return rate;
}

FlowLoad emptyLoad(const NcclJobShape& job) {
  FlowLoad load;
  load.out.assign(job.racks.size(), 0);
  load.in.assign(job.racks.size(), 0);
  return load;
}

FlowLoad ringLoad(const NcclJobShape& job) {
  FlowLoad load = emptyLoad(job);
  for (int node = 0; node < job.nNodes; ++node) addFlow(job, load, node, (node + 1) % job.nNodes);
  return load;
}

// Both trees, data flowing up and down every edge.
FlowLoad treeLoad(const NcclJobShape& job, int* crossingDepth) {
  FlowLoad load = emptyLoad(job);
  *crossingDepth = 0;
  for (int tree = 0; tree < 2; ++tree) {
    for (int node = 0; node < job.nNodes; ++node) {
      const int parent = ncclTreeParent(tree, node, job.nNodes);
      if (parent < 0) continue;
      addFlow(job, load, node, parent);
      addFlow(job, load, parent, node);
      int depth = 0;
      for (int n = node, p = parent; p >= 0; n = p, p = ncclTreeParent(tree, p, job.nNodes)) {
        depth += job.rackOfNode[static_cast<size_t>(n)] != job.rackOfNode[static_cast<size_t>(p)];
      }
      *crossingDepth = std::max(*crossingDepth, depth);
    }
  }
  load.crossings /= 2;  // each crossing edge was counted up and down
  return load;
}

}  // namespace

int ncclTreeParent(int tree, int node, int nodes) {
  if (tree == 0 || nodes <= 1) return binaryTreeParent(node, nodes);
  // Tree 1: the same tree over shifted ids when the count is odd, mirrored when it is even, so
  // a node that is a leaf in one tree is inside the other.
  auto toTree = [&](int n) { return nodes % 2 == 1 ? (n - 1 + nodes) % nodes : nodes - 1 - n; };
  auto fromTree = [&](int n) { return nodes % 2 == 1 ? (n + 1) % nodes : nodes - 1 - n; };
  const int parent = binaryTreeParent(toTree(node), nodes);
  return parent < 0 ? -1 : fromTree(parent);
}

NcclJobShape describeNcclJob(int nRanks, int nNodes, const std::vector<std::string>& hosts, const SwitchTree* tree,
                             const CostModel& costs) {
  NcclJobShape job;
  job.nNodes = std::max(nNodes, 1);
  job.nRanks = std::max(nRanks, job.nNodes);
  job.costs = costs;
  job.rackOfNode.assign(static_cast<size_t>(job.nNodes), 0);
  if (tree == nullptr || static_cast<int>(hosts.size()) != job.nNodes) {
    job.racks = {""};
    job.source = tree == nullptr ? "no topology file (STRATA_TOPO_FILE): one rack"
                                 : "the job's host list (SLURM_JOB_NODELIST) does not name " +
                                       std::to_string(job.nNodes) + " hosts: one rack";
    job.structures = describeNcclStructures(job);
    return job;
  }
  std::map<std::string, int> rackIndex;
  for (int node = 0; node < job.nNodes; ++node) {
    auto it = tree->pathOfHost.find(hosts[static_cast<size_t>(node)]);
    // A host the file does not list is a rack of its own, as in the library's placement.
    std::string rack = it != tree->pathOfHost.end() && !it->second.empty() ? it->second.back()
                                                                          : "unlisted-" + hosts[static_cast<size_t>(node)];
    auto inserted = rackIndex.emplace(rack, static_cast<int>(job.racks.size()));
    if (inserted.second) job.racks.push_back(rack);
    job.rackOfNode[static_cast<size_t>(node)] = inserted.first->second;
  }
  job.source = "racks of the job's hosts from the topology file (" + std::to_string(job.racks.size()) + " racks)";
  job.structures = describeNcclStructures(job);
  return job;
}

NcclJobShape withoutRacks(const NcclJobShape& job) {
  NcclJobShape flat = job;
  flat.rackOfNode.assign(flat.rackOfNode.size(), 0);
  flat.racks = {""};
  flat.source = "one rack";
  flat.structures = describeNcclStructures(flat);
  return flat;
}

double rackFactor(const NcclJobShape& job, const NcclJobShape& flat, const NcclLatencies& latencies, ncclFunc_t coll,
                  int algorithm, int protocol, size_t bytes) {
  const double racked = predictNcclMicroseconds(job, latencies, coll, algorithm, protocol, bytes);
  const double alone = predictNcclMicroseconds(flat, latencies, coll, algorithm, protocol, bytes);
  if (racked < 0 || alone <= 0) return -1;
  return racked / alone;
}

NcclLatencies ncclDefaultLatencies() {
  NcclLatencies l{};
  const double base[2][3] = {{6.8, 14.0, 8.4}, {6.6, 14.0, 8.4}};  // tree, ring
  const double nvlink[2][3] = {{0.6, 1.25, 4.0}, {0.6, 1.9, 3.4}};
  const double pci[2][3] = {{1.0, 1.9, 4.0}, {1.0, 2.5, 5.7}};
  const double net[2][3] = {{5.0, 8.5, 14.0}, {2.7, 4.0, 14.0}};
  for (int a = 0; a < 2; ++a) {
    for (int p = 0; p < 3; ++p) {
      l.base[a][p] = base[a][p];
      l.hop[NCCL_HW_NVLINK][a][p] = nvlink[a][p];
      l.hop[NCCL_HW_PCI][a][p] = pci[a][p];
      l.hop[NCCL_HW_NET][a][p] = net[a][p];
    }
  }
  return l;
}

NcclLatencies latenciesFrom(const ncclTunerConstants_v5_t& constants) {
  NcclLatencies l{};
  for (int a = 0; a < NCCL_NUM_ALGORITHMS_V5; ++a) {
    for (int p = 0; p < NCCL_NUM_PROTOCOLS_V5; ++p) {
      l.base[a][p] = constants.baseLatencies[a][p];
      for (int hw = 0; hw < 3; ++hw) l.hop[hw][a][p] = constants.hwLatencies[hw][a][p];
    }
  }
  return l;
}

NcclStructures describeNcclStructures(const NcclJobShape& job) {
  NcclStructures s;
  FlowLoad ring = ringLoad(job);
  s.ringRackCrossings = ring.crossings;
  s.ringRateGBps = bottleneckRate(job, ring);
  FlowLoad tree = treeLoad(job, &s.treeCrossingDepth);
  s.treeRackCrossings = tree.crossings;
  s.treeRateGBps = bottleneckRate(job, tree);
  return s;
}

double predictNcclMicroseconds(const NcclJobShape& job, const NcclLatencies& latencies, ncclFunc_t coll,
                               int algorithm, int protocol, size_t bytes) {
  if (job.nNodes < 2 || protocol < 0 || protocol >= NCCL_NUM_PROTOCOLS_V5) return -1;
  if (algorithm != NCCL_ALGO_RING && !(algorithm == NCCL_ALGO_TREE && coll == ncclFuncAllReduce)) return -1;
  if (coll != ncclFuncAllReduce && coll != ncclFuncAllGather && coll != ncclFuncReduceScatter &&
      coll != ncclFuncBroadcast && coll != ncclFuncReduce) {
    return -1;
  }
  const NcclStructures& s = job.structures;
  const CostModel& m = job.costs;
  // A step whose slowest hop crosses racks pays the difference in alpha.
  const double crossingUs = std::max(0.0, m.interRack.alphaUs - m.net.alphaUs);
  const double efficiency = kProtocolEfficiency[protocol];
  const int a = algorithm, p = protocol;
  const int R = job.nRanks, n = job.nNodes;
  const double perNode = static_cast<double>(R) / n;
  const double netHop = latencies.hop[NCCL_HW_NET][a][p];
  const double nvlinkHop = latencies.hop[NCCL_HW_NVLINK][a][p];
  const double b = static_cast<double>(bytes);
  if (algorithm == NCCL_ALGO_TREE) {
    const double levels = log2Floor(n);
    const double latency = latencies.base[a][p] + 2 * ((perNode - 1) * nvlinkHop + levels * netHop) +
                           2 * s.treeCrossingDepth * crossingUs;
    return latency + 2 * b / (s.treeRateGBps * efficiency * 1e3);
  }
  const double ringCrossing = s.ringRackCrossings > 0 ? crossingUs : 0;
  if (coll == ncclFuncBroadcast || coll == ncclFuncReduce) {  // a pipelined chain along the ring
    return latencies.base[a][p] + (R - n) * nvlinkHop + (n - 1) * (netHop + ringCrossing) +
           b / (s.ringRateGBps * efficiency * 1e3);
  }
  const bool allReduce = coll == ncclFuncAllReduce;
  const int steps = allReduce ? 2 * (R - 1) : R - 1;
  const int interSteps = allReduce ? 2 * (n - 1) : n - 1;
  const double latency = latencies.base[a][p] + (steps - interSteps) * nvlinkHop + interSteps * (netHop + ringCrossing);
  const double wireBytes = b * steps / R;
  return latency + wireBytes / (s.ringRateGBps * efficiency * 1e3);
}

}  // namespace strata::nccl_net
