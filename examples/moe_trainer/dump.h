// What the PyTorch reference test reads (tests/trainer/reference_check.py): the model's shape, its
// weights and AdamW moments before a step, the step's batch, loss and gradients, the learning rate
// and clipping factor the step used, and the weights after its update.
#pragma once

#include <string>
#include <vector>

#include "model.h"
#include "optimizer.h"

namespace trainer {

class DumpedStep {
 public:
  // Keeps the weights and moments as they are before the step.
  DumpedStep(Model& model, AdamW& denseOptimizer, AdamW& expertOptimizer);

  // After the step's update: writes DIR/manifest.txt (shape, losses, lr, clip factor, update
  // count, one line per tensor: name, region, offset, rows, cols) and DIR/*.bin: {dense,expert}
  // weights before, {dense,expert}_grad, {dense,expert}_{m,v} moments before, {dense,expert}_after,
  // inputs and targets.
  void finish(const std::string& dir, int step, Model& model, const Batch& batch, const StepLosses& losses,
              double globalTokens, float lr, float clipScale, long long updates) const;

 private:
  std::vector<float> dense_, expert_, denseM_, denseV_, expertM_, expertV_;
  const OptimizerConfig& optimizer_;
};

}  // namespace trainer
