// What a run shows: a progress line every --log-every steps (step, loss, aux loss, tokens/s,
// communication share, expert load), every step in --csv, a gnuplot chart (--plot) of the loss
// and of the expert load over the steps, and a summary at the end with the held-out loss.
// Rank 0 writes.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "options.h"
#include "parallel.h"
#include "params.h"

namespace trainer {

struct StepRecord {
  int step = 0;
  double loss = 0, aux = 0, gradNorm = 0;
  float lr = 0;
  double seconds = 0, commSeconds = 0, tokens = 0;
  size_t loadMin = 0, loadMax = 0;  // tokens per expert replica (all blocks summed)
};

class Progress {
 public:
  Progress(const Options& o, const Groups& groups, const ParamLayout& layout);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Throws when --csv or --plot cannot be written (checked at start, not after the run).
  static void checkOutputs(const Options& o);

  void record(const StepRecord& r);
  void finish(double heldOutLoss);

 private:
  bool plot() const;  // runs gnuplot on the CSV; false when it fails

  const Options& options_;
  const Groups& groups_;
  std::vector<StepRecord> steps_;
  std::FILE* csv_ = nullptr;
  std::string csvPath_;
  bool csvIsTemporary_ = false;
};

}  // namespace trainer
