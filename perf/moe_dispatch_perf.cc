// moe_dispatch_perf: Strata's MoE dispatch and combine on a DeepEP-like workload (scaled for CPU),
// timed like the nccl-tests tools and printed in their style: one row per workload, time and
// bandwidth of dispatch and combine, #wrong from a check of both, and the bytes each token puts on
// the wire: dispatched rows that leave the rank, and those that leave the host (direct routes, or
// once per remote host with forwarding: run with STRATA_MOE_HIERARCHICAL=0 and =1 to compare).
//   strata-run -n 2 moe_dispatch_perf -t 4096 -H 2048 -E 64 -k 8 -d bfloat16
// algbw = every dispatched row (this rank's tokens x their destination ranks, deduplicated) / time;
// busbw counts only the rows that leave the rank. Both are means over ranks; times are the mean
// of the ranks' per-call times.
#include <getopt.h>
#include <strata/strata.h>
#include <strata/strata_moe.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "src/common/datatype.h"
#include "common/moe_workload.h"
#include "common/perf_values.h"

namespace {

using strata::perf::loadValue;
using strata::perf::MoeWorkload;
using strata::perf::storeValue;

#define MOE_CHECK(call)                                                                                   \
  do {                                                                                                    \
    strataResult_t r_ = (call);                                                                           \
    if (r_ != strataSuccess) {                                                                            \
      std::fprintf(stderr, "%s failed: %s\n", #call, strataGetLastError(nullptr));                      \
      std::exit(1);                                                                                       \
    }                                                                                                     \
  } while (0)

struct Options {
  MoeWorkload work;
  std::string dtype = "bfloat16";
  int iters = 20;
  int warmup = 2;
  int check = 1;
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: moe_dispatch_perf [options]   (one process per rank, e.g. strata-run -n 2 moe_dispatch_perf)\n"
               "  -t, --tokens N     tokens per rank, default 4096\n"
               "  -H, --hidden N     hidden size, default 2048\n"
               "  -E, --experts N    experts in all (a multiple of the rank count), default 64\n"
               "  -k, --topk N       experts per token, default 8\n"
               "  -d, --datatype T   bfloat16, half, float or f8e4m3 (dispatch only; combine in bfloat16), default bfloat16\n"
               "  -R, --routing R    random or skewed (half the tokens pick expert 0 first), default random\n"
               "  -s, --seed N       routing seed, default 1\n"
               "  -n, --iters N      timed iterations, default 20\n"
               "  -w, --warmup_iters N  untimed iterations, default 2\n"
               "  -c, --check N      check dispatch and combine results (0: #wrong is N/A), default 1\n");
}

bool parseOptions(int argc, char** argv, Options* o) {
  static const option longOptions[] = {{"tokens", required_argument, nullptr, 't'},  {"hidden", required_argument, nullptr, 'H'},
                                       {"experts", required_argument, nullptr, 'E'}, {"topk", required_argument, nullptr, 'k'},
                                       {"datatype", required_argument, nullptr, 'd'}, {"routing", required_argument, nullptr, 'R'},
                                       {"seed", required_argument, nullptr, 's'},    {"iters", required_argument, nullptr, 'n'},
                                       {"warmup_iters", required_argument, nullptr, 'w'}, {"check", required_argument, nullptr, 'c'},
                                       {"help", no_argument, nullptr, 'h'},          {nullptr, 0, nullptr, 0}};
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "t:H:E:k:d:R:s:n:w:c:h", longOptions, nullptr)) != -1) {
    char* end = nullptr;
    long v = optarg ? std::strtol(optarg, &end, 10) : 0;
    bool number = optarg && end != optarg && *end == '\0' && v >= 0;
    bool ok = true;
    switch (c) {
      case 't': ok = number; o->work.tokens = static_cast<size_t>(v); break;
      case 'H': ok = number && v > 0; o->work.hidden = static_cast<size_t>(v); break;
      case 'E': ok = number && v > 0; o->work.experts = static_cast<int>(v); break;
      case 'k': ok = number && v > 0 && v <= 64; o->work.topk = static_cast<int>(v); break;
      case 's': ok = number; o->work.seed = static_cast<uint64_t>(v); break;
      case 'n': ok = number && v > 0; o->iters = static_cast<int>(v); break;
      case 'w': ok = number; o->warmup = static_cast<int>(v); break;
      case 'c': ok = number; o->check = static_cast<int>(v); break;
      case 'd': o->dtype = optarg; ok = o->dtype == "bfloat16" || o->dtype == "half" || o->dtype == "float" || o->dtype == "f8e4m3"; break;
      case 'R': o->work.routing = optarg; ok = o->work.routing == "random" || o->work.routing == "skewed"; break;
      case 'h': usage(stdout); std::exit(0);
      default:
        std::fprintf(stderr, "moe_dispatch_perf: unknown option '%s'\n", argv[optind - 1]);
        usage(stderr);
        return false;
    }
    if (!ok) {
      std::fprintf(stderr, "moe_dispatch_perf: bad value '%s' for -%c\n", optarg, c);
      usage(stderr);
      return false;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "moe_dispatch_perf: unexpected argument '%s'\n", argv[optind]);
    return false;
  }
  if (o->work.topk > o->work.experts) {
    std::fprintf(stderr, "moe_dispatch_perf: -k %d is more than -E %d experts\n", o->work.topk, o->work.experts);
    return false;
  }
  return true;
}

