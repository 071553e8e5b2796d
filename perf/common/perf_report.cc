#include "common/perf_report.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace strata::perf {
namespace {

std::string wrongText(const PlacementResult& p) { return p.checked ? std::to_string(p.wrong) : "N/A"; }

void writePlacementJson(FILE* f, const char* name, const PlacementResult& p) {
  std::fprintf(f, "\"%s\": {\"time_us\": %.3f, \"algbw_gbps\": %.4f, \"busbw_gbps\": %.4f, \"wrong\": ", name, p.timeUs,
               p.algbw, p.busbw);
  if (p.checked) {
    std::fprintf(f, "%ld}", p.wrong);
  } else {
    std::fprintf(f, "null}");
  }
}

}  // namespace

PerfReport::PerfReport(const CollectiveTest& test, const PerfOptions& options, int nranks)
    : test_(test), options_(options), nranks_(nranks) {}

void PerfReport::printHeader(const std::vector<RankDescription>& ranks) const {
  const PerfOptions& o = options_;
  std::printf("# nThread 1 nGpus 1 minBytes %zu maxBytes %zu step: %zu(%s) warmup iters: %d iters: %d agg iters: %d "
              "validation: %d graph: 0\n#\n# Using devices\n",
              o.minBytes, o.maxBytes, o.stepFactor > 1 ? static_cast<size_t>(o.stepFactor) : o.stepBytes,
              o.stepFactor > 1 ? "factor" : "bytes", o.warmupIters, o.iters, o.aggIters, o.check);
  for (size_t r = 0; r < ranks.size(); ++r) {
    std::printf("#  Rank %2zu Group  0 Pid %6d on %10s device  0 [host] CPU (Strata host memory)\n", r, ranks[r].pid,
                ranks[r].host);
  }
  std::printf("#\n");
  std::printf("#%75s%36s\n", "out-of-place", "in-place");
  const char* time = o.reportCpuTime ? "cputime" : "time";
  std::printf("#%11s %13s %8s %7s %7s %8s %7s %7s %6s %8s %7s %7s %6s\n", "size", "count", "type", "redop", "root", time,
              "algbw", "busbw", "#wrong", time, "algbw", "busbw", "#wrong");
  std::printf("#%11s %13s %8s %7s %7s %8s %7s %7s %6s %8s %7s %7s %6s\n", "(B)", "(elements)", "", "", "", "(us)", "(GB/s)",
              "(GB/s)", "", "(us)", "(GB/s)", "(GB/s)", "");
  std::fflush(stdout);
}

void PerfReport::addRow(const ResultRow& row) {
  rows_.push_back(row);
  busbwSum_ += row.outOfPlace.busbw + row.inPlace.busbw;
  wrong_ += row.outOfPlace.wrong + row.inPlace.wrong;
  const PlacementResult& o = row.outOfPlace;
  const PlacementResult& i = row.inPlace;
  std::printf("%12zu %13zu %8s %7s %7d %8.2f %7.2f %7.2f %6s %8.2f %7.2f %7.2f %6s\n", row.bytes, row.count, row.type,
              row.redop, row.root, o.timeUs, o.algbw, o.busbw, wrongText(o).c_str(), i.timeUs, i.algbw, i.busbw,
              wrongText(i).c_str());
  std::fflush(stdout);
}

bool PerfReport::finish() {
  std::printf("# Out of bounds values : %ld %s\n", wrong_, wrong_ == 0 ? "OK" : "FAILED");
  std::printf("# Avg bus bandwidth    : %g \n#\n", averageBusbw());
  std::printf("# Collective test concluded: %s\n#\n", test_.name);
  std::fflush(stdout);
  return options_.jsonFile.empty() || writeJson();
}

bool PerfReport::writeJson() const {
  FILE* f = std::fopen(options_.jsonFile.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "%s: cannot write -J %s: %s\n", test_.name, options_.jsonFile.c_str(), std::strerror(errno));
    return false;
  }
  std::fprintf(f, "{\"tool\": \"%s\", \"nranks\": %d, \"iters\": %d, \"warmup_iters\": %d, \"agg_iters\": %d, "
               "\"time\": \"%s\",\n \"results\": [",
               test_.name, nranks_, options_.iters, options_.warmupIters, options_.aggIters,
               options_.reportCpuTime ? "cpu" : "wall");
  for (size_t k = 0; k < rows_.size(); ++k) {
    const ResultRow& r = rows_[k];
    std::fprintf(f, "%s\n  {\"size\": %zu, \"count\": %zu, \"type\": \"%s\", \"redop\": \"%s\", \"root\": %d, ",
                 k ? "," : "", r.bytes, r.count, r.type, r.redop, r.root);
    writePlacementJson(f, "out_of_place", r.outOfPlace);
    std::fprintf(f, ", ");
    writePlacementJson(f, "in_place", r.inPlace);
    std::fprintf(f, "}");
  }
  std::fprintf(f, "\n ],\n \"out_of_bounds\": %ld, \"avg_busbw_gbps\": %.4f}\n", wrong_, averageBusbw());
  bool ok = std::fclose(f) == 0;
  if (!ok) std::fprintf(stderr, "%s: writing -J %s failed\n", test_.name, options_.jsonFile.c_str());
  return ok;
}

}  // namespace strata::perf
