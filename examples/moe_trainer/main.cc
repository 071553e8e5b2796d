// moe_trainer: a small mixture-of-experts language model trained expert- and data-parallel over
// Strata's public C API (see README "The bundled MoE trainer"). One process per rank.
#include <strata/strata.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "checkpoint.h"
#include "data.h"
#include "dump.h"
#include "gradient_sync.h"
#include "linalg.h"
#include "model.h"
#include "options.h"
#include "parallel.h"
#include "progress.h"

namespace trainer {
namespace {

double sumSquares(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return s;
}

// Every rank loads its shard; if any cannot, every rank fails (none trains on alone).
int resumeEverywhere(const std::string& dir, const Groups& groups, TrainingState state) {
  std::string problem;
  int step = 0;
  try {
    step = loadCheckpoint(dir, groups, state);
  } catch (const std::exception& e) {
    problem = e.what();
  }
  int failed[2] = {problem.empty() ? 0 : 1, problem.empty() ? -1 : groups.rank};
  check(strataAllReduce(failed, failed, 2, strataInt, strataMax, groups.world, nullptr), groups.world,
        "strataAllReduce (resume)");
  if (!problem.empty()) throw std::invalid_argument(problem);
  if (failed[0])
    throw std::invalid_argument("--resume " + dir + ": rank " + std::to_string(failed[1]) +
                                " could not load its shard");
  if (groups.rank == 0) std::printf("resumed from %s at step %d\n", dir.c_str(), step);
  return step;
}

int train(const Options& o) {
  strataComm_t world = nullptr;
  check(strataCommInitFromEnv(&world), nullptr, "strataCommInitFromEnv");
  int worldSize = 1;
  check(strataCommCount(world, &worldSize), world, "strataCommCount");
  const int ep = o.ep > 0 ? o.ep : (o.dp > 0 ? worldSize / o.dp : worldSize);
  if (o.dp > 0 && o.dp * ep != worldSize) {
    strataCommDestroy(world);
    throw std::invalid_argument("--ep " + std::to_string(ep) + " x --dp " + std::to_string(o.dp) + " is not the " +
                                std::to_string(worldSize) + " ranks");
  }
  Groups groups = Groups::make(world, ep);
  struct Cleanup {
    Groups& g;
    ~Cleanup() { g.destroy(); }
  } cleanup{groups};
  if (std::string p = o.model.problem(groups.epSize); !p.empty()) throw std::invalid_argument(p);
  if (o.batch % groups.size != 0) {
    throw std::invalid_argument("--batch " + std::to_string(o.batch) + " is not divisible by the " +
                                std::to_string(groups.size) + " ranks");
  }
  if (!o.dump.empty() && groups.size != 1) throw std::invalid_argument("--dump runs on one rank");
  if (!o.dump.empty() && o.dumpStep >= o.steps) throw std::invalid_argument("--dump-step must be below --steps");
  setBlasThreads(o.blasThreads);

  const TextData data =
      o.data.empty() ? TextData::generated(o.seed, 1 << 20, o.model.seq) : TextData::fromFile(o.data, o.model.seq);
  Model model(o.model, groups, o.naiveMoe);
  initializeParams(model.layout(), o.seed, model.dense(), model.expert());
  AdamW denseOptimizer(o.optimizer, model.layout().dense, model.layout().denseCount);
  AdamW expertOptimizer(o.optimizer, model.layout().expert, model.layout().expertCount);
  GradientSync sync(groups, static_cast<size_t>(o.bucketMb * (1 << 20)), o.overlap);
  Progress progress(o, groups, model.layout());

  const TrainingState state{model, denseOptimizer, expertOptimizer};
  const int firstStep = o.resume.empty() ? 0 : resumeEverywhere(o.resume, groups, state);
  const int lastStep = o.stopAfter > 0 ? std::min(o.stopAfter, o.steps) : o.steps;
  const int perRank = o.batch / groups.size;
  const double globalTokens = static_cast<double>(o.batch) * o.model.seq;
  for (int step = firstStep; step < lastStep; ++step) {
    const auto start = std::chrono::steady_clock::now();
    const Batch batch = data.trainBatch(o.seed, step, o.batch, groups.rank * perRank, perRank, o.model.seq);
    CommClock clock;
    sync.begin(model.denseGrad(), model.expertGrad());
    const bool dumpNow = !o.dump.empty() && step == o.dumpStep;
    const std::vector<float> denseBefore = dumpNow ? model.dense() : std::vector<float>();
    const std::vector<float> expertBefore = dumpNow ? model.expert() : std::vector<float>();
    const StepLosses losses = model.step(
        batch, globalTokens, sync.stream(), [&](size_t dense, size_t expert) { sync.ready(dense, expert); }, clock);
    sync.finish(clock);
    if (dumpNow) {
      writeDump(o.dump, model, batch, losses, globalTokens, denseBefore, expertBefore);
      std::printf("moe_trainer: wrote %s (loss %.6f)\n", o.dump.c_str(),
                  losses.crossEntropySum / globalTokens + losses.aux);
      return 0;
    }
    // One all-reduce for what the step reports and clipping needs: the loss over the global
    // batch, the global gradient norm (every expert replica counted once: each is on dpSize
    // ranks), and every expert replica's load (a slot per DP group and expert).
    const ParamLayout& layout = model.layout();
    std::vector<double> totals(2 + static_cast<size_t>(groups.dpSize * o.model.experts), 0.0);
    totals[0] = losses.crossEntropySum;
    totals[1] = sumSquares(model.expertGrad()) / groups.dpSize;
    const std::vector<size_t> load = model.expertLoad();
    for (size_t e = 0; e < load.size(); ++e) {
      totals[2 + static_cast<size_t>(groups.dpRank * o.model.experts + layout.firstExpert) + e] =
          static_cast<double>(load[e]);
    }
    if (groups.size > 1) {
      CommClock::Scope timed(clock);
      check(
          strataAllReduce(totals.data(), totals.data(), totals.size(), strataDouble, strataSum, groups.world, nullptr),
          groups.world, "strataAllReduce (loss, gradient norm, expert load)");
    }
    const auto [loadMin, loadMax] = std::minmax_element(totals.begin() + 2, totals.end());
    const double norm = std::sqrt(sumSquares(model.denseGrad()) + totals[1]);
    const float scale = clipScale(o.optimizer, norm);
    const float lr = learningRate(o.optimizer, step);
    denseOptimizer.update(model.dense(), model.denseGrad(), lr, scale);
    expertOptimizer.update(model.expert(), model.expertGrad(), lr, scale);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.record({step, totals[0] / globalTokens, losses.aux, norm, lr, seconds, clock.seconds, globalTokens,
                     static_cast<size_t>(*loadMin), static_cast<size_t>(*loadMax)});
    const int done = step + 1;
    if (!o.save.empty() && ((o.saveEvery > 0 && done % o.saveEvery == 0) || done == lastStep)) {
      saveCheckpoint(o.save, done, groups, state);
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
  try {
    const trainer::Options o = trainer::parseOptions(argc, argv);
    if (o.help) {
      std::fputs(trainer::usage(), stdout);
      return 0;
    }
    return trainer::train(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "moe_trainer: %s\n", e.what());
    return 1;
  }
}
