// What strata-topo explains, computed once and rendered as text, JSON or Graphviz DOT: the host
// topology (devices, link classes, NIC pairing), the cluster hierarchy, the ring and trees, and
// the tuner's choice with predicted time and bus bandwidth per collective and size.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/algorithms/cost.h"
#include "src/common/status.h"
#include "topology/host_topology.h"
#include "topology/hierarchy.h"
#include "topology/trees.h"

namespace strata::topo {

struct Options {
  std::string xml;           // --xml: hwloc XML of one host (default: this host)
  std::string topologyFile;  // --topology-file: Slurm topology.conf
  std::string hosts;         // --hosts: hostlist (default: this host)
  int ranksPerHost = 0;      // --ranks-per-host (default: GPUs, else cores)
  bool roundRobin = false;   // --numbering round-robin: rank r on host r mod H (the order that hurts rings)
  int cores = 0;             // --cores per host (default: from the host topology)
  // --window-bytes on single-host runs (0: no peer memory; unset: the library's default for the host)
  std::optional<size_t> windowBytes;
  std::string costFile;      // --cost-file
  size_t predictBytes = 0;   // --predict BYTES: every allreduce algorithm's prediction at that size
};

struct Choice {
  std::string collective;
  size_t bytes = 0;
  std::string algorithm;
  double seconds = 0;
  double busGBps = 0;
};

struct Report {
  HostTopology host;
  std::string nvlinkNote;
  NvLinkMap nvlinks;
  std::vector<std::string> warnings;
  Hierarchy hierarchy;
  std::pair<Tree, Tree> trees;
  CostModel model;
  std::vector<Choice> choices;
  std::vector<Choice> predictions;  // --predict
  int coresPerHost = 0;
};

Result<Report> buildReport(const Options& options);

std::string renderText(const Report& report);
std::string renderJson(const Report& report);
std::string renderDot(const Report& report);
std::string renderPredictions(const Report& report);
// --nccl-tuner: the NCCL plugin tuner's table for this cluster (nccl_tuner_table.cc).
std::string renderNcclTunerTable(const Report& report);

}  // namespace strata::topo
