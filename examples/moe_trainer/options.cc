#include "options.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <stdexcept>

namespace trainer {
namespace {

long long parseInteger(const std::string& flag, const char* text, long long lowest) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text, &end, 10);
  if (errno || end == text || *end) throw std::invalid_argument(flag + " " + text + ": not an integer");
  if (v < lowest) throw std::invalid_argument(flag + " " + text + ": must be at least " + std::to_string(lowest));
  return v;
}

double parseReal(const std::string& flag, const char* text, double lowest) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text, &end);
  if (errno || end == text || *end) throw std::invalid_argument(flag + " " + text + ": not a number");
  if (!(v >= lowest)) throw std::invalid_argument(flag + " " + text + ": must be at least " + std::to_string(lowest));
  return v;
}

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
         "           complete step) --resume DIR --stop-after N (stop when N steps are done)\n"
         "testing:   --dump DIR [--dump-step N (0)]: after N steps, the weights, the next batch, its loss\n"
         "           and gradients (for tests/trainer/reference_check.py); then stop\n";
}

Options parseOptions(int argc, char** argv) {
  Options o;
  using Handler = std::function<void(const std::string&, const char*)>;
  auto integer = [](int& field, long long lowest) {
    return Handler([&field, lowest](const std::string& f, const char* v) {
      field = static_cast<int>(parseInteger(f, v, lowest));
    });
  };
  auto real = [](float& field, double lowest) {
    return Handler(
        [&field, lowest](const std::string& f, const char* v) { field = static_cast<float>(parseReal(f, v, lowest)); });
  };
  auto text = [](std::string& field) { return Handler([&field](const std::string&, const char* v) { field = v; }); };
  std::map<std::string, Handler> withValue = {
      {"--seq", integer(o.model.seq, 2)},
      {"--dim", integer(o.model.dim, 1)},
      {"--heads", integer(o.model.heads, 1)},
      {"--blocks", integer(o.model.blocks, 1)},
      {"--mlp-hidden", integer(o.model.mlpHidden, 1)},
      {"--experts", integer(o.model.experts, 1)},
      {"--topk", integer(o.model.topK, 1)},
      {"--expert-hidden", integer(o.model.expertHidden, 1)},
      {"--aux-weight", real(o.model.auxWeight, 0)},
      {"--steps", integer(o.steps, 1)},
      {"--batch", integer(o.batch, 1)},
      {"--lr", real(o.optimizer.lr, 0)},
      {"--warmup", integer(o.optimizer.warmupSteps, 0)},
      {"--weight-decay", real(o.optimizer.weightDecay, 0)},
      {"--clip", real(o.optimizer.clipNorm, 0)},
      {"--ep", integer(o.ep, 1)},
      {"--dp", integer(o.dp, 1)},
      {"--blas-threads", integer(o.blasThreads, 1)},
      {"--log-every", integer(o.logEvery, 1)},
      {"--data", text(o.data)},
      {"--csv", text(o.csv)},
      {"--plot", text(o.plot)},
      {"--save", text(o.save)},
      {"--save-every", integer(o.saveEvery, 1)},
      {"--resume", text(o.resume)},
      {"--stop-after", integer(o.stopAfter, 1)},
      {"--dump", text(o.dump)},
      {"--dump-step", integer(o.dumpStep, 0)},
      {"--seed", Handler([&o](const std::string& f, const char* v) {
         o.seed = static_cast<unsigned long long>(parseInteger(f, v, 0));
       })},
      {"--bucket-mb", Handler([&o](const std::string& f, const char* v) { o.bucketMb = parseReal(f, v, 0.001); })},
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

std::string ModelConfig::problem(int epSize) const {
  if (dim % heads != 0) return "--heads " + std::to_string(heads) + " does not divide --dim " + std::to_string(dim);
  if (topK > experts) return "--topk " + std::to_string(topK) + " is more than --experts " + std::to_string(experts);
  if (experts % epSize != 0) {
    return "--experts " + std::to_string(experts) + " is not divisible by the EP group size " + std::to_string(epSize);
  }
  return "";
}

}  // namespace trainer
