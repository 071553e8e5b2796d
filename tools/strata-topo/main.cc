// strata-topo: explains what Strata sees and decides — host topology and NIC pairing, cluster
// hierarchy, ring and trees, and which algorithm the tuner picks for each collective and size with
// its predicted time. On this machine by default, or on described inputs:
//   strata-topo [--xml FILE] [--topology-file FILE] [--hosts HOSTLIST] [--ranks-per-host N]
//               [--numbering block|round-robin] [--cores N] [--window-bytes N] [--cost-file FILE]
//               [--json | --dot | --nccl-tuner]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "report.h"

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: strata-topo [options]\n"
               "  --xml FILE              hwloc XML of a host (default: discover this host)\n"
               "  --topology-file FILE    Slurm topology.conf placing the hosts in racks\n"
               "  --hosts HOSTLIST        the job's hosts, e.g. node[01-16] (default: this host)\n"
               "  --ranks-per-host N      ranks on each host (default: its GPUs, else its cores)\n"
               "  --numbering MODE        block (default: a host's ranks are consecutive) or round-robin\n"
               "  --cores N               cores per host for the contention model (default: from the host)\n"
               "  --window-bytes N        peer-memory window half on one host (default: 524288, or 2097152 where\n"
               "                          the ranks outnumber the cores, as the library; 0: none)\n"
               "  --cost-file FILE        cost-model overrides (see STRATA_COST_FILE)\n"
               "  --json | --dot          JSON, or Graphviz DOT of the hierarchy (dot -Tsvg renders it)\n"
               "  --nccl-tuner            the table the NCCL plugin's tuner gives NCCL for this cluster\n"
               "  --predict BYTES         only: 'allreduce BYTES ALGORITHM SECONDS BUSBW' for every allreduce algorithm\n"
               "  -h, --help              this text\n");
}

bool parseCount(const char* text, long low, long high, long* out) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < low || v > high) return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  strata::topo::Options options;
  std::string format = "text";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "strata-topo: %s needs a value\n", a.c_str());
        usage(stderr);
        std::exit(2);
      }
      return argv[++i];
    };
    long number = 0;
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (a == "--xml") {
      options.xml = value();
    } else if (a == "--topology-file") {
      options.topologyFile = value();
    } else if (a == "--hosts") {
      options.hosts = value();
    } else if (a == "--ranks-per-host" || a == "--cores" || a == "--window-bytes") {
      const char* text = value();
      long high = a == "--window-bytes" ? (1L << 30) : 4096;
      if (!parseCount(text, a == "--window-bytes" ? 0 : 1, high, &number)) {
        std::fprintf(stderr, "strata-topo: %s '%s' is not a number in range\n", a.c_str(), text);
        return 2;
      }
      if (a == "--ranks-per-host") options.ranksPerHost = static_cast<int>(number);
      if (a == "--cores") options.cores = static_cast<int>(number);
      if (a == "--window-bytes") options.windowBytes = static_cast<size_t>(number);
    } else if (a == "--numbering") {
      std::string mode = value();
      if (mode != "block" && mode != "round-robin") {
        std::fprintf(stderr, "strata-topo: --numbering must be block or round-robin, not '%s'\n", mode.c_str());
        return 2;
      }
      options.roundRobin = mode == "round-robin";
    } else if (a == "--predict") {
      const char* text = value();
      if (!parseCount(text, 1, 1L << 40, &number)) {
        std::fprintf(stderr, "strata-topo: --predict '%s' is not a byte count\n", text);
        return 2;
      }
      options.predictBytes = static_cast<size_t>(number);
      format = "predict";
    } else if (a == "--cost-file") {
      options.costFile = value();
    } else if (a == "--json" || a == "--dot" || a == "--nccl-tuner") {
      format = a.substr(2);
    } else {
      std::fprintf(stderr, "strata-topo: unknown option '%s'\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  auto report = strata::topo::buildReport(options);
  if (!report.ok()) {
    std::fprintf(stderr, "strata-topo: %s\n", report.status().message().c_str());
    return 1;
  }
  std::string text = format == "predict" ? strata::topo::renderPredictions(report.value())
                     : format == "json" ? strata::topo::renderJson(report.value())
                     : format == "dot" ? strata::topo::renderDot(report.value())
                     : format == "nccl-tuner" ? strata::topo::renderNcclTunerTable(report.value())
                                       : strata::topo::renderText(report.value());
  std::fputs(text.c_str(), stdout);
  return 0;
}
