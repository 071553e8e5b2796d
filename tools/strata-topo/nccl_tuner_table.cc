// strata-topo --nccl-tuner: what the NCCL plugin's tuner makes of the described cluster
// (plugins/nccl_net/tuner_model.h): NCCL's ring and trees in its node order priced with their rack
// crossings, per collective and size, with the entry that is cheapest among them, and the factor
// by which the tuner scales NCCL's own estimate of each (the racks' cost).
#include <cstdio>
#include <sstream>

#include "plugins/nccl_net/tuner_model.h"
#include "report.h"

namespace strata::topo {

std::string renderNcclTunerTable(const Report& r) {
  using namespace ncclabi;
  // NCCL's node order is that of each host's lowest rank: the hierarchy's host order.
  std::vector<std::string> hosts;
  SwitchTree tree;
  bool racksKnown = false;
  for (const HostGroup& host : r.hierarchy.hosts()) {
    hosts.push_back(host.hostname);
    const std::string& rack = r.hierarchy.racks()[static_cast<size_t>(host.rack)].name;
    tree.pathOfHost[host.hostname] = {rack};
    racksKnown = racksKnown || !rack.empty();
  }
  const int nodes = static_cast<int>(hosts.size());
  nccl_net::NcclJobShape job =
      nccl_net::describeNcclJob(r.hierarchy.nranks(), nodes, hosts, racksKnown ? &tree : nullptr, r.model);
  const nccl_net::NcclStructures& s = job.structures;
  std::ostringstream out;
  out << "NCCL's algorithms as the Strata tuner prices them: " << r.hierarchy.nranks() << " ranks on " << nodes
      << " nodes, " << job.racks.size() << " rack(s)\n"
      << "NCCL's ring and trees follow its node order (the order of each host's first rank); the tuner cannot\n"
      << "change them, only price them: the ring crosses racks " << s.ringRackCrossings << " times (bottleneck "
      << s.ringRateGBps << " GB/s), the two trees " << s.treeRackCrossings << " times (" << s.treeRateGBps
      << " GB/s, at most " << s.treeCrossingDepth << " on a path to a root).\n";
  if (nodes < 2) {
    out << "One node: NCCL's own model (NVLink, PCIe) decides; the tuner leaves the table alone.\n";
    return out.str();
  }
  const char* names[] = {"tree/LL", "tree/LL128", "tree/Simple", "ring/LL", "ring/LL128", "ring/Simple"};
  const std::pair<ncclFunc_t, const char*> collectives[] = {{ncclFuncAllReduce, "allreduce"},
                                                            {ncclFuncAllGather, "allgather"},
                                                            {ncclFuncReduceScatter, "reducescatter"},
                                                            {ncclFuncBroadcast, "broadcast"}};
  const nccl_net::NcclLatencies latencies = nccl_net::ncclDefaultLatencies();
  char line[256];
  auto header = [&](const char* tail) {
    std::snprintf(line, sizeof(line), "%12s", "bytes");
    out << line;
    for (const char* n : names) {
      std::snprintf(line, sizeof(line), " %11s", n);
      out << line;
    }
    out << tail << "\n";
  };
  for (const auto& [coll, collName] : collectives) {
    out << "\n" << collName << ", microseconds (- : left to NCCL)\n";
    header("  pick");
    for (size_t bytes = 8; bytes <= (size_t{1} << 30); bytes *= 8) {
      std::snprintf(line, sizeof(line), "%12zu", bytes);
      out << line;
      double best = -1;
      const char* pick = "-";
      for (int i = 0; i < 6; ++i) {
        double us = nccl_net::predictNcclMicroseconds(job, latencies, coll, i / 3 == 0 ? NCCL_ALGO_TREE : NCCL_ALGO_RING,
                                                      i % 3, bytes);
        if (us < 0) {
          std::snprintf(line, sizeof(line), " %11s", "-");
        } else {
          std::snprintf(line, sizeof(line), " %11.1f", us);
          if (best < 0 || us < best) {
            best = us;
            pick = names[i];
          }
        }
        out << line;
      }
      out << "  " << pick << "\n";
    }
  }
  // What the tuner actually does with NCCL's table: each estimate times the racks' cost.
  const nccl_net::NcclJobShape flat = nccl_net::withoutRacks(job);
  out << "\nallreduce: the factor the tuner multiplies NCCL's own estimate by (the racks' cost)\n";
  header("");
  for (size_t bytes = 8; bytes <= (size_t{1} << 30); bytes *= 8) {
    std::snprintf(line, sizeof(line), "%12zu", bytes);
    out << line;
    for (int i = 0; i < 6; ++i) {
      double factor = nccl_net::rackFactor(job, flat, latencies, ncclFuncAllReduce,
                                           i / 3 == 0 ? NCCL_ALGO_TREE : NCCL_ALGO_RING, i % 3, bytes);
      std::snprintf(line, sizeof(line), " %11.3f", factor);
      out << line;
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace strata::topo
