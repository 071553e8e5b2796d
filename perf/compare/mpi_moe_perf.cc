// The MoE exchange moe_dispatch_perf times, done the naive way with Open MPI: every (token,
// expert) pair's row is packed and sent separately (no deduplication of a token going to two
// experts on one rank) with MPI_Alltoallv, and combine sends every pair's row back to be summed
// at the source. Same workload (perf/common/moe_workload.h), same columns as moe_dispatch_perf.
//   mpirun -np 2 mpi_moe_perf -t 4096 -H 2048 -E 64 -k 8 [-n iters] [-w warmup]
// Rows are 2-byte (bfloat16-sized) payloads; the sum at the source is done in float.
#include <mpi.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "perf/common/moe_workload.h"

namespace {

struct Exchange {
  std::vector<int> sendCounts, sendDispls, recvCounts, recvDispls;  // in bytes
  std::vector<size_t> pairOrder;  // send-buffer order: pair index (token * k + slot), grouped by destination
};

Exchange plan(const std::vector<int64_t>& idx, int experts, int nranks, size_t rowBytes) {
  int local = experts / nranks;
  Exchange e;
  std::vector<std::vector<size_t>> byRank(static_cast<size_t>(nranks));
  for (size_t p = 0; p < idx.size(); ++p) byRank[static_cast<size_t>(idx[p] / local)].push_back(p);
  std::vector<int> pairsTo(static_cast<size_t>(nranks)), pairsFrom(static_cast<size_t>(nranks));
  for (int r = 0; r < nranks; ++r) {
    pairsTo[static_cast<size_t>(r)] = static_cast<int>(byRank[static_cast<size_t>(r)].size());
    for (size_t p : byRank[static_cast<size_t>(r)]) e.pairOrder.push_back(p);
  }
  MPI_Alltoall(pairsTo.data(), 1, MPI_INT, pairsFrom.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int sendAt = 0, recvAt = 0;
  for (int r = 0; r < nranks; ++r) {
    e.sendCounts.push_back(pairsTo[static_cast<size_t>(r)] * static_cast<int>(rowBytes));
    e.sendDispls.push_back(sendAt);
    sendAt += e.sendCounts.back();
    e.recvCounts.push_back(pairsFrom[static_cast<size_t>(r)] * static_cast<int>(rowBytes));
    e.recvDispls.push_back(recvAt);
    recvAt += e.recvCounts.back();
  }
  return e;
}

double meanUs(double start, int iters, int nranks) {
  double us = (MPI_Wtime() - start) * 1e6 / iters, sum = 0;
  MPI_Allreduce(&us, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return sum / nranks;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, nranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  strata::perf::MoeWorkload w;
  int iters = 20, warmup = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    long v = std::atol(argv[i + 1]);
    if (flag == "-t") w.tokens = static_cast<size_t>(v);
    else if (flag == "-H") w.hidden = static_cast<size_t>(v);
    else if (flag == "-E") w.experts = static_cast<int>(v);
    else if (flag == "-k") w.topk = static_cast<int>(v);
    else if (flag == "-s") w.seed = static_cast<uint64_t>(v);
    else if (flag == "-R") w.routing = argv[i + 1];
    else if (flag == "-n") iters = static_cast<int>(v);
    else if (flag == "-w") warmup = static_cast<int>(v);
    else if (flag == "-d") continue;  // rows are 2 bytes (bfloat16-sized) whatever was asked
    else {
      if (rank == 0) std::fprintf(stderr, "mpi_moe_perf: unknown option %s\n", argv[i]);
      MPI_Abort(MPI_COMM_WORLD, 2);
    }
  }
  if (w.experts % nranks != 0 || w.topk > w.experts || iters < 1) {
    if (rank == 0) std::fprintf(stderr, "mpi_moe_perf: experts must divide over ranks and be >= topk\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  const size_t H = w.hidden, T = w.tokens, k = static_cast<size_t>(w.topk), rowBytes = H * 2;
  std::vector<int64_t> idx = strata::perf::moeRouting(w, rank);
  double handleStart = MPI_Wtime();
  Exchange e = plan(idx, w.experts, nranks, rowBytes);
  double handleUs = meanUs(handleStart, 1, nranks);
  size_t sendBytes = e.pairOrder.size() * rowBytes;
  size_t recvBytes = static_cast<size_t>(e.recvDispls.back() + e.recvCounts.back());
  std::vector<uint16_t> x(T * H);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint16_t>(0x3f80 + (i % 7));  // bfloat16 1.0 + small
  std::vector<unsigned char> send(sendBytes + 1), recv(recvBytes + 1), back(sendBytes + 1);
  std::vector<float> out(T * H);

  auto dispatch = [&] {
    unsigned char* at = send.data();
    for (size_t p : e.pairOrder) {  // one row copy per (token, expert) pair
      std::memcpy(at, x.data() + (p / k) * H, rowBytes);
      at += rowBytes;
    }
    MPI_Alltoallv(send.data(), e.sendCounts.data(), e.sendDispls.data(), MPI_BYTE, recv.data(), e.recvCounts.data(),
                  e.recvDispls.data(), MPI_BYTE, MPI_COMM_WORLD);
  };
  auto combine = [&] {
    MPI_Alltoallv(recv.data(), e.recvCounts.data(), e.recvDispls.data(), MPI_BYTE, back.data(), e.sendCounts.data(),
                  e.sendDispls.data(), MPI_BYTE, MPI_COMM_WORLD);
    std::fill(out.begin(), out.end(), 0.0f);
    const unsigned char* at = back.data();
    for (size_t p : e.pairOrder) {  // sum every pair's row into its token
      float* acc = out.data() + (p / k) * H;
      for (size_t c = 0; c < H; ++c) {
        uint16_t bits;
        std::memcpy(&bits, at + 2 * c, 2);
        uint32_t f = static_cast<uint32_t>(bits) << 16;
        float v;
        std::memcpy(&v, &f, 4);
        acc[c] += v;
      }
      at += rowBytes;
    }
  };
  for (int i = 0; i < warmup; ++i) dispatch();
  for (int i = 0; i < warmup; ++i) combine();
  MPI_Barrier(MPI_COMM_WORLD);
  double start = MPI_Wtime();
  for (int i = 0; i < iters; ++i) dispatch();
  double dispatchUs = meanUs(start, iters, nranks);
  MPI_Barrier(MPI_COMM_WORLD);
  start = MPI_Wtime();
  for (int i = 0; i < iters; ++i) combine();
  double combineUs = meanUs(start, iters, nranks);

  size_t offRank = sendBytes - static_cast<size_t>(e.sendCounts[static_cast<size_t>(rank)]);
  double values[6] = {static_cast<double>(sendBytes) / dispatchUs / 1e3, static_cast<double>(offRank) / dispatchUs / 1e3,
                      static_cast<double>(sendBytes) / combineUs / 1e3, static_cast<double>(offRank) / combineUs / 1e3,
                      T ? static_cast<double>(offRank) / static_cast<double>(T) : 0.0,
                      static_cast<double>(recvBytes / rowBytes)};
  double sums[6];
  MPI_Allreduce(values, sums, 6, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    std::printf("# mpi_moe_perf (Open MPI MPI_Alltoallv, one row per token-expert pair): %d ranks, %zu tokens/rank, hidden %zu, "
                "%d experts, top-%d, %s routing, 2-byte rows, iters %d, warmup %d\n#\n",
                nranks, T, H, w.experts, w.topk, w.routing.c_str(), iters, warmup);
    std::printf("#%7s %7s %7s %5s %8s %9s %10s %12s %7s %7s %12s %7s %7s %6s %12s\n", "tokens", "hidden", "experts", "topk",
                "type", "recv", "handle", "dispatch", "algbw", "busbw", "combine", "algbw", "busbw", "#wrong", "wire");
    std::printf(" %7zu %7zu %7d %5d %8s %9.0f %10.1f %12.1f %7.2f %7.2f %12.1f %7.2f %7.2f %6s %12.0f\n", T, H, w.experts, w.topk,
                "bfloat16", sums[5] / nranks, handleUs, dispatchUs, sums[0] / nranks, sums[1] / nranks, combineUs, sums[2] / nranks,
                sums[3] / nranks, "N/A", sums[4] / nranks);
  }
  MPI_Finalize();
  return 0;
}
