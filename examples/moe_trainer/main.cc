// moe_trainer: a small mixture-of-experts language model trained expert- and data-parallel over
// Strata's public C API (see README "The bundled MoE trainer"). One process per rank.
#include <strata/strata.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <random>
#include <stdexcept>

#include "agreement.h"
#include "blas_core.h"
#include "checkpoint.h"
#include "data.h"
#include "dump.h"
#include "gradient_sync.h"
#include "linalg.h"
#include "model.h"
#include "options.h"
#include "parallel.h"
#include "progress.h"
#include "step_totals.h"

namespace trainer {
namespace {

// The EP group size these options ask for on `ranks` ranks, or 0 with `problem` set.
int epSizeFor(const Options& o, int ranks, std::string& problem) {
  const int ep = o.ep > 0 ? o.ep : (o.dp > 0 ? std::max(1, ranks / o.dp) : ranks);
  if (o.dp > 0 && static_cast<long long>(o.dp) * ep != ranks) {
    problem = "--ep " + std::to_string(ep) + " x --dp " + std::to_string(o.dp) + " is not the " +
              std::to_string(ranks) + " ranks";
  } else if (ranks % ep != 0) {
    problem = "--ep " + std::to_string(ep) + " does not divide the " + std::to_string(ranks) +
              " ranks (ep x dp must equal the rank count)";
  }
  return problem.empty() ? ep : 0;
}

// What is wrong with these options on `ranks` ranks, or "".
std::string layoutProblem(const Options& o, int ranks, int ep) {
  if (std::string p = o.model.problem(ep); !p.empty()) return p;
  if (o.batch % ranks != 0) {
    return "--batch " + std::to_string(o.batch) + " is not divisible by the " + std::to_string(ranks) + " ranks";
  }
  // Every buffer's element count must fit an int: rows x the widest layer, and attention's
  // sequences x heads x seq x seq probabilities.
  const long long rows = static_cast<long long>(o.batch / ranks) * o.model.seq;
  const long long width = std::max({3LL * o.model.dim, 256LL, 1LL * o.model.mlpHidden, 1LL * o.model.expertHidden,
                                    1LL * o.model.experts * o.model.topK});
  const long long attention = static_cast<long long>(o.batch / ranks) * o.model.heads * o.model.seq * o.model.seq;
  if (rows * width > INT32_MAX || attention > INT32_MAX) {
    return "--batch " + std::to_string(o.batch) + " x --seq " + std::to_string(o.model.seq) +
           " is too large for one rank's buffers (over 2^31 elements); use more ranks or a smaller batch";
  }
  if (!o.dump.empty() && ranks != 1) return "--dump runs on one rank";
  if (!o.dump.empty() && o.dumpStep >= o.steps) return "--dump-step must be below --steps";
  return saveDirectoryProblem(o.save, o.resume);
}

// The text to train on, or a problem with it (or with the output files, on rank 0).
std::optional<TextData> loadData(const Options& o, int rank, std::string& problem) {
  try {
    std::optional<TextData> data(o.data.empty() ? TextData::generated(o.seed, 1 << 20, o.model.seq)
                                                : TextData::fromFile(o.data, o.model.seq));
    if (rank == 0) Progress::checkOutputs(o);
    return data;
  } catch (const std::exception& e) {
    problem = e.what();
    return std::nullopt;
  }
}

// Rank 0's random number, on every rank: names this run's checkpoint shards.
uint64_t makeRunId(const Groups& groups) {
  uint64_t id = 0;
  if (groups.rank == 0) id = (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  check(strataBroadcast(&id, &id, 1, strataUint64, 0, groups.world, nullptr), groups.world, "strataBroadcast (run id)");
  return id;
}

int train(const Options& options, strataComm_t world, const std::string& optionsProblem) {
  const Options& o = options;
  int worldSize = 1, worldRank = 0;
  check(strataCommCount(world, &worldSize), world, "strataCommCount");
  check(strataCommUserRank(world, &worldRank), world, "strataCommUserRank");
  std::string problem = optionsProblem;
  const int ep = problem.empty() ? epSizeFor(o, worldSize, problem) : 0;
  if (problem.empty()) problem = layoutProblem(o, worldSize, ep);
  try {
    agreeOrFail(world, worldRank, problem, "checking the options");
  } catch (...) {
    strataCommDestroy(world);
    throw;
  }
  Groups groups = Groups::make(world, ep);
  struct Cleanup {
    Groups& g;
    ~Cleanup() { g.destroy(); }
  } cleanup{groups};
  setBlasThreads(o.blasThreads);
  std::optional<TextData> loaded = loadData(o, groups.rank, problem);
  agreeOrFail(groups.world, groups.rank, problem, "reading the data");
  const TextData& data = *loaded;

  Model model(o.model, groups, o.naiveMoe);
  initializeParams(model.layout(), o.seed, model.dense(), model.expert());
  AdamW denseOptimizer(o.optimizer, model.layout().dense, model.layout().denseCount);
  AdamW expertOptimizer(o.optimizer, model.layout().expert, model.layout().expertCount);
  GradientSync sync(groups, static_cast<size_t>(o.bucketMb * (1 << 20)), o.overlap);
  Progress progress(o, groups, model.layout());
  const TrainingState state{model, denseOptimizer, expertOptimizer};
  const CheckpointRun checkpoints{
      o.save, makeRunId(groups),
      RunSettings{o.seed, o.batch, o.steps, o.optimizer.warmupSteps, o.optimizer.lr, o.optimizer.weightDecay,
                  o.optimizer.clipNorm, o.model.auxWeight, 0, data.fingerprint()}};
  int firstStep = 0;
  if (!o.resume.empty()) {
    firstStep = loadCheckpoint(o.resume, checkpoints.settings, groups, state);
    if (groups.rank == 0) std::printf("resumed from %s at step %d\n", o.resume.c_str(), firstStep);
  }

  const int lastStep = o.stopAfter > 0 ? std::min(o.stopAfter, o.steps) : o.steps;
  const int perRank = o.batch / groups.size;
  const double globalTokens = static_cast<double>(o.batch) * o.model.seq;
  for (int step = firstStep; step < lastStep; ++step) {
    const auto start = std::chrono::steady_clock::now();
    const Batch batch = data.trainBatch(o.seed, step, o.batch, groups.rank * perRank, perRank, o.model.seq);
    CommClock clock;
    sync.begin(model.denseGrad(), model.expertGrad());
    const bool dumpNow = !o.dump.empty() && step == o.dumpStep;
    std::optional<DumpedStep> dumped;
    if (dumpNow) dumped.emplace(model, denseOptimizer, expertOptimizer);
    const StepLosses losses = model.step(
        batch, globalTokens, sync.stream(), [&](size_t dense, size_t expert) { sync.ready(dense, expert); }, clock);
    StepTotals totals;
    totals.queue(model, groups, losses.crossEntropySum, sync.stream());
    sync.finish(clock);
    const double norm = totals.gradientNorm(model, groups, clock);
    if (!std::isfinite(norm) || !std::isfinite(totals.crossEntropySum())) {
      // Every rank sees the same totals, so every rank stops here.
      throw std::runtime_error("step " + std::to_string(step) +
                               ": the loss or the gradient norm is not finite: training diverged (lower --lr, or "
                               "--clip)");
    }
    const float scale = clipScale(o.optimizer, norm);
    const float lr = learningRate(o.optimizer, step);
    denseOptimizer.update(model.dense(), model.denseGrad(), lr, scale);
    expertOptimizer.update(model.expert(), model.expertGrad(), lr, scale);
    if (dumpNow) {
      dumped->finish(o.dump, step, model, batch, losses, globalTokens, lr, scale, denseOptimizer.updates());
      std::printf("moe_trainer: wrote %s (loss %.6f)\n", o.dump.c_str(),
                  losses.crossEntropySum / globalTokens + losses.aux);
      return 0;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.record({step, totals.crossEntropySum() / globalTokens, losses.aux, norm, lr, seconds, clock.seconds,
                     globalTokens, static_cast<size_t>(totals.leastLoad()), static_cast<size_t>(totals.mostLoad())});
    const int done = step + 1;
    if (!o.save.empty() && ((o.saveEvery > 0 && done % o.saveEvery == 0) || done == lastStep)) {
      saveCheckpoint(checkpoints, done, groups, state);
      if (groups.rank == 0) std::printf("checkpoint: step %d saved in %s\n", done, o.save.c_str());
    }
  }
  // The held-out loss: the same number of sequences as a training batch, from the held-out tenth.
  double heldOut =
      model.evaluate(data.heldOutBatch(groups.rank * perRank, perRank, o.model.seq), globalTokens, sync.stream());
  if (groups.size > 1) {
    check(strataAllReduce(&heldOut, &heldOut, 1, strataDouble, strataSum, groups.world, nullptr), groups.world,
          "strataAllReduce (held-out loss)");
  }
  progress.finish(heldOut / globalTokens);
  return 0;
}

}  // namespace
}  // namespace trainer

int main(int argc, char** argv) {
  // Before any connection exists: run again with OpenBLAS told the CPU it did not recognise.
  if (const char* core = trainer::betterBlasCore(); *core) {
    setenv("OPENBLAS_CORETYPE", core, 1);
    execv("/proc/self/exe", argv);  // on failure, carry on with the kernels we have
  }
  trainer::Options options;
  std::string problem;
  try {
    options = trainer::parseOptions(argc, argv);
  } catch (const std::exception& e) {
    problem = e.what();
  }
  if (problem.empty() && options.help) {
    std::fputs(trainer::usage(), stdout);
    return 0;
  }
  // Bad options are reported after init too, so that every rank of a launch says so together.
  strataComm_t world = nullptr;
  if (strataCommInitFromEnv(&world) != strataSuccess) {
    std::fprintf(stderr, "moe_trainer: %s\n",
                 problem.empty() ? (std::string("strataCommInitFromEnv failed: ") + strataGetLastError(nullptr)).c_str()
                                 : problem.c_str());
    return 1;
  }
  try {
    return trainer::train(options, world, problem);
  } catch (const trainer::ReportedFailure&) {
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "moe_trainer: %s\n", e.what());
    return 1;
  }
}
