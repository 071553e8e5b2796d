// Checkpoints that a crash cannot corrupt. Each rank writes its shard (weights, AdamW moments,
// the update count) to DIR/step-NNNNNNNN/rank-NNNNN-RUNID.ckpt through a temporary file, fsync
// and rename; once every rank has written (an all-reduce, which also fails every rank when one
// could not), rank 0 writes DIR/latest (again temporary, fsync, rename) naming the step and the
// run. A step is complete only once `latest` names it, and the shards it names are never written
// again (a later run has another id), so a run killed mid-save resumes from the previous
// complete step. Every shard carries the model shape, the EP x DP layout, the settings that
// decide the trajectory (seed, batch, steps, optimizer, data) and a checksum: resuming with any
// of them different, or from a damaged file, is refused with a message that says which.
#pragma once

#include <cstdint>
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

// What must not change between a run and its resumption (besides the model's shape and layout).
struct RunSettings {
  uint64_t seed = 0;
  int32_t batch = 0, steps = 0, warmup = 0;
  float lr = 0, weightDecay = 0, clip = 0, auxWeight = 0;
  int32_t reserved = 0;          // keeps the struct free of padding: shards hash their bytes
  uint64_t dataFingerprint = 0;  // of the training text
};

struct CheckpointRun {
  std::string dir;
  uint64_t runId = 0;  // the same on every rank of a run (rank 0's random number)
  RunSettings settings;
};

// Collective over the world: writes step `step` (steps completed) and publishes it.
void saveCheckpoint(const CheckpointRun& run, int step, const Groups& groups, TrainingState state);

// Collective over the world: reads the step DIR/latest names into `state` and returns it; every
// rank fails (ReportedFailure) if any rank could not, each naming what does not match or is damaged.
int loadCheckpoint(const std::string& dir, const RunSettings& settings, const Groups& groups, TrainingState state);

// "" or why `--save DIR` may not start there: DIR/latest exists and this run does not resume
// from DIR (a fresh run would move `latest` back to its own earlier steps).
std::string saveDirectoryProblem(const std::string& saveDir, const std::string& resumeDir);

}  // namespace trainer
