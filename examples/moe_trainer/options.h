// The trainer's command line.
#pragma once

#include <string>

#include "model_config.h"
#include "optimizer.h"

namespace trainer {

struct Options {
  ModelConfig model;
  OptimizerConfig optimizer;
  int steps = 300;
  int batch = 16;  // global sequences per step
  int ep = 0;      // 0: every rank in one EP group
  int dp = 0;      // 0: ranks / ep
  unsigned long long seed = 1;
  double bucketMb = 1.0;
  bool overlap = true;
  bool naiveMoe = false;  // the MoE exchange as a naive strataAllToAllv (for comparison)
  int blasThreads = 1;
  std::string data;  // empty: the built-in generator
  int logEvery = 10;
  std::string csv, plot;
  std::string save, resume;  // checkpoint directories
  int saveEvery = 0;         // 0: only at the end (when --save is given)
  int stopAfter = 0;         // stop once this many steps are done (as a time limit would); 0: --steps
  std::string dump;          // write the weights, one batch, its loss and gradients here, then stop
  int dumpStep = 0;          // ... after this many training steps
  bool help = false;
};

// Throws std::invalid_argument naming the flag or value that is wrong.
Options parseOptions(int argc, char** argv);
const char* usage();

}  // namespace trainer
