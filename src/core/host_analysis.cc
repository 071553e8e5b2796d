#include "src/core/host_analysis.h"

#include <map>
#include <mutex>

#include "topology/hwloc_discovery.h"

namespace strata {
namespace {

// Discovery walks sysfs (~10 ms): once per process and source, shared by every communicator.
Result<std::shared_ptr<const HostTopology>> cachedTopology(const std::string& xml) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const HostTopology>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(xml);
  if (it != cache.end()) return it->second;
  auto discovered = discoverHostTopology(xml);
  if (!discovered.ok()) return discovered.status();
  auto shared = std::make_shared<const HostTopology>(std::move(discovered.value()));
  cache[xml] = shared;
  return shared;
}

}  // namespace

Result<HostAnalysis> analyseHost(const Params& params) {
  HostAnalysis analysis;
  auto topology = cachedTopology(params.topoXml);
  if (!topology.ok()) {
    if (!params.topoXml.empty()) return topology.status();
    analysis.summary = "unknown (" + topology.status().message() + ")";
    analysis.nvlinkNote = "no host topology: GPU links unknown";
    return analysis;
  }
  analysis.topology = topology.value();
  NvLinkDiscovery nv = discoverNvLinks(*analysis.topology);
  analysis.nvlinks = nv.map;
  analysis.nvlinkNote = nv.note;
  analysis.device = chooseRankDevice(*analysis.topology, params.localRank, analysis.nvlinks);
  analysis.summary = analysis.topology->summary();
  return analysis;
}

std::string bindNearDevice(const Params& params, const HostAnalysis& host, const LocalRanks& local) {
  if (!params.bind) return "not bound (STRATA_BIND=0)";
  // A topology read from a file describes another machine: its CPU numbers mean nothing here.
  if (!params.topoXml.empty()) return "not bound (STRATA_TOPO_XML describes another host)";
  std::string cpuset = host.device.cpuset;
  if (host.topology && host.device.gpu < 0 && local.separateProcesses) {
    std::string core = coreForLocalRank(*host.topology, local.index, local.count);
    if (!core.empty()) cpuset = core;
  }
  if (cpuset.empty()) return "not bound (no device locality known)";
  // Binding belongs to the process: the first communicator decides, later ones (splits, thread
  // ranks) keep it.
  static std::mutex mutex;
  static std::string firstResult;
  std::lock_guard<std::mutex> lock(mutex);
  if (!firstResult.empty()) return "binding kept from the process's first communicator (" + firstResult + ")";
  auto bound = bindProcessToCpus(cpuset);
  firstResult = bound.ok() ? bound.value() : "not bound: " + bound.status().message();
  return firstResult;
}

}  // namespace strata