strataDataType_t dtypeOf(const std::string& name) {
  if (name == "float") return strataFloat32;
  if (name == "half") return strataFloat16;
  if (name == "f8e4m3") return strataFloat8e4m3;
  return strataBfloat16;
}

// Small integers, exact in every format and in sums of up to 64 of them.
float xValue(int rank, size_t t, size_t c) { return static_cast<float>(static_cast<int>((rank * 3 + t * 5 + c) % 7) - 3); }

double meanOverRanks(strataComm_t comm, double value, int nranks) {
  double sum = 0;
  MOE_CHECK(strataAllReduce(&value, &sum, 1, strataFloat64, strataSum, comm, nullptr));
  return sum / nranks;
}

double timeCalls(strataComm_t comm, int iters, const std::function<void()>& call) {
  MOE_CHECK(strataBarrier(comm, nullptr));
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) call();
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / iters;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parseOptions(argc, argv, &o)) return 2;
  strataComm_t comm;
  MOE_CHECK(strataCommInitFromEnv(&comm));
  int rank = 0, nranks = 1;
  MOE_CHECK(strataCommUserRank(comm, &rank));
  MOE_CHECK(strataCommCount(comm, &nranks));
  const MoeWorkload& w = o.work;
  const strataDataType_t dtype = dtypeOf(o.dtype);
  const strataDataType_t combineType = dtype == strataFloat8e4m3 ? strataBfloat16 : dtype;
  const size_t H = w.hidden, T = w.tokens, k = static_cast<size_t>(w.topk);
  std::vector<int64_t> idx = strata::perf::moeRouting(w, rank);

  // Rows per destination rank (deduplicated), for the bytes on the wire.
  std::vector<size_t> perRank(static_cast<size_t>(nranks));
  int hosts = 1;
  MOE_CHECK(strataMoeLayout(idx.data(), T, w.topk, w.experts, comm, perRank.data(), nullptr, nullptr, nullptr, &hosts));

  auto handleStart = std::chrono::steady_clock::now();
  strataMoeHandle_t h;
  MOE_CHECK(strataMoeHandleCreate(idx.data(), T, w.topk, w.experts, nullptr, comm, &h));
  double handleUs = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - handleStart).count();
  strataMoeHandleInfo info;
  MOE_CHECK(strataMoeHandleGetInfo(h, &info));
  const size_t R = info.numRecvTokens, es = strata::dataTypeSize(dtype), ces = strata::dataTypeSize(combineType);
  const bool fp8 = dtype == strataFloat8e4m3;
  const size_t scales = (H + 127) / 128;

  std::vector<unsigned char> x(T * H * es + 1), recvX(R * H * es + 1), rows(R * H * ces + 1), out(T * H * ces + 1);
  std::vector<float> weights(T * k + 1, 1.0f), recvW(R * k + 1), xScales(fp8 ? T * scales + 1 : 1, 1.0f),
      recvScales(fp8 ? R * scales + 1 : 1);
  std::vector<int32_t> recvIdx(R * k + 1);
  for (size_t t = 0; t < T; ++t)
    for (size_t c = 0; c < H; ++c) storeValue(dtype, x.data(), t * H + c, xValue(rank, t, c));
  auto dispatch = [&] {
    MOE_CHECK(strataMoeDispatch(h, x.data(), fp8 ? xScales.data() : nullptr, H, dtype, weights.data(), recvX.data(),
                                fp8 ? recvScales.data() : nullptr, recvIdx.data(), recvW.data(), nullptr));
  };
  auto combine = [&] { MOE_CHECK(strataMoeCombine(h, rows.data(), H, combineType, nullptr, out.data(), nullptr)); };
  for (int i = 0; i < o.warmup; ++i) dispatch();
  // The "experts" return their rows unchanged (converted to the combine type).
  for (size_t i = 0; i < R * H; ++i) storeValue(combineType, rows.data(), i, loadValue(dtype, recvX.data(), i));
  for (int i = 0; i < o.warmup; ++i) combine();
  double dispatchUs = meanOverRanks(comm, timeCalls(comm, o.iters, dispatch), nranks);
  double combineUs = meanOverRanks(comm, timeCalls(comm, o.iters, combine), nranks);

  // Check: the received rows are the senders' rows; the combined row of a token is its row times
  // the number of ranks it went to.
  long wrong = 0;
  if (o.check) {
    for (size_t i = 0; i < R * H; ++i) storeValue(combineType, rows.data(), i, loadValue(dtype, recvX.data(), i));
    combine();
    std::vector<uint8_t> inRank(T * static_cast<size_t>(nranks) + 1);
    MOE_CHECK(strataMoeLayout(idx.data(), T, w.topk, w.experts, comm, nullptr, nullptr, nullptr, inRank.data(), nullptr));
    for (size_t t = 0; t < T; ++t) {
      float copies = 0;
      for (int r = 0; r < nranks; ++r) copies += inRank[t * static_cast<size_t>(nranks) + static_cast<size_t>(r)];
      for (size_t c = 0; c < H; ++c) wrong += loadValue(combineType, out.data(), t * H + c) != copies * xValue(rank, t, c);
    }
  }
  long wrongTotal = 0;
  MOE_CHECK(strataAllReduce(&wrong, &wrongTotal, 1, strataInt64, strataSum, comm, nullptr));

  const size_t rowBytes = H * es;
  size_t sentRows = 0, offRankRows = 0;
  for (int r = 0; r < nranks; ++r) {
    sentRows += perRank[static_cast<size_t>(r)];
    if (r != rank) offRankRows += perRank[static_cast<size_t>(r)];
  }
  double algbw = meanOverRanks(comm, static_cast<double>(sentRows * rowBytes) / dispatchUs / 1e3, nranks);
  double busbw = meanOverRanks(comm, static_cast<double>(offRankRows * rowBytes) / dispatchUs / 1e3, nranks);
  double cAlgbw = meanOverRanks(comm, static_cast<double>(sentRows * H * ces) / combineUs / 1e3, nranks);
  double cBusbw = meanOverRanks(comm, static_cast<double>(offRankRows * H * ces) / combineUs / 1e3, nranks);
  double bytesPerToken = T ? meanOverRanks(comm, static_cast<double>(offRankRows * rowBytes) / static_cast<double>(T), nranks) : 0;
  double netPerToken = T ? meanOverRanks(comm, static_cast<double>(info.rowsToOtherHosts * rowBytes) / static_cast<double>(T), nranks) : 0;
  double handleMean = meanOverRanks(comm, handleUs, nranks);
  double recvMean = meanOverRanks(comm, static_cast<double>(R), nranks);
  if (rank == 0) {
    std::printf("# moe_dispatch_perf: %d ranks on %d host(s), %zu tokens/rank, hidden %zu, %d experts, top-%d, %s routing, "
                "dispatch %s, combine %s, %s routes, iters %d, warmup %d\n#\n",
                nranks, hosts, T, H, w.experts, w.topk, w.routing.c_str(), o.dtype.c_str(),
                combineType == strataBfloat16 ? "bfloat16" : o.dtype.c_str(), info.hierarchical ? "forwarded" : "direct", o.iters,
                o.warmup);
    std::printf("#%7s %7s %7s %5s %8s %9s %10s %12s %7s %7s %12s %7s %7s %6s %12s %12s\n", "tokens", "hidden", "experts", "topk",
                "type", "recv", "handle", "dispatch", "algbw", "busbw", "combine", "algbw", "busbw", "#wrong", "off-rank", "off-host");
    std::printf("#%7s %7s %7s %5s %8s %9s %10s %12s %7s %7s %12s %7s %7s %6s %12s %12s\n", "", "", "", "", "", "(rows)", "(us)", "(us)",
                "(GB/s)", "(GB/s)", "(us)", "(GB/s)", "(GB/s)", "", "(B/token)", "(B/token)");
    std::printf(" %7zu %7zu %7d %5d %8s %9.0f %10.1f %12.1f %7.2f %7.2f %12.1f %7.2f %7.2f %6s %12.0f %12.0f\n", T, H, w.experts,
                w.topk, o.dtype.c_str(), recvMean, handleMean, dispatchUs, algbw, busbw, combineUs, cAlgbw, cBusbw,
                o.check ? std::to_string(wrongTotal).c_str() : "N/A", bytesPerToken, netPerToken);
    std::printf("# Out of bounds values : %ld %s\n#\n", wrongTotal, wrongTotal == 0 ? "OK" : "FAILED");
  }
  MOE_CHECK(strataMoeHandleDestroy(h));
  MOE_CHECK(strataCommDestroy(comm));
  return wrongTotal == 0 ? 0 : 1;
}
