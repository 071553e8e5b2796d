// What rank 0 of a perf tool prints: nccl-tests' header, one row per size and dtype/op, the
// footer ("# Out of bounds values", "# Avg bus bandwidth"), and the same rows as JSON for -J.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "perf/common/perf_harness.h"
#include "perf/common/perf_options.h"

namespace strata::perf {

struct RankDescription {
  int pid;
  int device;  // GPU index, -1 for host memory
  char host[56];
};

// One placement's figures; `checked` false prints #wrong as N/A.
struct PlacementResult {
  double timeUs = 0;
  double algbw = 0;
  double busbw = 0;
  long wrong = 0;
  bool checked = false;
};

struct ResultRow {
  size_t bytes = 0;
  size_t count = 0;
  const char* type = "";
  const char* redop = "none";
  int root = -1;
  PlacementResult outOfPlace;
  PlacementResult inPlace;
};

class PerfReport {
 public:
  PerfReport(const CollectiveTest& test, const PerfOptions& options, int nranks);

  void printHeader(const std::vector<RankDescription>& ranks) const;
  void addRow(const ResultRow& row);
  // Prints the footer and writes the JSON file (-J); false when the file cannot be written.
  bool finish();

  long wrongValues() const { return wrong_; }
  double averageBusbw() const { return rows_.empty() ? 0.0 : busbwSum_ / (2.0 * static_cast<double>(rows_.size())); }

 private:
  bool writeJson() const;

  const CollectiveTest& test_;
  const PerfOptions& options_;
  int nranks_;
  std::vector<ResultRow> rows_;
  double busbwSum_ = 0;
  long wrong_ = 0;
};

}  // namespace strata::perf
