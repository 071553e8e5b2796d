// Command-line options of the perf tools, with nccl-tests' flags and defaults so existing
// scripts carry over: -b -e -i -f -n -w -m -N -c -o -d -r -a -z -T -J -C -t (ranks as threads of
// each process; -g/-G at their single-GPU values), plus Strata's --algo and --memory (host, or
// cuda: device buffers on a CUDA stream).
#pragma once

#include <strata/strata.h>

#include <cstddef>
#include <string>
#include <vector>

namespace strata::perf {

struct PerfOptions {
  size_t minBytes = 32 << 20;
  size_t maxBytes = 32 << 20;
  size_t stepBytes = 1 << 20;
  int stepFactor = 1;  // 1: additive steps of stepBytes
  int iters = 20;
  int warmupIters = 1;
  int aggIters = 1;
  int check = 1;
  int average = 1;  // 0 rank 0, 1 mean, 2 min, 3 max
  int blocking = 0;
  int root = 0;
  int timeoutSeconds = 0;
  int runCycles = 1;         // -N: repeat the sweep; 0 = until killed
  bool reportCpuTime = false;  // -C: the time column is CPU time of the process, not wall time
  std::string jsonFile;      // -J: results also written there as JSON (rank 0)
  std::vector<strataDataType_t> dtypes = {strataFloat32};
  std::vector<strataRedOp_t> ops = {strataSum};
  std::string algo;
  std::string memory = "host";  // --memory: host or cuda (device buffers and a CUDA stream)
  int threads = 1;               // -t: ranks per process, each a thread with its own communicator
};

// Parses argv; on a bad or unknown flag prints the error and the usage text and returns false.
bool parsePerfOptions(int argc, char** argv, const char* tool, PerfOptions* options);

// Sizes the sweep visits, in bytes.
std::vector<size_t> sweepSizes(const PerfOptions& options);

}  // namespace strata::perf
