#include "common/perf_harness.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/perf_options.h"
#include "common/datatype.h"
#include "common/perf_values.h"

namespace strata::perf {
namespace {

#define PERF_CHECK(call)                                                                                    \
  do {                                                                                                      \
    strataResult_t r_ = (call);                                                                             \
    if (r_ != strataSuccess) {                                                                              \
      std::fprintf(stderr, "%s failed: %s: %s\n", #call, strataGetErrorString(r_), strataGetLastError(nullptr)); \
      std::exit(1);                                                                                         \
    }                                                                                                       \
  } while (0)

struct Context {
  const CollectiveTest& test;
  const PerfOptions& options;
  strataComm_t comm;
  int rank;
  int nranks;
};

// Combines a per-rank value as -a asks: rank 0's, the mean, the min or the max.
double combineAcrossRanks(const Context& c, double value) {
  double result = value;
  strataRedOp_t op = c.options.average == 2 ? strataMin : c.options.average == 3 ? strataMax : strataSum;
  PERF_CHECK(strataAllReduce(&value, &result, 1, strataFloat64, op, c.comm, nullptr));
  if (c.options.average == 1) result /= c.nranks;
  if (c.options.average == 0) {
    PERF_CHECK(strataBroadcast(&value, &result, 1, strataFloat64, 0, c.comm, nullptr));
  }
  return result;
}

void fillInputs(const Context& c, char* send, size_t count, strataDataType_t dtype) {
  size_t elements = c.test.sendElements(count, c.nranks);
  for (size_t i = 0; i < elements; ++i) storeValue(dtype, send, i, c.test.input(i, count, c.rank));
}

// Runs `iters` timed iterations (each -m operations, grouped) and returns microseconds per op.
double timeRuns(const Context& c, const void* send, void* recv, size_t count, strataDataType_t dtype, strataRedOp_t op) {
  auto once = [&]() {
    if (c.options.aggIters > 1) PERF_CHECK(strataGroupStart());
    for (int a = 0; a < c.options.aggIters; ++a) {
      PERF_CHECK(c.test.run(send, recv, count, dtype, op, c.options.root, c.comm));
    }
    if (c.options.aggIters > 1) PERF_CHECK(strataGroupEnd());
  };
  for (int w = 0; w < c.options.warmupIters; ++w) once();
  PERF_CHECK(strataBarrier(c.comm, nullptr));
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < c.options.iters; ++i) once();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return seconds * 1e6 / (static_cast<double>(c.options.iters) * c.options.aggIters);
}

// Runs once on fresh inputs and counts output elements that differ from the reference.
long countWrong(const Context& c, const void* send, void* recv, char* sendFill, size_t count, strataDataType_t dtype,
                strataRedOp_t op) {
  fillInputs(c, sendFill, count, dtype);
  PERF_CHECK(c.test.run(send, recv, count, dtype, op, c.options.root, c.comm));
  long wrong = 0;
  bool hasOutput = !(c.test.rooted && c.test.reduces && c.rank != c.options.root);
  size_t elements = hasOutput ? c.test.recvElements(count, c.nranks) : 0;
  for (size_t i = 0; i < elements; ++i) {
    double want = c.test.expected(i, count, dtype, op, c.rank, c.options.root, c.nranks);
    if (!closeEnough(dtype, loadValue(dtype, recv, i), want, c.nranks)) ++wrong;
  }
  long total = 0;
  PERF_CHECK(strataAllReduce(&wrong, &total, 1, strataInt64, strataSum, c.comm, nullptr));
  return total;
}

void printHeader(const Context& c) {
  char host[60] = {};
  gethostname(host, sizeof(host) - 1);
  struct RankLine {
    int pid;
    char host[60];
  } mine{static_cast<int>(getpid()), {}};
  std::memcpy(mine.host, host, sizeof(mine.host));
  std::vector<RankLine> all(static_cast<size_t>(c.nranks));
  PERF_CHECK(strataAllGather(&mine, all.data(), sizeof(RankLine), strataUint8, c.comm, nullptr));
  if (c.rank != 0) return;
  const PerfOptions& o = c.options;
  std::printf("# nThread 1 nGpus 1 minBytes %zu maxBytes %zu step: %zu(%s) warmup iters: %d iters: %d agg iters: %d "
              "validation: %d graph: 0\n#\n# Using devices\n",
              o.minBytes, o.maxBytes, o.stepFactor > 1 ? static_cast<size_t>(o.stepFactor) : o.stepBytes,
              o.stepFactor > 1 ? "factor" : "bytes", o.warmupIters, o.iters, o.aggIters, o.check);
  for (int r = 0; r < c.nranks; ++r) {
    std::printf("#  Rank %2d Group  0 Pid %6d on %10s device  0 [host] CPU (Strata host memory)\n", r, all[r].pid, all[r].host);
  }
  std::printf("#\n");
  std::printf("#%75s%36s\n", "out-of-place", "in-place");
  std::printf("#%11s %13s %8s %7s %7s %8s %7s %7s %6s %8s %7s %7s %6s\n", "size", "count", "type", "redop", "root", "time",
              "algbw", "busbw", "#wrong", "time", "algbw", "busbw", "#wrong");
  std::printf("#%11s %13s %8s %7s %7s %8s %7s %7s %6s %8s %7s %7s %6s\n", "(B)", "(elements)", "", "", "", "(us)", "(GB/s)",
              "(GB/s)", "", "(us)", "(GB/s)", "(GB/s)", "");
  std::fflush(stdout);
}

std::string wrongText(const Context& c, long wrong) { return c.options.check ? std::to_string(wrong) : "N/A"; }

}  // namespace

int runPerfTool(int argc, char** argv, const CollectiveTest& test) {
  PerfOptions options;
  if (!parsePerfOptions(argc, argv, test.name, &options)) return 2;
  if (!options.algo.empty()) setenv("STRATA_ALGO", options.algo.c_str(), 1);
  if (options.timeoutSeconds > 0) setenv("STRATA_TIMEOUT_MS", std::to_string(options.timeoutSeconds * 1000).c_str(), 1);
  strataComm_t comm;
  PERF_CHECK(strataCommInitFromEnv(&comm));
  int rank = 0, nranks = 1;
  PERF_CHECK(strataCommUserRank(comm, &rank));
  PERF_CHECK(strataCommCount(comm, &nranks));
  if (options.root >= nranks) {
    std::fprintf(stderr, "%s: -r %d is not a rank (there are %d)\n", test.name, options.root, nranks);
    return 2;
  }
  Context c{test, options, comm, rank, nranks};
  printHeader(c);

  double busbwSum = 0;
  int rows = 0;
  long wrongTotal = 0;
  std::vector<strataRedOp_t> ops = test.reduces ? options.ops : std::vector<strataRedOp_t>{strataSum};
  for (strataDataType_t dtype : options.dtypes) {
    size_t es = dataTypeSize(dtype);
    for (strataRedOp_t op : ops) {
      for (size_t bytes : sweepSizes(options)) {
        size_t count = test.countFor(bytes, es, nranks);
        size_t sendBytes = test.sendElements(count, nranks) * es;
        size_t recvBytes = test.recvElements(count, nranks) * es;
        std::vector<char> send(std::max<size_t>(sendBytes, 1)), recv(std::max<size_t>(recvBytes, 1));
        std::vector<char> shared(std::max<size_t>(std::max(sendBytes, recvBytes), 1));
        fillInputs(c, send.data(), count, dtype);
        double outTime = combineAcrossRanks(c, timeRuns(c, send.data(), recv.data(), count, dtype, op));
        long outWrong = options.check ? countWrong(c, send.data(), recv.data(), send.data(), count, dtype, op) : 0;
        const void* inSend = nullptr;
        void* inRecv = nullptr;
        test.inPlacePointers(shared.data(), count, es, rank, options.root, &inSend, &inRecv);
        fillInputs(c, const_cast<char*>(static_cast<const char*>(inSend)), count, dtype);
        double inTime = combineAcrossRanks(c, timeRuns(c, inSend, inRecv, count, dtype, op));
        long inWrong = options.check ? countWrong(c, inSend, inRecv, const_cast<char*>(static_cast<const char*>(inSend)),
                                                  count, dtype, op) : 0;
        wrongTotal += outWrong + inWrong;
        double algBytes = test.algorithmBytes(count, es, nranks);
        double outAlgbw = algBytes / outTime / 1e3, inAlgbw = algBytes / inTime / 1e3;
        double factor = test.busFactor(nranks);
        busbwSum += outAlgbw * factor + inAlgbw * factor;
        rows += 2;
        if (rank == 0) {
          std::printf("%12zu %13zu %8s %7s %7d %8.2f %7.2f %7.2f %6s %8.2f %7.2f %7.2f %6s\n", static_cast<size_t>(algBytes),
                      count, dataTypeName(dtype), test.reduces ? redOpName(op) : "none", test.rooted ? options.root : -1, outTime,
                      outAlgbw, outAlgbw * factor, wrongText(c, outWrong).c_str(), inTime, inAlgbw, inAlgbw * factor,
                      wrongText(c, inWrong).c_str());
          std::fflush(stdout);
        }
      }
    }
  }
  if (rank == 0) {
    std::printf("# Out of bounds values : %ld %s\n", wrongTotal, wrongTotal == 0 ? "OK" : "FAILED");
    std::printf("# Avg bus bandwidth    : %g \n#\n", rows ? busbwSum / rows : 0.0);
    std::printf("# Collective test concluded: %s\n#\n", test.name);
  }
  if (const char* minBw = std::getenv("STRATA_TESTS_MIN_BW")) {
    double floor = std::atof(minBw) * 0.9;
    if (rows && busbwSum / rows < floor) {
      if (rank == 0) std::fprintf(stderr, "%s: average busbw %.3f below 90%% of STRATA_TESTS_MIN_BW=%s\n", test.name, busbwSum / rows, minBw);
      strataCommDestroy(comm);
      return 1;
    }
  }
  PERF_CHECK(strataCommDestroy(comm));
  return wrongTotal == 0 ? 0 : 1;
}

}  // namespace strata::perf
