// One rank of the end-to-end check: a plain NCCL program (no MPI; every rank reads the same
// NCCL_COMM_ID, so rank 0 runs NCCL's bootstrap root) that all-reduces float sums from 8 bytes to
// 256 MiB on GPU memory, checks every element against the exact sum, and prints nccl-tests-style
// times and bus bandwidth. check-with-nccl.sh runs two of them as two "hosts" on one GPU so that
// NCCL's network transport, the plugin, carries every byte.
//   nccl_allreduce_check RANK NRANKS [MIN_BYTES [MAX_BYTES]]
#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

bool cudaOk(cudaError_t error, const char* what) {
  if (error == cudaSuccess) return true;
  std::fprintf(stderr, "nccl_allreduce_check: %s: %s\n", what, cudaGetErrorString(error));
  return false;
}

bool ncclOk(ncclResult_t result, const char* what) {
  if (result == ncclSuccess) return true;
  std::fprintf(stderr, "nccl_allreduce_check: %s: %s\n", what, ncclGetErrorString(result));
  return false;
}

// Small integers, so every sum is exact in float whatever the order of additions.
float valueOf(int rank, size_t i) { return static_cast<float>((rank + 1) * static_cast<int>(1 + i % 7)); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: nccl_allreduce_check RANK NRANKS [MIN_BYTES [MAX_BYTES]]\n");
    return 2;
  }
  const int rank = std::atoi(argv[1]);
  const int nranks = std::atoi(argv[2]);
  const size_t minBytes = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 8;
  const size_t maxBytes = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : size_t{256} << 20;
  if (!cudaOk(cudaSetDevice(0), "cudaSetDevice")) return 1;
  ncclUniqueId id;
  if (!ncclOk(ncclGetUniqueId(&id), "ncclGetUniqueId (is NCCL_COMM_ID set?)")) return 1;
  ncclComm_t comm;
  if (!ncclOk(ncclCommInitRank(&comm, nranks, id, rank), "ncclCommInitRank")) return 1;
  cudaStream_t stream;
  if (!cudaOk(cudaStreamCreate(&stream), "cudaStreamCreate")) return 1;
  void* send = nullptr;
  void* recv = nullptr;
  if (!cudaOk(cudaMalloc(&send, maxBytes), "cudaMalloc") || !cudaOk(cudaMalloc(&recv, maxBytes), "cudaMalloc")) return 1;
  if (rank == 0) std::printf("%12s %12s %10s %10s %10s  %s\n", "size(B)", "count", "time(us)", "algbw", "busbw", "check");
  int failures = 0;
  for (size_t bytes = minBytes; bytes <= maxBytes; bytes *= 2) {
    const size_t count = bytes / sizeof(float);
    std::vector<float> host(count);
    for (size_t i = 0; i < count; ++i) host[i] = valueOf(rank, i);
    if (!cudaOk(cudaMemcpy(send, host.data(), count * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy")) return 1;
    if (!ncclOk(ncclAllReduce(send, recv, count, ncclFloat, ncclSum, comm, stream), "ncclAllReduce")) return 1;
    if (!cudaOk(cudaStreamSynchronize(stream), "cudaStreamSynchronize")) return 1;
    if (!cudaOk(cudaMemcpy(host.data(), recv, count * sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy")) return 1;
    size_t wrong = 0;
    for (size_t i = 0; i < count; ++i) {
      float expected = 0;
      for (int r = 0; r < nranks; ++r) expected += valueOf(r, i);
      if (host[i] != expected) ++wrong;
    }
    failures += wrong > 0;
    const int iterations = bytes >= (size_t{64} << 20) ? 5 : 20;
    auto start = std::chrono::steady_clock::now();
    for (int it = 0; it < iterations; ++it) ncclAllReduce(send, recv, count, ncclFloat, ncclSum, comm, stream);
    if (!cudaOk(cudaStreamSynchronize(stream), "cudaStreamSynchronize")) return 1;
    double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / iterations;
    double algbw = static_cast<double>(bytes) / us / 1e3;
    double busbw = algbw * 2.0 * (nranks - 1) / nranks;
    if (rank == 0) {
      std::printf("%12zu %12zu %10.1f %10.3f %10.3f  %s\n", bytes, count, us, algbw, busbw,
                  wrong == 0 ? "ok" : "WRONG");
    }
  }
  ncclCommDestroy(comm);
  cudaFree(send);
  cudaFree(recv);
  if (rank == 0) std::printf("%s\n", failures == 0 ? "every size checked: ok" : "some sizes came back wrong");
  return failures == 0 ? 0 : 1;
}
