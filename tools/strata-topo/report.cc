#include "report.h"

#include <unistd.h>

#include "src/algorithms/selection.h"
#include "src/common/hostlist.h"
#include "topology/cluster_file.h"
#include "topology/hwloc_discovery.h"
#include "topology/nvml_links.h"
#include "topology/rank_device.h"
#include "transports/memory/peer_windows.h"

namespace strata::topo {
namespace {

std::string thisHostname() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

// nccl-tests' bus bandwidth factors.
double busFactor(CollectiveKind kind, int n) {
  switch (kind) {
    case CollectiveKind::AllReduce: return 2.0 * (n - 1) / n;
    case CollectiveKind::AllGather: case CollectiveKind::ReduceScatter: case CollectiveKind::AllToAll:
      return static_cast<double>(n - 1) / n;
    default: return 1.0;
  }
}

// Bytes nccl-tests reports as "size" for a collective whose per-rank count is `count` elements of one byte.
CollectiveShape shapeFor(CollectiveKind kind, size_t size, int n, size_t windowBytes) {
  CollectiveShape s;
  s.kind = kind;
  s.elementSize = 1;
  s.windowBytes = windowBytes;
  // allgather/reducescatter/alltoall: the size is the whole buffer, split over ranks.
  bool perRank = kind == CollectiveKind::AllGather || kind == CollectiveKind::ReduceScatter || kind == CollectiveKind::AllToAll;
  s.count = perRank ? std::max<size_t>(1, size / static_cast<size_t>(n)) : size;
  return s;
}

}  // namespace

Result<Report> buildReport(const Options& o) {
  Report report;
  auto host = discoverHostTopology(o.xml);
  if (host.ok()) {
    report.host = host.value();
  } else if (!o.xml.empty()) {
    return host.status();
  } else {
    report.warnings.push_back(host.status().message());
    report.host.source = "unknown";
  }
  NvLinkDiscovery nv = discoverNvLinks(report.host);
  report.nvlinks = nv.map;
  report.nvlinkNote = nv.note;
  if (!o.costFile.empty()) {
    auto model = CostModel::load(o.costFile);
    if (!model.ok()) return model.status();
    report.model = model.value();
  }
  std::vector<std::string> hosts = {thisHostname()};
  if (!o.hosts.empty()) {
    auto expanded = expandHostlist(o.hosts);
    if (!expanded.ok()) return expanded.status().withContext("--hosts: ");
    hosts = expanded.value();
  }
  SwitchTree tree;
  if (!o.topologyFile.empty()) {
    auto loaded = loadSwitchTree(o.topologyFile);
    if (!loaded.ok()) return loaded.status();
    tree = loaded.value();
  }
  int perHost = o.ranksPerHost > 0 ? o.ranksPerHost
                                   : std::max(1, static_cast<int>(report.host.gpus.empty() ? report.host.cores : report.host.gpus.size()));
  const int H = static_cast<int>(hosts.size());
  // Each local rank's place in its host's ring, as the library derives it (the GPU ring of NVLinks).
  std::vector<int> localOrder;
  for (int local = 0; local < perHost; ++local) localOrder.push_back(chooseRankDevice(report.host, local, report.nvlinks).localOrder);
  std::vector<RankPlacement> placements;
  for (int r = 0; r < H * perHost; ++r) {
    int h = o.roundRobin ? r % H : r / perHost;
    int local = o.roundRobin ? r / H : r % perHost;
    std::vector<std::string> switches;
    if (!o.topologyFile.empty()) {
      auto it = tree.pathOfHost.find(hosts[static_cast<size_t>(h)]);
      if (it != tree.pathOfHost.end()) {
        switches = it->second;
      } else {
        switches = {"unlisted-" + hosts[static_cast<size_t>(h)]};
        if (local == 0) report.warnings.push_back("host '" + hosts[static_cast<size_t>(h)] + "' is not in " + o.topologyFile);
      }
    }
    placements.push_back({hosts[static_cast<size_t>(h)], hosts[static_cast<size_t>(h)], switches,
                          localOrder[static_cast<size_t>(local)]});
  }
  report.hierarchy = Hierarchy(placements);
  report.trees = rackAwareHostTrees(report.hierarchy);
  report.coresPerHost = o.cores > 0 ? o.cores : report.host.pus;

  PlanTopology ring = PlanTopology::withRing(0, report.hierarchy.ring());
  CostContext cost;
  cost.hierarchy = &report.hierarchy;
  cost.model = &report.model;
  cost.topology = &ring;
  cost.coresPerHost = report.coresPerHost;
  // Peer-memory windows exist only when every rank shares one host.
  const size_t windowBytes =
      o.windowBytes ? *o.windowBytes : PeerWindows::defaultHalfBytes(static_cast<size_t>(perHost), report.coresPerHost);
  cost.windowBytes = H == 1 && perHost > 1 ? windowBytes : 0;
  const size_t oneShotBytes = cost.windowBytes > 0 ? std::min<size_t>(16384, cost.windowBytes) : 0;
  const int n = report.hierarchy.nranks();
  for (CollectiveKind kind : {CollectiveKind::AllReduce, CollectiveKind::Broadcast, CollectiveKind::Reduce,
                              CollectiveKind::AllGather, CollectiveKind::ReduceScatter, CollectiveKind::AllToAll}) {
    for (size_t size = 8; size <= (size_t{1} << 30); size *= 8) {
      CollectiveShape shape = shapeFor(kind, size, n, cost.windowBytes);
      const AlgorithmEntry* algorithm = AlgorithmSelector::cheapest(shape, cost, oneShotBytes).first;
      if (algorithm == nullptr) continue;
      const double seconds = algorithm->predict(shape, cost);
      report.choices.push_back({collectiveName(kind), size, algorithm->name, seconds,
                                seconds > 0 ? static_cast<double>(size) / seconds / 1e9 * busFactor(kind, n) : 0});
    }
  }
  for (const AlgorithmEntry& e : algorithmRegistry()) {
    if (o.predictBytes == 0 || e.kind != CollectiveKind::AllReduce) continue;
    CollectiveShape shape = shapeFor(e.kind, o.predictBytes, n, cost.windowBytes);
    if (!AlgorithmSelector::runsHere(e, shape, oneShotBytes)) continue;
    double seconds = e.predict(shape, cost);
    report.predictions.push_back({"allreduce", o.predictBytes, e.name, seconds,
                                  static_cast<double>(o.predictBytes) / seconds / 1e9 * busFactor(e.kind, n)});
  }
  return report;
}

}  // namespace strata::topo
