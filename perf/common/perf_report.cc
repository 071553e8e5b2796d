#include "perf/common/perf_report.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#if STRATA_PERF_HAVE_JSON
#include <nlohmann/json.hpp>
#endif

namespace strata::perf {
namespace {

std::string wrongText(const PlacementResult& p) { return p.checked ? std::to_string(p.wrong) : "N/A"; }

#if STRATA_PERF_HAVE_JSON
nlohmann::json placementJson(const PlacementResult& p) {
  return {{"time_us", p.timeUs}, {"algbw_gbps", p.algbw}, {"busbw_gbps", p.busbw},
          {"wrong", p.checked ? nlohmann::json(p.wrong) : nlohmann::json(nullptr)}};
}
#endif

}  // namespace

PerfReport::PerfReport(const CollectiveTest& test, const PerfOptions& options, int nranks)
    : test_(test), options_(options), nranks_(nranks) {}

void PerfReport::printHeader(const std::vector<RankDescription>& ranks) const {
  const PerfOptions& o = options_;
  std::printf("# nThread %d nGpus 1 minBytes %zu maxBytes %zu step: %zu(%s) warmup iters: %d iters: %d agg iters: %d "
              "validation: %d graph: 0\n#\n# Using devices\n",
              o.threads, o.minBytes, o.maxBytes, o.stepFactor > 1 ? static_cast<size_t>(o.stepFactor) : o.stepBytes,
              o.stepFactor > 1 ? "factor" : "bytes", o.warmupIters, o.iters, o.aggIters, o.check);
  for (size_t r = 0; r < ranks.size(); ++r) {
    if (ranks[r].device < 0) {
      std::printf("#  Rank %2zu Group  0 Pid %6d on %10s device  0 [host] CPU (Strata host memory)\n", r, ranks[r].pid,
                  ranks[r].host);
    } else {
      std::printf("#  Rank %2zu Group  0 Pid %6d on %10s device %2d [cuda] GPU (CUDA device memory)\n", r, ranks[r].pid,
                  ranks[r].host, ranks[r].device);
    }
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
#if !STRATA_PERF_HAVE_JSON
  std::fprintf(stderr, "%s: -J needs a build with nlohmann-json (nlohmann-json3-dev)\n", test_.name);
  return false;
#else
  nlohmann::json results = nlohmann::json::array();
  for (const ResultRow& r : rows_) {
    results.push_back({{"size", r.bytes}, {"count", r.count}, {"type", r.type}, {"redop", r.redop}, {"root", r.root},
                       {"out_of_place", placementJson(r.outOfPlace)}, {"in_place", placementJson(r.inPlace)}});
  }
  nlohmann::json document = {{"tool", test_.name},
                             {"nranks", nranks_},
                             {"iters", options_.iters},
                             {"warmup_iters", options_.warmupIters},
                             {"agg_iters", options_.aggIters},
                             {"time", options_.reportCpuTime ? "cpu" : "wall"},
                             {"results", results},
                             {"out_of_bounds", wrong_},
                             {"avg_busbw_gbps", averageBusbw()}};
  FILE* f = std::fopen(options_.jsonFile.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "%s: cannot write -J %s: %s\n", test_.name, options_.jsonFile.c_str(), std::strerror(errno));
    return false;
  }
  std::string text = document.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok) std::fprintf(stderr, "%s: writing -J %s failed\n", test_.name, options_.jsonFile.c_str());
  return ok;
#endif
}

}  // namespace strata::perf
