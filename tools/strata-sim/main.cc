// strata-sim: Strata's own allreduce plans replayed as flows over a modelled fat tree of up to
// thousands of hosts (src/sim/), beside the topology-blind rings and the tuner's choice: time,
// bus bandwidth, how busy each level's links were and which link held the collective back.
//   strata-sim --pods 4 --racks-per-pod 16 --hosts-per-rack 16 --ranks-per-host 8
//              --nic-gbps 400 --leaf-oversubscription 4 --numbering round-robin --bytes 1G
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "options.h"
#include "src/common/hostlist.h"
#include "topology/cluster_file.h"

namespace strata::sim {
namespace {

struct Row {
  size_t bytes = 0;
  std::string algorithm;
  bool tunerChoice = false;
  std::string mode;
  Outcome outcome;
  double exactSeconds = 0;  // --compare-exact
  std::string error;
};

double busGBps(size_t bytes, int n, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e9 * 2.0 * (n - 1) / n : 0;
}

Result<std::vector<RankPlacement>> placementsFor(const Options& o) {
  if (o.topologyFile.empty()) return placementsOf(o.shape);
  auto tree = loadSwitchTree(o.topologyFile);
  if (!tree.ok()) return tree.status();
  auto hosts = expandHostlist(o.hosts);
  if (!hosts.ok()) return hosts.status().withContext("--hosts: ");
  std::vector<std::vector<std::string>> switches;
  for (const std::string& host : hosts.value()) {
    auto it = tree.value().pathOfHost.find(host);
    if (it == tree.value().pathOfHost.end()) return invalidArgument("host '" + host + "' is not in " + o.topologyFile);
    switches.push_back(it->second);
  }
  return placementsOf(hosts.value(), switches, o.shape.ranksPerHost, o.shape.numbering, o.shape.seed);
}

// "8 pods, 256 racks, 4096 hosts, 32768 ranks" (Hierarchy::summary lists every rack).
std::string clusterSummary(const Hierarchy& h) {
  return std::to_string(h.podCount()) + (h.podCount() == 1 ? " pod, " : " pods, ") + std::to_string(h.racks().size()) +
         (h.racks().size() == 1 ? " rack, " : " racks, ") + std::to_string(h.hosts().size()) +
         (h.hosts().size() == 1 ? " host, " : " hosts, ") + std::to_string(h.nranks()) + (h.nranks() == 1 ? " rank" : " ranks");
}

std::string formatSize(size_t bytes) {
  if (bytes >= (size_t{1} << 30) && bytes % (size_t{1} << 30) == 0) return std::to_string(bytes >> 30) + "G";
  if (bytes >= (size_t{1} << 20) && bytes % (size_t{1} << 20) == 0) return std::to_string(bytes >> 20) + "M";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + "K";
  return std::to_string(bytes);
}

void printTable(const std::vector<Row>& rows, const Hierarchy& h, const Options& o) {
  std::printf("# %s; numbering %s\n", clusterSummary(h).c_str(), numberingName(o.shape.numbering));
  std::printf("# NIC %.1f Gb/s, leaf %g:1, spine %g:1, rank port %.1f GB/s; * = the tuner's choice\n",
              o.model.net.betaGBps * 8, o.model.uplinkOversubscription, o.model.spineOversubscription, o.model.shm.betaGBps);
  std::printf("%8s  %-20s %-10s %12s %10s %7s %7s %7s %7s  %s\n", "size", "algorithm", "replay", "time(ms)", "busbw(GB/s)",
              "port%", "nic%", "leaf%", "pod%", "bottleneck");
  for (const Row& r : rows) {
    std::string name = r.algorithm + (r.tunerChoice ? " *" : "");
    if (!r.error.empty()) {
      std::printf("%8s  %-20s %s\n", formatSize(r.bytes).c_str(), name.c_str(), r.error.c_str());
      continue;
    }
    const auto& u = r.outcome.utilisation;
    std::printf("%8s  %-20s %-10s %12.3f %10.2f %7.1f %7.1f %7.1f %7.1f  %s", formatSize(r.bytes).c_str(), name.c_str(),
                r.mode.c_str(), r.outcome.seconds * 1e3, busGBps(r.bytes, h.nranks(), r.outcome.seconds),
                100 * u[static_cast<size_t>(LinkClass::LocalOut)], 100 * u[static_cast<size_t>(LinkClass::NicOut)],
                100 * u[static_cast<size_t>(LinkClass::LeafUp)], 100 * u[static_cast<size_t>(LinkClass::SpineUp)],
                r.outcome.bottleneck.c_str());
    if (r.outcome.guessedStages > 0) std::printf("  (%llu stages paired by guess)", static_cast<unsigned long long>(r.outcome.guessedStages));
    if (r.exactSeconds > 0) {
      std::printf("  (exact %.3f ms: aggregated %+.1f%%)", r.exactSeconds * 1e3, 100 * (r.outcome.seconds / r.exactSeconds - 1));
    }
    std::printf("\n");
  }
}

std::string toJson(const std::vector<Row>& rows, const Hierarchy& h, const Options& o) {
  nlohmann::json j;
  j["cluster"] = {{"summary", clusterSummary(h)}, {"ranks", h.nranks()}, {"hosts", h.hosts().size()},
                  {"racks", h.racks().size()}, {"pods", h.podCount()}, {"numbering", numberingName(o.shape.numbering)}};
  nlohmann::json costs;
  for (const auto& [key, value] : o.model.keys()) costs[key] = value;
  j["cost_model"] = costs;
  j["results"] = nlohmann::json::array();
  for (const Row& r : rows) {
    nlohmann::json x = {{"bytes", r.bytes}, {"algorithm", r.algorithm}, {"tuner_choice", r.tunerChoice}};
    if (!r.error.empty()) {
      x["error"] = r.error;
    } else {
      x["replay"] = r.mode;
      x["seconds"] = r.outcome.seconds;
      x["busbw_gbps"] = busGBps(r.bytes, h.nranks(), r.outcome.seconds);
      x["bottleneck"] = r.outcome.bottleneck;
      x["simulated_flows"] = r.outcome.messages;
      x["guessed_stages"] = r.outcome.guessedStages;
      nlohmann::json u;
      for (int c = 0; c < kLinkClasses; ++c) u[linkClassName(static_cast<LinkClass>(c))] = r.outcome.utilisation[static_cast<size_t>(c)];
      x["utilisation"] = u;
      if (r.exactSeconds > 0) x["exact_seconds"] = r.exactSeconds;
    }
    j["results"].push_back(x);
  }
  return j.dump(2) + "\n";
}

Status plot(const std::vector<Row>& rows, const Hierarchy& h, const std::string& file) {
  const std::string data = file + ".dat";
  std::ofstream out(data);
  std::vector<std::string> names;
  for (const Row& r : rows) {
    if (std::find(names.begin(), names.end(), r.algorithm) == names.end()) names.push_back(r.algorithm);
  }
  for (const std::string& name : names) {
    out << "\"" << name << "\"\n";
    for (const Row& r : rows) {
      if (r.algorithm == name && r.error.empty()) out << r.bytes << " " << busGBps(r.bytes, h.nranks(), r.outcome.seconds) << "\n";
    }
    out << "\n\n";
  }
  out.close();
  std::string script = "set terminal pngcairo size 900,560; set output '" + file + "'; set logscale x 2; set key left top;"
                       "set xlabel 'allreduce bytes'; set ylabel 'busbw (GB/s)'; set title '" + clusterSummary(h) + "';"
                       "plot for [i=0:" + std::to_string(names.size() - 1) + "] '" + data +
                       "' index i using 1:2 with linespoints title columnheader(1)";
  std::string command = "gnuplot -e \"" + script + "\"";
  if (std::system(command.c_str()) != 0) return internalError("--plot: gnuplot failed (is it installed?) running: " + command);
  std::remove(data.c_str());
  return Status::ok();
}

}  // namespace
}  // namespace strata::sim

