#include "perf/common/perf_options.h"

#include <getopt.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "perf/common/perf_memory.h"

namespace strata::perf {
namespace {

// Long-only options (nccl-tests' -M means something else: memory-usage reports).
constexpr int kMemoryOption = 1000;

struct NamedType {
  const char* name;
  strataDataType_t type;
};
const NamedType kTypes[] = {{"int8", strataInt8},       {"uint8", strataUint8},       {"int32", strataInt32},
                            {"uint32", strataUint32},   {"int64", strataInt64},       {"uint64", strataUint64},
                            {"half", strataFloat16},    {"float", strataFloat32},     {"double", strataFloat64},
                            {"bfloat16", strataBfloat16}, {"f8e4m3", strataFloat8e4m3}, {"f8e5m2", strataFloat8e5m2}};
struct NamedOp {
  const char* name;
  strataRedOp_t op;
};
const NamedOp kOps[] = {{"sum", strataSum}, {"prod", strataProd}, {"max", strataMax}, {"min", strataMin}, {"avg", strataAvg}};

void usage(FILE* out, const char* tool) {
  std::fprintf(out,
               "usage: %s [options]   (run one process per rank, e.g. strata-run -n 4 %s -b 8 -e 128M -f 2)\n"
               "  -b, --minbytes N      smallest size (K/M/G suffixes), default 32M\n"
               "  -e, --maxbytes N      largest size, default 32M\n"
               "  -i, --stepbytes N     additive step, default 1M\n"
               "  -f, --stepfactor F    multiplicative step (overrides -i)\n"
               "  -n, --iters N         timed iterations, default 20\n"
               "  -w, --warmup_iters N  untimed iterations, default 1\n"
               "  -m, --agg_iters N     operations per timed iteration (grouped), default 1\n"
               "  -N, --run_cycles N    run the whole sweep N times (0: until killed), default 1\n"
               "  -c, --check N         check results (0: #wrong is N/A), default 1\n"
               "  -o, --op OP           sum, prod, max, min, avg or all; default sum\n"
               "  -d, --datatype T      int8 uint8 int32 uint32 int64 uint64 half float double bfloat16\n"
               "                        f8e4m3 f8e5m2 or all; default float\n"
               "  -r, --root R          root of rooted collectives, default 0\n"
               "  -a, --average A       time across ranks: 0 rank 0, 1 mean, 2 min, 3 max; default 1\n"
               "  -z, --blocking Z      1: synchronise the stream after each operation (--memory cuda;\n"
               "                        host calls on the NULL stream always complete)\n"
               "  -T, --timeout S       per-test timeout in seconds (sets STRATA_TIMEOUT_MS)\n"
               "  -C, --report_cputime C  1: the time column is the process's CPU time per operation\n"
               "  -J, --output_file F   also write the results as JSON to F\n"
               "  -t, --nthreads N      ranks per process, each a thread with its own communicator and (with\n"
               "                        --memory cuda) stream; default 1. -g, --ngpus 1   -G, --cudagraph 0\n"
               "  -A, --algo NAME       force an algorithm (same as STRATA_ALGO)\n"
               "      --memory KIND     buffer memory: host (default) or cuda (device memory of the local\n"
               "                        rank's GPU and a CUDA stream; CUDA builds)\n"
               "  -h, --help            this text\n",
               tool, tool);
}

// No buffer can exceed the 47-bit user address space of x86-64 and AArch64 Linux.
constexpr double kMaxSizeBytes = static_cast<double>(uint64_t{1} << 47);

bool parseSize(const char* text, size_t* out) {
  char* end = nullptr;
  double value = std::strtod(text, &end);
  if (end == text || !std::isfinite(value) || value < 0) return false;
  double scale = 1;
  switch (*end) {
    case 'K': case 'k': scale = 1024.0; ++end; break;
    case 'M': case 'm': scale = 1024.0 * 1024; ++end; break;
    case 'G': case 'g': scale = 1024.0 * 1024 * 1024; ++end; break;
    default: break;
  }
  if (*end == 'B' || *end == 'b') ++end;
  if (*end != '\0' || value * scale > kMaxSizeBytes) return false;
  *out = static_cast<size_t>(value * scale);
  return true;
}

bool parseInt(const char* text, int low, int* out) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < low || v > 1 << 30) return false;
  *out = static_cast<int>(v);
  return true;
}

}  // namespace

