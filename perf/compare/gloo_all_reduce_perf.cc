// Gloo's ring-chunked allreduce (float sum, TCP) timed like all_reduce_perf, printing the same
// columns, so perf/compare/compare.sh can put Gloo next to Strata. Launch with strata-run, which
// provides STRATA_RANK/STRATA_NRANKS; ranks meet through a Gloo FileStore directory.
//   strata-run -n 2 gloo_all_reduce_perf STORE_DIR -b 8 -e 256M -f 4 -n 20 -w 3
#include <gloo/allreduce_ring_chunked.h>
#include <gloo/barrier_all_to_all.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/transport/tcp/device.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::getenv("STRATA_RANK") || !std::getenv("STRATA_NRANKS")) {
    std::fprintf(stderr, "usage (under strata-run): gloo_all_reduce_perf STORE_DIR [-b N] [-e N] [-f F] [-n I] [-w W]\n");
    return 2;
  }
  int rank = std::atoi(std::getenv("STRATA_RANK"));
  int size = std::atoi(std::getenv("STRATA_NRANKS"));
  size_t minBytes = 32u << 20, maxBytes = 32u << 20;
  int factor = 2, iters = 20, warmup = 1;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "-b")) minBytes = parseSize(argv[i + 1]);
    else if (!std::strcmp(argv[i], "-e")) maxBytes = parseSize(argv[i + 1]);
    else if (!std::strcmp(argv[i], "-f")) factor = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "-n")) iters = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "-w")) warmup = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "gloo_all_reduce_perf: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (factor < 2) factor = 2;
  gloo::transport::tcp::attr attr("127.0.0.1");
  auto device = gloo::transport::tcp::CreateDevice(attr);
  gloo::rendezvous::FileStore store(argv[1]);
  auto context = std::make_shared<gloo::rendezvous::Context>(rank, size);
  context->connectFullMesh(store, device);

  std::vector<float> data(maxBytes / sizeof(float) + 1, static_cast<float>(rank + 1));
  if (rank == 0) {
    std::printf("# Gloo AllreduceRingChunked<float> (tcp loopback), %d ranks, float sum\n", size);
    std::printf("#%11s %13s %8s %7s %7s %8s %7s %7s %6s\n", "size", "count", "type", "redop", "root", "time", "algbw",
                "busbw", "#wrong");
  }
  for (size_t bytes = minBytes; bytes <= maxBytes; bytes *= static_cast<size_t>(factor)) {
    int count = static_cast<int>(bytes / sizeof(float));
    gloo::AllreduceRingChunked<float> allreduce(context, {data.data()}, count);
    gloo::BarrierAllToAll barrier(context);
    for (int w = 0; w < warmup; ++w) allreduce.run();
    barrier.run();
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) allreduce.run();
    double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / iters;
    double algbw = static_cast<double>(count) * sizeof(float) / us / 1e3;
    if (rank == 0) {
      std::printf("%12zu %13d %8s %7s %7d %8.2f %7.2f %7.2f %6s\n", static_cast<size_t>(count) * sizeof(float), count, "float",
                  "sum", -1, us, algbw, algbw * 2.0 * (size - 1) / size, "N/A");
      std::fflush(stdout);
    }
    if (bytes == 0) break;
  }
  return 0;
}
