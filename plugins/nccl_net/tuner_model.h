// How the tuner prices NCCL's own algorithms on a cluster Strata knows the racks of. NCCL cannot be
// told to use Strata's rack-contiguous ring: its ring follows its node order (rank order, which
// crosses racks wherever the scheduler interleaved them, as Strata's flat_ring does) and its
// trees are double binary trees over that order. What the tuner can do is price those as they are
// on this cluster, so NCCL's choice among them sees the rack crossings. The price of an entry
// (what strata-topo shows) is:
//
//   time = NCCL's base latency + intra-node steps x NCCL's NVLink hop latency
//          + inter-node steps x (NCCL's network hop latency + the cost model's extra alpha for a
//            step that crosses racks)
//          + bytes on the busiest link / (the structure's bottleneck rate x the protocol's efficiency)
//
// The bottleneck rate is the cost model's: a NIC's rate between hosts of a rack; across racks
// the inter-rack rate, or a rack uplink's capacity (hosts x NIC rate / oversubscription) shared
// by every flow of the structure that leaves the rack, whichever is lower. Latencies are NCCL's
// own constants (as its tuner hands them over, else NCCL 2.28's defaults); efficiency is the
// payload share of a protocol's lines (LL 1/2, LL128 120/128, Simple 1). Modelled: ring for
// allreduce, allgather, reduce-scatter, broadcast and reduce; tree for allreduce; everything
// else (CollNet, NVLS, PAT, a single node where NVLink decides) is left to NCCL.
#pragma once

#include <string>
#include <vector>

#include "plugins/nccl_net/nccl_net_abi.h"
#include "topology/cluster_file.h"
#include "topology/cost_model.h"

namespace strata::nccl_net {

// What the tuner knows about NCCL's structures on a job, for pricing, INFO and strata-topo.
struct NcclStructures {
  int ringRackCrossings = 0;    // hops of NCCL's ring between racks
  double ringRateGBps = 0;      // its bottleneck rate
  int treeRackCrossings = 0;    // edges of NCCL's two trees between racks
  int treeCrossingDepth = 0;    // most rack crossings on one node's path to its root
  double treeRateGBps = 0;
};

struct NcclJobShape {
  int nRanks = 1;
  int nNodes = 1;
  std::vector<int> rackOfNode;      // in NCCL's node order
  std::vector<std::string> racks;   // names ("" when the job's racks are unknown: one rack)
  CostModel costs;
  std::string source;               // where the racks came from, for INFO
  NcclStructures structures;        // worked out once (NCCL asks on every collective)
};

// `hosts`: the job's hosts in NCCL's node order (empty or of another count than nNodes: unknown);
// `tree`: a parsed topology.conf (null: no rack metadata). Unknown racks make one rack. Fewer
// ranks than nodes are taken as one rank per node.
NcclJobShape describeNcclJob(int nRanks, int nNodes, const std::vector<std::string>& hosts, const SwitchTree* tree,
                             const CostModel& costs);

// NCCL's latency constants, microseconds: base[algorithm][protocol], hop[hardware][algorithm][protocol].
struct NcclLatencies {
  double base[ncclabi::NCCL_NUM_ALGORITHMS_V5][ncclabi::NCCL_NUM_PROTOCOLS_V5];
  double hop[3][ncclabi::NCCL_NUM_ALGORITHMS_V5][ncclabi::NCCL_NUM_PROTOCOLS_V5];
};
NcclLatencies ncclDefaultLatencies();  // NCCL 2.28.9's defaults
NcclLatencies latenciesFrom(const ncclabi::ncclTunerConstants_v5_t& constants);

// Microseconds for `coll` of `bytes` with NCCL algorithm `algorithm` and protocol `protocol`; < 0
// when the tuner leaves that entry to NCCL.
double predictNcclMicroseconds(const NcclJobShape& job, const NcclLatencies& latencies, ncclabi::ncclFunc_t coll,
                               int algorithm, int protocol, size_t bytes);

NcclStructures describeNcclStructures(const NcclJobShape& job);

// The same job with every node in one rack: what NCCL's own model assumes.
NcclJobShape withoutRacks(const NcclJobShape& job);

// How much the job's racks slow an entry down: its price on `job` over its price on `flat` (the
// job without racks); 1 where the job has one rack, < 0 where the tuner leaves the entry to NCCL.
// The tuner multiplies NCCL's own estimate by it: NCCL's calibration (NIC speeds, NVLink,
// channels, its other algorithms) stays, and what NCCL cannot see - the racks - is added.
double rackFactor(const NcclJobShape& job, const NcclJobShape& flat, const NcclLatencies& latencies,
                  ncclabi::ncclFunc_t coll, int algorithm, int protocol, size_t bytes);

// NCCL's parent of `node` in tree 0 or 1 of its double binary tree over `nodes` nodes (-1: root).
int ncclTreeParent(int tree, int node, int nodes);

}  // namespace strata::nccl_net