bool parsePerfOptions(int argc, char** argv, const char* tool, PerfOptions* o) {
  static const option longOptions[] = {
      {"minbytes", required_argument, nullptr, 'b'}, {"maxbytes", required_argument, nullptr, 'e'},
      {"stepbytes", required_argument, nullptr, 'i'}, {"stepfactor", required_argument, nullptr, 'f'},
      {"iters", required_argument, nullptr, 'n'},    {"warmup_iters", required_argument, nullptr, 'w'},
      {"agg_iters", required_argument, nullptr, 'm'}, {"check", required_argument, nullptr, 'c'},
      {"op", required_argument, nullptr, 'o'},       {"datatype", required_argument, nullptr, 'd'},
      {"root", required_argument, nullptr, 'r'},     {"average", required_argument, nullptr, 'a'},
      {"blocking", required_argument, nullptr, 'z'}, {"timeout", required_argument, nullptr, 'T'},
      {"algo", required_argument, nullptr, 'A'},     {"help", no_argument, nullptr, 'h'},
      {"run_cycles", required_argument, nullptr, 'N'}, {"report_cputime", required_argument, nullptr, 'C'},
      {"output_file", required_argument, nullptr, 'J'}, {"nthreads", required_argument, nullptr, 't'},
      {"ngpus", required_argument, nullptr, 'g'},    {"cudagraph", required_argument, nullptr, 'G'},
      {"memory", required_argument, nullptr, kMemoryOption},
      {nullptr, 0, nullptr, 0}};
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "b:e:i:f:n:w:m:c:o:d:r:a:z:T:A:N:C:J:t:g:G:h", longOptions, nullptr)) != -1) {
    bool ok = true;
    switch (c) {
      case 'b': ok = parseSize(optarg, &o->minBytes); break;
      case 'e': ok = parseSize(optarg, &o->maxBytes); break;
      case 'i': ok = parseSize(optarg, &o->stepBytes) && o->stepBytes > 0; break;
      case 'f': ok = parseInt(optarg, 2, &o->stepFactor); break;
      case 'n': ok = parseInt(optarg, 1, &o->iters); break;
      case 'w': ok = parseInt(optarg, 0, &o->warmupIters); break;
      case 'm': ok = parseInt(optarg, 1, &o->aggIters); break;
      case 'c': ok = parseInt(optarg, 0, &o->check); break;
      case 'r': ok = parseInt(optarg, 0, &o->root); break;
      case 'a': ok = parseInt(optarg, 0, &o->average) && o->average <= 3; break;
      case 'z': ok = parseInt(optarg, 0, &o->blocking); break;
      case 'T': ok = parseInt(optarg, 1, &o->timeoutSeconds); break;
      case 'A': o->algo = optarg; break;
      case 'N': ok = parseInt(optarg, 0, &o->runCycles); break;
      case 'C': {
        int on = 0;
        ok = parseInt(optarg, 0, &on) && on <= 1;
        o->reportCpuTime = on == 1;
        break;
      }
      case 'J': o->jsonFile = optarg; ok = !o->jsonFile.empty(); break;
      case 't':
        ok = parseInt(optarg, 1, &o->threads) && o->threads <= 64;
        break;
      case 'g': {
        int one = 0;
        ok = parseInt(optarg, 1, &one) && one == 1;
        if (!ok) std::fprintf(stderr, "%s: -g %s: each rank drives one GPU; run more ranks with -t or strata-run -n\n", tool, optarg);
        break;
      }
      case 'G': {
        int launches = 0;
        ok = parseInt(optarg, 0, &launches) && launches == 0;
        if (!ok) std::fprintf(stderr, "%s: -G %s: CUDA graph capture of Strata calls is not supported\n", tool, optarg);
        break;
      }
      case kMemoryOption:
        ok = std::strcmp(optarg, "host") == 0 || std::strcmp(optarg, "cuda") == 0;
        if (ok) o->memory = optarg;
        if (ok && o->memory == "cuda" && !perfHasCuda()) {
          std::fprintf(stderr, "%s: --memory cuda: this build has no CUDA (no CUDA toolkit was found when it was built)\n", tool);
          ok = false;
        }
        break;
      case 'o':
        o->ops.clear();
        for (const auto& n : kOps) {
          if (std::strcmp(optarg, "all") == 0 || std::strcmp(optarg, n.name) == 0) o->ops.push_back(n.op);
        }
        ok = !o->ops.empty();
        break;
      case 'd':
        o->dtypes.clear();
        for (const auto& n : kTypes) {
          if (std::strcmp(optarg, "all") == 0 || std::strcmp(optarg, n.name) == 0) o->dtypes.push_back(n.type);
        }
        ok = !o->dtypes.empty();
        break;
      case 'h': usage(stdout, tool); std::exit(0);
      default:
        std::fprintf(stderr, "%s: unknown option '%s'\n", tool, argv[optind - 1]);
        usage(stderr, tool);
        return false;
    }
    if (!ok) {
      std::string flag = c == kMemoryOption ? std::string("--memory") : std::string("-") + static_cast<char>(c);
      const bool size = c == 'b' || c == 'e' || c == 'i';
      std::fprintf(stderr, "%s: bad value '%s' for %s%s\n", tool, optarg, flag.c_str(),
                   size ? " (a size in bytes with an optional K/M/G suffix, at most 128T)" : "");
      usage(stderr, tool);
      return false;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "%s: unexpected argument '%s'\n", tool, argv[optind]);
    usage(stderr, tool);
    return false;
  }
  if (o->minBytes > o->maxBytes) {
    std::fprintf(stderr, "%s: -b %zu is larger than -e %zu\n", tool, o->minBytes, o->maxBytes);
    return false;
  }
  return true;
}

std::vector<size_t> sweepSizes(const PerfOptions& o) {
  std::vector<size_t> sizes;
  for (size_t s = o.minBytes; s <= o.maxBytes;) {
    sizes.push_back(s);
    size_t next = o.stepFactor > 1 ? s * static_cast<size_t>(o.stepFactor) : s + o.stepBytes;
    if (next <= s) break;
    s = next;
  }
  return sizes;
}

}  // namespace strata::perf
