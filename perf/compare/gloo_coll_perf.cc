// Gloo's collectives over TCP (float, sum, root 0) timed like Strata's *_perf tools, printing the
// same first nine columns, so perf/compare/run can put Gloo next to Strata. Sizes, counts and busbw
// factors follow nccl-tests. Launch with strata-run (it provides STRATA_RANK/STRATA_NRANKS); ranks
// meet through a Gloo FileStore directory.
//   strata-run -n 2 gloo_coll_perf STORE_DIR -c all_reduce -b 8 -e 256M -f 4 -n 20 -w 3
// Collectives: all_reduce (AllreduceRingChunked), all_gather, broadcast, alltoall.
#include <gloo/allgather_ring.h>
#include <gloo/allreduce_ring_chunked.h>
#include <gloo/alltoall.h>
#include <gloo/barrier_all_to_all.h>
#include <gloo/broadcast_one_to_all.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/transport/tcp/device.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

size_t parseSize(const char* text) {
  char* end = nullptr;
  double v = std::strtod(text, &end);
  if (*end == 'K' || *end == 'k') v *= 1024.0;
  if (*end == 'M' || *end == 'm') v *= 1024.0 * 1024.0;
  if (*end == 'G' || *end == 'g') v *= 1024.0 * 1024.0 * 1024.0;
  return static_cast<size_t>(v);
}

using Context = std::shared_ptr<gloo::rendezvous::Context>;

// Returns a callable that runs the collective once on `count` floats per block.
std::function<void()> prepare(const std::string& name, const Context& context, float* send, float* recv, size_t count) {
  int n = context->size;
  if (name == "all_reduce") {
    auto op = std::make_shared<gloo::AllreduceRingChunked<float>>(context, std::vector<float*>{recv}, static_cast<int>(count));
    return [op]() { op->run(); };
  }
  if (name == "all_gather") {
    auto op = std::make_shared<gloo::AllgatherRing<float>>(context, std::vector<const float*>{send}, recv, static_cast<int>(count));
    return [op]() { op->run(); };
  }
  if (name == "broadcast") {
    auto op = std::make_shared<gloo::BroadcastOneToAll<float>>(context, std::vector<float*>{recv}, count, 0);
    return [op]() { op->run(); };
  }
  auto opts = std::make_shared<gloo::AlltoallOptions>(context);
  opts->setInput(send, count * static_cast<size_t>(n));
  opts->setOutput(recv, count * static_cast<size_t>(n));
  return [opts]() { gloo::alltoall(*opts); };
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::getenv("STRATA_RANK") || !std::getenv("STRATA_NRANKS")) {
    std::fprintf(stderr, "usage (under strata-run): gloo_coll_perf STORE_DIR [-c COLL] [-b N] [-e N] [-f F] [-n I] [-w W]\n");
    return 2;
  }
  int rank = std::atoi(std::getenv("STRATA_RANK"));
  int n = std::atoi(std::getenv("STRATA_NRANKS"));
  size_t minBytes = 32u << 20, maxBytes = 32u << 20;
  int factor = 2, iters = 20, warmup = 1;
  std::string name = "all_reduce";
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "-b")) minBytes = parseSize(argv[i + 1]);
    else if (!std::strcmp(argv[i], "-e")) maxBytes = parseSize(argv[i + 1]);
    else if (!std::strcmp(argv[i], "-f")) factor = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "-n")) iters = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "-w")) warmup = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "-c")) name = argv[i + 1];
    else {
      std::fprintf(stderr, "gloo_coll_perf: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  bool perRank = name == "all_gather" || name == "alltoall";
  if (!perRank && name != "all_reduce" && name != "broadcast") {
    std::fprintf(stderr, "gloo_coll_perf: no Gloo comparison for %s (all_reduce, all_gather, broadcast, alltoall)\n", name.c_str());
    return 2;
  }
  if (factor < 2) factor = 2;
  if (iters < 1) iters = 1;
  if (warmup < 1) warmup = 1;
  gloo::transport::tcp::attr attr("127.0.0.1");
  auto device = gloo::transport::tcp::CreateDevice(attr);
  gloo::rendezvous::FileStore store(argv[1]);
  auto context = std::make_shared<gloo::rendezvous::Context>(rank, n);
  context->connectFullMesh(store, device);

  size_t elements = maxBytes / sizeof(float) + static_cast<size_t>(n);
  std::vector<float> send(elements, static_cast<float>(rank + 1)), recv(elements, static_cast<float>(rank + 1));
  double busFactor = name == "all_reduce" ? 2.0 * (n - 1) / n : perRank ? static_cast<double>(n - 1) / n : 1.0;
  if (rank == 0) {
    std::printf("# Gloo %s (tcp loopback), %d ranks, float sum, root 0\n", name.c_str(), n);
    std::printf("#%11s %13s %8s %7s %7s %8s %7s %7s %6s\n", "size", "count", "type", "redop", "root", "time", "algbw",
                "busbw", "#wrong");
  }
  gloo::BarrierAllToAll barrier(context);
  std::vector<float> meanWarmup(1);
  gloo::AllreduceRingChunked<float> agreeOnWarmup(context, {meanWarmup.data()}, 1);
  for (size_t bytes = minBytes; bytes <= maxBytes; bytes *= static_cast<size_t>(factor)) {
    size_t count = perRank ? bytes / sizeof(float) / static_cast<size_t>(n) : bytes / sizeof(float);
    size_t algBytes = count * sizeof(float) * (perRank ? static_cast<size_t>(n) : 1);
    std::function<void()> once = prepare(name, context, send.data(), recv.data(), count);
    auto warmStart = std::chrono::steady_clock::now();
    for (int w = 0; w < warmup; ++w) once();
    // Some Gloo paths are very slow here (alltoall takes seconds per call at 32 MiB): time at most
    // ~2 s per size. Ranks agree on the count through the mean of their warmup times.
    meanWarmup[0] = static_cast<float>(std::chrono::duration<double>(std::chrono::steady_clock::now() - warmStart).count() /
                                       std::max(warmup, 1) / n);
    agreeOnWarmup.run();
    int timed = static_cast<int>(std::clamp(2.0 / std::max<double>(meanWarmup[0], 1e-9), 1.0, static_cast<double>(iters)));
    barrier.run();
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < timed; ++i) once();
    double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / timed;
    double algbw = static_cast<double>(algBytes) / us / 1e3;
    if (rank == 0) {
      std::printf("%12zu %13zu %8s %7s %7d %8.2f %7.2f %7.2f %6s\n", algBytes, count, "float", "sum",
                  name == "broadcast" ? 0 : -1, us, algbw, algbw * busFactor, "N/A");
      std::fflush(stdout);
    }
    if (bytes == 0) break;
  }
  return 0;
}
