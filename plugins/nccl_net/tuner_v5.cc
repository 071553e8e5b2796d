// ncclTunerPlugin_v5: NCCL finds it in this library when NCCL_TUNER_PLUGIN is unset (or names
// this library). At init it learns the job's shape the way the rest of Strata does - the hosts in
// NCCL's node order from Slurm's node list, their racks from STRATA_TOPO_FILE, the cost model
// from STRATA_COST_FILE. In getCollInfo it multiplies NCCL's own estimate of each ring and tree
// entry NCCL has not ruled out by how much the racks slow that entry down (tuner_model.h,
// rackFactor): NCCL stays calibrated to its hardware (and its other algorithms stay comparable),
// and learns what it is blind to. The channel count is NCCL's: its own heuristic already scales
// channels with the size.
#include "plugins/nccl_net/live_objects.h"
#include "plugins/nccl_net/plugin_log.h"
#include "plugins/nccl_net/tuner_model.h"
#include "src/common/hostlist.h"
#include "src/common/params.h"

namespace strata::nccl_net {
namespace {

using namespace ncclabi;

struct TunerContext {
  NcclJobShape job;
  NcclJobShape flat;  // the same job in one rack
  NcclLatencies latencies;
};

Result<NcclJobShape> jobFromEnvironment(size_t nRanks, size_t nNodes) {
  auto params = Params::fromEnvironment();
  if (!params.ok()) return params.status();
  CostModel costs;
  if (!params.value().costFile.empty()) {
    auto loaded = CostModel::load(params.value().costFile);
    if (!loaded.ok()) return loaded.status();
    costs = loaded.value();
  }
  SwitchTree tree;
  const bool haveTree = !params.value().topoFile.empty();
  if (haveTree) {
    auto loaded = loadSwitchTree(params.value().topoFile);
    if (!loaded.ok()) return loaded.status();
    tree = loaded.value();
  }
  std::vector<std::string> hosts;
  const std::string nodelist = LaunchEnvironment::fromEnvironment().slurmNodelist;
  if (!nodelist.empty()) {
    auto expanded = expandHostlist(nodelist);
    if (!expanded.ok()) return expanded.status().withContext("the job's node list: ");
    hosts = expanded.value();
  }
  return describeNcclJob(static_cast<int>(nRanks), static_cast<int>(nNodes), hosts, haveTree ? &tree : nullptr, costs);
}

ncclResult_t tunerInit(void** ctx, uint64_t /*commId*/, size_t nRanks, size_t nNodes, ncclDebugLogger_t logFunction,
                       ncclNvlDomainInfo_v5_t* /*nvlDomainInfo*/, ncclTunerConstants_v5_t* constants) {
  adoptNcclLogger(logFunction);
  if (ctx == nullptr) {
    TUNER_PLUGIN_WARN("init() was given no place for the context");
    return ncclInternalError;
  }
  // A problem with the rack metadata must not take NCCL down (NCCL fails the communicator when a
  // tuner's init fails): it is a warning, and the job is priced as one rack with default costs.
  auto job = jobFromEnvironment(nRanks, nNodes);
  if (!job.ok()) {
    TUNER_PLUGIN_WARN("%s; pricing the job as one rack with the default cost model", job.status().message().c_str());
    job = describeNcclJob(static_cast<int>(nRanks), static_cast<int>(nNodes), {}, nullptr, CostModel());
  }
  auto* context = new TunerContext{job.value(), withoutRacks(job.value()),
                                   constants != nullptr ? latenciesFrom(*constants) : ncclDefaultLatencies()};
  rememberObject(context, ObjectKind::Tuner);
  *ctx = context;
  const NcclStructures& s = context->job.structures;
  TUNER_PLUGIN_INFO("%zu ranks on %zu nodes; %s. NCCL's ring crosses racks %d times (bottleneck %.2f GB/s), its two "
                    "trees %d times (%.2f GB/s, up to %d crossings on a path); NCCL's ring and tree estimates are scaled "
                    "by what those crossings cost%s",
                    nRanks, nNodes, context->job.source.c_str(), s.ringRackCrossings, s.ringRateGBps,
                    s.treeRackCrossings, s.treeRateGBps, s.treeCrossingDepth,
                    nNodes < 2 ? " (one node: the table is left to NCCL)" : "");
  return ncclSuccess;
}

ncclResult_t tunerGetCollInfo(void* ctx, ncclFunc_t collType, size_t nBytes, int /*numPipeOps*/, float** collCostTable,
                              int numAlgo, int numProto, int /*regBuff*/, int* /*nChannels*/) {
  auto* context = liveObject<TunerContext>(ctx, ObjectKind::Tuner);
  if (context == nullptr || collCostTable == nullptr || numAlgo < 0 || numProto < 0) {
    TUNER_PLUGIN_WARN("getCollInfo() was given a context init() did not return, or no table");
    return ncclInternalError;
  }
  // NCCL passes its float[numAlgo][numProto] array as a float**.
  float* table = reinterpret_cast<float*>(collCostTable);
  for (int algorithm : {NCCL_ALGO_TREE, NCCL_ALGO_RING}) {
    if (algorithm >= numAlgo) continue;
    for (int protocol = 0; protocol < std::min(numProto, NCCL_NUM_PROTOCOLS_V5); ++protocol) {
      float& entry = table[algorithm * numProto + protocol];
      if (entry == NCCL_ALGO_PROTO_IGNORE) continue;  // NCCL ruled it out; a tuner may not bring it back
      const double factor =
          rackFactor(context->job, context->flat, context->latencies, collType, algorithm, protocol, nBytes);
      if (factor > 0 && entry > 0) entry = static_cast<float>(entry * factor);
    }
  }
  return ncclSuccess;
}

ncclResult_t tunerFinalize(void* ctx) {
  auto* context = liveObject<TunerContext>(ctx, ObjectKind::Tuner);
  if (context == nullptr) {
    TUNER_PLUGIN_WARN("finalize() was given a context init() did not return (or one already finalized)");
    return ncclInternalError;
  }
  forgetObject(context);
  delete context;
  return ncclSuccess;
}

}  // namespace
}  // namespace strata::nccl_net

extern "C" {
__attribute__((visibility("default"))) ncclabi::ncclTuner_v5_t ncclTunerPlugin_v5 = {
    "Strata",
    strata::nccl_net::tunerInit,
    strata::nccl_net::tunerGetCollInfo,
    strata::nccl_net::tunerFinalize,
};
}
