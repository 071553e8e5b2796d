#include "options.h"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>

namespace trainer {
namespace {

long long parseInteger(const std::string& flag, const char* text, long long lowest, long long highest) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text, &end, 10);
  if (errno || end == text || *end) throw std::invalid_argument(flag + " " + text + ": not an integer");
  if (v < lowest || v > highest) {
    throw std::invalid_argument(flag + " " + text + ": must be from " + std::to_string(lowest) + " to " +
                                std::to_string(highest));
  }
  return v;
}

double parseReal(const std::string& flag, const char* text, double lowest, double highest) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text, &end);
  if (errno || end == text || *end || !std::isfinite(v))
    throw std::invalid_argument(flag + " " + text + ": not a number");
  if (v < lowest || v > highest) {
    std::ostringstream range;
    range << flag << " " << text << ": must be from " << lowest << " to " << highest;
    throw std::invalid_argument(range.str());
  }
  return v;
}

// Bounds that keep every buffer's element count in an int and a run's memory plausible; the
// products (batch x seq x width, attention's seq x seq) are checked once the rank count is known.
constexpr long long kMaxWidth = 1 << 16, kMaxSteps = 1 << 30;

}  // namespace

const char* usage() {
  return "usage: moe_trainer [options]   (one process per rank: strata-run -n 4 moe_trainer --ep 2)\n"
         "model:     --seq N (64) --dim N (64) --heads N (4) --blocks N (2) --mlp-hidden N (128)\n"
         "           --experts N (8) --topk N (2) --expert-hidden N (64) --aux-weight A (0.01)\n"
         "training:  --steps N (300) --batch N global sequences per step (16) --lr X (3e-3)\n"
         "           --warmup N (20) --weight-decay X (0.1) --clip X (1.0, 0 = off) --seed N (1)\n"
         "           --data FILE (default: built-in generated text)\n"
         "parallel:  --ep N ranks per expert-parallel group (default: all) --dp N (ranks / ep)\n"
         "           --bucket-mb X gradient bucket size (1) --no-overlap (all-reduce after backward)\n"
         "           --naive-moe (MoE exchange as strataAllToAllv of one row per (token, expert) pair)\n"
         "           --blas-threads N (1)\n"
         "output:    --log-every N (10) --csv FILE --plot FILE.png\n"
         "checkpoints: --save DIR [--save-every N] (each rank its shard; DIR/latest names the last\n"
         "           complete step) --resume DIR --stop-after N (stop once N steps are done, counting\n"
         "           from step 0, as a time limit would; the schedule stays that of --steps)\n"
         "testing:   --dump DIR [--dump-step N (0)]: after N steps, the weights, the next batch, its loss\n"
         "           and gradients (for tests/trainer/reference_check.py); then stop\n";
}

Options parseOptions(int argc, char** argv) {
  Options o;
  using Handler = std::function<void(const std::string&, const char*)>;
  auto integer = [](int& field, long long lowest, long long highest) {
    return Handler([&field, lowest, highest](const std::string& f, const char* v) {
      field = static_cast<int>(parseInteger(f, v, lowest, highest));
    });
  };
  auto real = [](float& field, double lowest, double highest) {
    return Handler([&field, lowest, highest](const std::string& f, const char* v) {
      field = static_cast<float>(parseReal(f, v, lowest, highest));
    });
  };
  auto text = [](std::string& field) { return Handler([&field](const std::string&, const char* v) { field = v; }); };
  std::map<std::string, Handler> withValue = {
      {"--seq", integer(o.model.seq, 2, kMaxWidth)},
      {"--dim", integer(o.model.dim, 1, kMaxWidth)},
      {"--heads", integer(o.model.heads, 1, kMaxWidth)},
      {"--blocks", integer(o.model.blocks, 1, 1024)},
      {"--mlp-hidden", integer(o.model.mlpHidden, 1, kMaxWidth)},
      {"--experts", integer(o.model.experts, 1, kMaxWidth)},
      {"--topk", integer(o.model.topK, 1, 64)},
      {"--expert-hidden", integer(o.model.expertHidden, 1, kMaxWidth)},
      {"--aux-weight", real(o.model.auxWeight, 0, 1e3)},
      {"--steps", integer(o.steps, 1, kMaxSteps)},
      {"--batch", integer(o.batch, 1, 1 << 20)},
      {"--lr", real(o.optimizer.lr, 0, 1e3)},
      {"--warmup", integer(o.optimizer.warmupSteps, 0, kMaxSteps)},
      {"--weight-decay", real(o.optimizer.weightDecay, 0, 1e3)},
      {"--clip", real(o.optimizer.clipNorm, 0, 1e30)},
      {"--ep", integer(o.ep, 1, 1 << 20)},
      {"--dp", integer(o.dp, 1, 1 << 20)},
      {"--blas-threads", integer(o.blasThreads, 1, 1024)},
      {"--log-every", integer(o.logEvery, 1, kMaxSteps)},
      {"--data", text(o.data)},
      {"--csv", text(o.csv)},
      {"--plot", text(o.plot)},
      {"--save", text(o.save)},
      {"--save-every", integer(o.saveEvery, 1, kMaxSteps)},
      {"--resume", text(o.resume)},
      {"--stop-after", integer(o.stopAfter, 1, kMaxSteps)},
      {"--dump", text(o.dump)},
      {"--dump-step", integer(o.dumpStep, 0, kMaxSteps)},
      {"--seed", Handler([&o](const std::string& f, const char* v) {
         o.seed = static_cast<unsigned long long>(parseInteger(f, v, 0, LLONG_MAX));
       })},
      {"--bucket-mb",
       Handler([&o](const std::string& f, const char* v) { o.bucketMb = parseReal(f, v, 0.001, 1 << 20); })},
  };
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      o.help = true;
    } else if (flag == "--no-overlap") {
      o.overlap = false;
    } else if (flag == "--naive-moe") {
      o.naiveMoe = true;
    } else if (auto it = withValue.find(flag); it != withValue.end()) {
      if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
      it->second(flag, argv[++i]);
    } else {
      throw std::invalid_argument("unknown option '" + flag + "' (--help lists them)");
    }
  }
  o.optimizer.totalSteps = o.steps;
  return o;
}

}  // namespace trainer
