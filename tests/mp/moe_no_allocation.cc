// A steady MoE step allocates nothing: after warm-up calls (which size the handle's staging and
// plans), dispatch, both combines and both backward passes run without one heap allocation in
// the library. (What the calls compute is moe_exchange's to check.) This binary replaces the global operator new with a counting one (the library's
// allocations resolve to it), so any allocation on the hot path fails the test.
// Run one process per rank: strata-run -n N moe_no_allocation. MOE_NO_ALLOCATION_STALL_MS=M makes
// the last rank pause M ms before each steady step, so the others' waits run into the stall
// checks (every 20 ms), which must not allocate either.
#include <strata/strata.h>
#include <strata/strata_moe.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <thread>
#include <vector>

namespace {
std::atomic<long> gAllocations{0};
}  // namespace

// Every replaceable form that allocates counts (new[] and the sized deletes forward to these).
void* operator new(size_t bytes) {
  gAllocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(bytes == 0 ? 1 : bytes)) return p;
  throw std::bad_alloc();
}
void* operator new(size_t bytes, const std::nothrow_t&) noexcept {
  gAllocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(bytes == 0 ? 1 : bytes);
}
void* operator new(size_t bytes, std::align_val_t alignment) {
  gAllocations.fetch_add(1, std::memory_order_relaxed);
  const auto align = static_cast<size_t>(alignment);
  if (void* p = std::aligned_alloc(align, (bytes + align - 1) / align * align)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

strataComm_t gComm = nullptr;
int gRank = 0;

#define OK(call)                                                                                     \
  do {                                                                                               \
    strataResult_t r_ = (call);                                                                      \
    if (r_ != strataSuccess) {                                                                       \
      std::fprintf(stderr, "[rank %d] %s failed: %s\n", gRank, #call, strataGetLastError(gComm));  \
      std::exit(1);                                                                                  \
    }                                                                                                \
  } while (0)

}  // namespace

int main() {
  OK(strataCommInitFromEnv(&gComm));
  int ranks = 1;
  OK(strataCommUserRank(gComm, &gRank));
  OK(strataCommCount(gComm, &ranks));
  const size_t tokens = 96, hidden = 160;
  const int topK = 2, experts = 4 * ranks;
  std::vector<int64_t> topk(tokens * topK);
  uint64_t seed = 12345 + static_cast<uint64_t>(gRank);
  for (size_t t = 0; t < tokens; ++t) {
    for (int j = 0; j < topK; ++j) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      // Two distinct experts per token; -1 now and then.
      int64_t e = static_cast<int64_t>((seed >> 33) % static_cast<uint64_t>(experts));
      if (j == 1 && e == topk[t * topK]) e = (e + 1) % experts;
      topk[t * topK + j] = (seed >> 20) % 17 == 0 ? -1 : e;
    }
  }
  strataMoeHandle_t handle = nullptr;
  OK(strataMoeHandleCreate(topk.data(), tokens, topK, experts, nullptr, gComm, &handle));
  strataMoeHandleInfo info;
  OK(strataMoeHandleGetInfo(handle, &info));
  const size_t recv = info.numRecvTokens;
  // bfloat16 rows (2 bytes per element), weights in float32.
  std::vector<uint16_t> x(tokens * hidden, 0x3f80), recvX(recv * hidden), out(tokens * hidden);
  std::vector<uint16_t> slots(recv * topK * hidden, 0x3f80), gradSlots(recv * topK * hidden);
  std::vector<float> weights(tokens * topK, 0.5f), recvWeights(recv * topK), gradWeights(tokens * topK);
  std::vector<float> gradRecvWeights(recv * topK);
  std::vector<int32_t> recvIdx(recv * topK);
  auto step = [&] {
    OK(strataMoeDispatch(handle, x.data(), nullptr, hidden, strataBfloat16, weights.data(), recvX.data(), nullptr,
                         recvIdx.data(), recvWeights.data(), nullptr));
    OK(strataMoeCombine(handle, recvX.data(), hidden, strataBfloat16, nullptr, out.data(), nullptr));
    OK(strataMoeCombine(handle, slots.data(), hidden, strataBfloat16, recvWeights.data(), out.data(), nullptr));
    OK(strataMoeDispatchBackward(handle, recvX.data(), hidden, strataBfloat16, recvWeights.data(), out.data(),
                                 gradWeights.data(), nullptr));
    OK(strataMoeCombineBackward(handle, out.data(), hidden, strataBfloat16, nullptr, nullptr, recvX.data(), nullptr,
                                nullptr));
    OK(strataMoeCombineBackward(handle, out.data(), hidden, strataBfloat16, recvWeights.data(), slots.data(),
                                gradSlots.data(), gradRecvWeights.data(), nullptr));
  };
  for (int i = 0; i < 2; ++i) step();  // sizes the staging, makes the plans
  const char* stallText = std::getenv("MOE_NO_ALLOCATION_STALL_MS");
  const int stallMs = stallText != nullptr && gRank == ranks - 1 ? std::atoi(stallText) : 0;
  const long before = gAllocations.load();
  const int steps = 5;
  for (int i = 0; i < steps; ++i) {
    if (stallMs > 0) std::this_thread::sleep_for(std::chrono::milliseconds(stallMs));
    step();
  }
  const long allocations = gAllocations.load() - before;
  OK(strataMoeHandleDestroy(handle));
  int failed = allocations != 0 ? 1 : 0, anyFailed = 0;
  OK(strataAllReduce(&failed, &anyFailed, 1, strataInt32, strataMax, gComm, nullptr));
  if (allocations != 0) {
    std::fprintf(stderr, "[rank %d] %ld heap allocations in %d steady MoE steps (6 calls each)\n", gRank, allocations, steps);
  }
  OK(strataCommDestroy(gComm));
  if (gRank == 0 && anyFailed == 0) {
    std::printf("moe_no_allocation: %d ranks, %s dispatch, %d steady steps: no heap allocation\n", ranks,
                info.hierarchical ? "forwarded" : "direct", steps);
  }
  return anyFailed;
}