int main(int argc, char** argv) {
  using namespace strata::sim;
  const auto started = std::chrono::steady_clock::now();
  std::string help;
  auto parsed = parseOptions(argc, argv, &help);
  if (!help.empty()) {
    std::fputs(help.c_str(), stdout);
    return 0;
  }
  if (!parsed.ok()) {
    std::fprintf(stderr, "strata-sim: %s\n", parsed.status().message().c_str());
    return 2;
  }
  const Options& o = parsed.value();
  auto placements = placementsFor(o);
  if (!placements.ok()) {
    std::fprintf(stderr, "strata-sim: %s\n", placements.status().message().c_str());
    return 2;
  }
  const strata::Hierarchy hierarchy(placements.value());
  const strata::Hierarchy blind = hostsOnly(placements.value());
  NetworkRates rates = NetworkRates::fromCostModel(o.model);
  rates.burstSeconds = o.burstSeconds;
  rates.burstPeakBytesPerSecond = o.burstPeakBytesPerSecond;
  const Network network(hierarchy, rates);
  std::vector<Candidate> candidates = allReduceCandidates(hierarchy, blind.ring());
  for (const std::string& name : o.algorithms) {
    bool known = name == "tuner";
    for (const Candidate& c : candidates) known = known || c.name == name;
    if (!known) {
      std::string names;
      for (const Candidate& c : candidates) names += (names.empty() ? "" : ", ") + c.name;
      std::fprintf(stderr, "strata-sim: --algorithms: unknown allreduce algorithm '%s'; they are: %s\n", name.c_str(), names.c_str());
      return 2;
    }
  }
  std::vector<Row> rows;
  for (size_t bytes : o.sizes) {
    strata::CollectiveShape shape;
    shape.kind = strata::CollectiveKind::AllReduce;
    shape.elementSize = 4;
    shape.count = std::max<size_t>(1, bytes / 4);
    const std::string chosen = tunerChoice(network, o.model, shape);
    for (const Candidate& c : candidates) {
      auto listed = [&](const std::string& name) { return std::find(o.algorithms.begin(), o.algorithms.end(), name) != o.algorithms.end(); };
      if (!o.algorithms.empty() && !listed(c.name) && !(listed("tuner") && c.name == chosen)) continue;
      Row row;
      row.bytes = bytes;
      row.algorithm = c.name;
      row.tunerChoice = c.name == chosen;
      auto outcome = simulate(network, c, shape, o.compareExact ? Mode::Aggregated : o.mode);
      if (!outcome.ok()) {
        row.error = outcome.status().message();
      } else {
        row.outcome = outcome.value();
        row.mode = row.outcome.exact ? "exact" : "aggregated";
        if (o.compareExact) {
          auto reference = simulate(network, c, shape, Mode::Exact);
          if (reference.ok()) row.exactSeconds = reference.value().seconds;
        }
      }
      rows.push_back(row);
    }
  }
  if (o.format == "json") {
    std::fputs(toJson(rows, hierarchy, o).c_str(), stdout);
  } else {
    printTable(rows, hierarchy, o);
  }
  if (!o.plotFile.empty()) {
    auto status = plot(rows, hierarchy, o.plotFile);
    if (!status.isOk()) {
      std::fprintf(stderr, "strata-sim: %s\n", status.message().c_str());
      return 1;
    }
  }
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::fprintf(stderr, "strata-sim: %.2f s, peak memory %.0f MiB\n", wall, static_cast<double>(usage.ru_maxrss) / 1024);
  return 0;
}
