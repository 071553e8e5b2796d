// Checkpoints that a crash cannot corrupt. Each rank writes its shard (weights, AdamW moments,
// the update count) to DIR/step-NNNNNNNN/rank-NNNNN.ckpt through a temporary file, fsync and
// rename; after a barrier rank 0 writes DIR/latest (again temporary, fsync, rename) naming the
// step. A step is complete only once `latest` names it, so a run killed mid-save resumes from
// the previous complete step. Every shard carries the model shape, the EP x DP layout and a
// checksum: resuming with another shape or layout, or from a damaged file, is refused with a
// message that says which.
#pragma once

#include <string>

#include "model.h"
#include "optimizer.h"
#include "parallel.h"

namespace trainer {

struct TrainingState {
  Model& model;
  AdamW& denseOptimizer;
  AdamW& expertOptimizer;
};

// Collective over the world: writes step `step` (steps completed) and publishes it.
void saveCheckpoint(const std::string& dir, int step, const Groups& groups, TrainingState state);

// Reads the step DIR/latest names into `state`; returns the step to continue from. Throws
// std::invalid_argument naming what does not match or what is damaged.
int loadCheckpoint(const std::string& dir, const Groups& groups, TrainingState state);

}  // namespace trainer
