// strata-sim's command line: the modelled cluster, its rates, what to simulate, how to report.
#pragma once

#include <string>
#include <vector>

#include "src/common/status.h"
#include "src/sim/cluster_spec.h"
#include "src/sim/simulate.h"
#include "topology/cost_model.h"

namespace strata::sim {

struct Options {
  ClusterShape shape;
  std::string topologyFile;  // with hosts: a Slurm topology.conf instead of the shape flags
  std::string hosts;
  CostModel model;           // the cost file, then the rate flags over it
  std::vector<size_t> sizes = {size_t{1} << 30};
  std::vector<std::string> algorithms;  // empty: every one
  Mode mode = Mode::Auto;
  bool compareExact = false;
  std::string format = "text";  // text | json
  std::string plotFile;
  double burstSeconds = 0;                     // --link-burst-ms (token-bucket links)
  double burstPeakBytesPerSecond = 1.5e9;      // --burst-peak-gbps
};

// Parses argv; errors name the option and the value. `helpText` is set for -h.
Result<Options> parseOptions(int argc, char** argv, std::string* helpText);

}  // namespace strata::sim
