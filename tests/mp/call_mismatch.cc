// Mismatched calls must never succeed with wrong data. Each scenario makes one rank (or half of
// them) issue a call that disagrees with the others' — count, datatype, op, root, collective, a
// skipped call, send/recv sizes — on a fresh communicator split off a healthy parent, and checks:
//   * every rank ends that call with an error, well before the timeout (no hang);
//   * some rank returns strataInvalidUsage whose message names both calls;
//   * nothing is written outside the caller's buffers (guard bytes before and after);
//   * the next, correctly matched call on that communicator does not succeed with wrong data.
// MoE dispatch with rows of different sizes, or with different routes, is among them.
//   strata-run -n N call_mismatch          (N >= 2; run over shm and tcp)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "strata/strata.h"
#include "strata/strata_moe.h"

namespace {

int gRank = 0, gRanks = 1;
strataComm_t gWorld = nullptr;
int gFailures = 0;
constexpr int kTimeoutMs = 30000;      // a scenario that needed the timeout to end has failed
constexpr double kMaxSeconds = 10.0;
constexpr size_t kGuard = 64;          // bytes checked before and after every output buffer
constexpr unsigned char kGuardByte = 0xA5;

// An output buffer with guard zones on both sides.
class Guarded {
 public:
  explicit Guarded(size_t bytes) : storage_(bytes + 2 * kGuard, kGuardByte) {}
  void* data() { return storage_.data() + kGuard; }
  bool guardsIntact() const {
    for (size_t i = 0; i < kGuard; ++i) {
      if (storage_[i] != kGuardByte || storage_[storage_.size() - 1 - i] != kGuardByte) return false;
    }
    return true;
  }

 private:
  std::vector<unsigned char> storage_;
};

struct Outcome {
  strataResult_t result = strataSuccess;
  std::string message;
  bool guardsIntact = true;
};

using Body = std::function<Outcome(strataComm_t comm)>;

void fail(const char* scenario, const std::string& why) {
  std::fprintf(stderr, "rank %d: scenario '%s': %s\n", gRank, scenario, why.c_str());
  ++gFailures;
}

// Runs `body` on a fresh communicator, then judges the outcome on every rank. `words`: text the
// strataInvalidUsage message of some rank must hold (both calls named).
void scenario(const char* name, const Body& body, const std::vector<std::string>& words) {
  strataConfig_t config = STRATA_CONFIG_INITIALIZER;
  config.timeoutMs = kTimeoutMs;
  strataComm_t comm = nullptr;
  if (strataCommSplit(gWorld, 0, gRank, &comm, &config) != strataSuccess) {
    fail(name, std::string("split failed: ") + strataGetLastError(gWorld));
    return;
  }
  auto start = std::chrono::steady_clock::now();
  Outcome outcome = body(comm);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (outcome.result == strataSuccess) fail(name, "the mismatched call returned success");
  if (seconds > kMaxSeconds) fail(name, "took " + std::to_string(seconds) + " s: ended by the timeout, not by detection");
  if (!outcome.guardsIntact) fail(name, "bytes outside the caller's buffer were written");
  // A later matched call must not succeed with wrong data.
  int one = 1, sum = -1;
  strataResult_t next = strataAllReduce(&one, &sum, 1, strataInt32, strataSum, comm, nullptr);
  if (next == strataSuccess && sum != gRanks) fail(name, "the next call succeeded with a wrong result " + std::to_string(sum));
  strataCommDestroy(comm);

  // Some rank saw the mismatch and named both calls.
  int mine = outcome.result == strataInvalidUsage ? 1 : 0;
  for (const std::string& w : words) mine = mine && outcome.message.find(w) != std::string::npos;
  std::vector<int> all(static_cast<size_t>(gRanks));
  if (strataAllGather(&mine, all.data(), 1, strataInt32, gWorld, nullptr) != strataSuccess) {
    fail(name, std::string("parent allgather failed: ") + strataGetLastError(gWorld));
    return;
  }
  bool named = false;
  for (int v : all) named = named || v == 1;
  if (!named && gRank == 0) fail(name, "no rank returned strataInvalidUsage naming both calls");
  if (gRank == 0 && mine == 0 && outcome.result == strataInvalidUsage) {
    std::fprintf(stderr, "rank 0: scenario '%s' message: %s\n", name, outcome.message.c_str());
  }
  if (gRank == 0) std::printf("scenario '%s': %s\n", name, named ? "detected" : "NOT DETECTED");
}

Outcome finish(strataResult_t r, strataComm_t comm, const std::vector<Guarded*>& buffers) {
  Outcome o{r, strataGetLastError(comm), true};
  for (const Guarded* b : buffers) o.guardsIntact = o.guardsIntact && b->guardsIntact();
  return o;
}

// An allreduce whose count, dtype or op differs on the last rank.
Body allReduce(size_t count, size_t oddCount, strataDataType_t dtype, strataDataType_t oddDtype, strataRedOp_t op,
               strataRedOp_t oddOp) {
  return [=](strataComm_t comm) {
    bool odd = gRank == gRanks - 1;
    size_t n = odd ? oddCount : count;
    strataDataType_t t = odd ? oddDtype : dtype;
    std::vector<float> send(n, 1.0f);
    Guarded recv(n * sizeof(float));
    strataResult_t r = strataAllReduce(send.data(), recv.data(), n, t, odd ? oddOp : op, comm, nullptr);
    return finish(r, comm, {&recv});
  };
}

Outcome broadcastRootMismatch(strataComm_t comm) {
  const size_t n = 1000;
  std::vector<float> data(n, static_cast<float>(gRank));
  Guarded recv(n * sizeof(float));
  int root = gRank == gRanks - 1 ? gRanks - 1 : 0;
  strataResult_t r = strataBroadcast(data.data(), recv.data(), n, strataFloat32, root, comm, nullptr);
  return finish(r, comm, {&recv});
}

Outcome differentCollective(strataComm_t comm) {
  const size_t n = 16;
  std::vector<float> send(n, 1.0f);
  Guarded recv(n * sizeof(float) * static_cast<size_t>(gRanks));
  strataResult_t r = gRank == gRanks - 1
                         ? strataAllGather(send.data(), recv.data(), n, strataFloat32, comm, nullptr)
                         : strataAllReduce(send.data(), recv.data(), n, strataFloat32, strataSum, comm, nullptr);
  return finish(r, comm, {&recv});
}

// The first rank skips a broadcast the others make, then joins their allreduce.
Outcome skippedCall(strataComm_t comm) {
  const size_t n = 256;
  std::vector<float> a(n, 1.0f);
  Guarded b(n * sizeof(float));
  strataResult_t r = strataSuccess;
  if (gRank != 0) r = strataBroadcast(a.data(), b.data(), n, strataFloat32, 1, comm, nullptr);
  if (r == strataSuccess) r = strataAllReduce(a.data(), b.data(), n, strataFloat32, strataSum, comm, nullptr);
  return finish(r, comm, {&b});
}

// Rank 0 sends 100 floats to rank 1, which receives 200; the other ranks send nothing and are
// not part of the call (they succeed: only ranks 0 and 1 are judged, see below).
Outcome sendRecvSizes(strataComm_t comm) {
  Guarded recv(200 * sizeof(float));
  std::vector<float> send(100, 2.0f);
  strataResult_t r = strataSuccess;
  if (gRank == 0) r = strataSend(send.data(), 100, strataFloat32, 1, comm, nullptr);
  if (gRank == 1) r = strataRecv(recv.data(), 200, strataFloat32, 0, comm, nullptr);
  if (gRank > 1) r = strataInvalidUsage;  // not involved: counted as an error so the scenario's rule holds
  return finish(r, comm, {&recv});
}

// All-to-all-v: the last rank expects one element more from rank 0 than rank 0 sends it.
Outcome allToAllvCounts(strataComm_t comm) {
  std::vector<size_t> sendCounts(static_cast<size_t>(gRanks), 3), recvCounts(static_cast<size_t>(gRanks), 3);
  if (gRank == gRanks - 1) recvCounts[0] = 4;
  std::vector<size_t> sd(static_cast<size_t>(gRanks)), rd(static_cast<size_t>(gRanks));
  size_t sendTotal = 0, recvTotal = 0;
  for (int p = 0; p < gRanks; ++p) {
    sd[static_cast<size_t>(p)] = sendTotal;
    rd[static_cast<size_t>(p)] = recvTotal;
    sendTotal += sendCounts[static_cast<size_t>(p)];
    recvTotal += recvCounts[static_cast<size_t>(p)];
  }
  std::vector<float> send(sendTotal, 1.0f);
  Guarded recv(recvTotal * sizeof(float));
  strataResult_t r = strataAllToAllv(send.data(), sendCounts.data(), sd.data(), recv.data(), recvCounts.data(), rd.data(),
                                     strataFloat32, comm, nullptr);
  return finish(r, comm, {&recv});
}

Outcome gatherCounts(strataComm_t comm) {
  size_t n = gRank == gRanks - 1 ? 20 : 10;
  std::vector<float> send(n, 1.0f);
  Guarded recv(n * sizeof(float) * static_cast<size_t>(gRanks));
  strataResult_t r = strataGather(send.data(), recv.data(), n, strataFloat32, 0, comm, nullptr);
  return finish(r, comm, {&recv});
}

// MoE dispatch whose rows differ in size on the last rank (hidden 32 vs 33 floats); every token
// goes to every rank (expert j lives on rank j). On one host the rows travel through the peer-
// memory windows, where a reader would take them at the offsets its own row size gives.
Outcome moeRowSizes(strataComm_t comm) {
  const size_t tokens = 8;
  const auto k = static_cast<size_t>(gRanks);
  std::vector<int64_t> topk(tokens * k);
  for (size_t t = 0; t < tokens; ++t) {
    for (size_t j = 0; j < k; ++j) topk[t * k + j] = static_cast<int64_t>(j);
  }
  strataMoeHandle_t handle = nullptr;
  strataResult_t r = strataMoeHandleCreate(topk.data(), tokens, gRanks, gRanks, nullptr, comm, &handle);
  if (r != strataSuccess) return finish(r, comm, {});
  strataMoeHandleInfo info{};
  strataMoeHandleGetInfo(handle, &info);
  const size_t hidden = gRank == gRanks - 1 ? 33 : 32;
  std::vector<float> x(tokens * hidden, 1.0f);
  Guarded recv(info.numRecvTokens * hidden * sizeof(float));
  r = strataMoeDispatch(handle, x.data(), nullptr, hidden, strataFloat32, nullptr, recv.data(), nullptr, nullptr, nullptr,
                        nullptr);
  Outcome outcome = finish(r, comm, {&recv});
  strataMoeHandleDestroy(handle);
  return outcome;
}

// MoE dispatch with rows of one size but different routes: every rank makes two handles (every
// token to every rank; 8 tokens, then 9), and the last rank dispatches with the second while
// the others use the first.
Outcome moeRoutes(strataComm_t comm) {
  const auto k = static_cast<size_t>(gRanks);
  strataMoeHandle_t handles[2] = {nullptr, nullptr};
  for (size_t which = 0; which < 2; ++which) {
    const size_t tokens = 8 + which;
    std::vector<int64_t> topk(tokens * k);
    for (size_t t = 0; t < tokens; ++t) {
      for (size_t j = 0; j < k; ++j) topk[t * k + j] = static_cast<int64_t>(j);
    }
    strataResult_t r = strataMoeHandleCreate(topk.data(), tokens, gRanks, gRanks, nullptr, comm, &handles[which]);
    if (r != strataSuccess) return finish(r, comm, {});
  }
  strataMoeHandle_t handle = handles[gRank == gRanks - 1 ? 1 : 0];
  strataMoeHandleInfo info{};
  strataMoeHandleGetInfo(handle, &info);
  const size_t hidden = 32;
  std::vector<float> x(info.numTokens * hidden, 1.0f);
  Guarded recv(info.numRecvTokens * hidden * sizeof(float));
  strataResult_t r = strataMoeDispatch(handle, x.data(), nullptr, hidden, strataFloat32, nullptr, recv.data(), nullptr,
                                       nullptr, nullptr, nullptr);
  Outcome outcome = finish(r, comm, {&recv});
  for (strataMoeHandle_t h : handles) strataMoeHandleDestroy(h);
  return outcome;
}

}  // namespace

int main() {
  if (strataCommInitFromEnv(&gWorld) != strataSuccess) {
    std::fprintf(stderr, "init: %s\n", strataGetLastError(nullptr));
    return 1;
  }
  strataCommUserRank(gWorld, &gRank);
  strataCommCount(gWorld, &gRanks);
  if (gRanks < 2) {
    std::fprintf(stderr, "call_mismatch needs at least 2 ranks\n");
    return 1;
  }
  const std::string last = std::to_string(gRanks - 1);
  scenario("allreduce 100 vs 200 floats", allReduce(100, 200, strataFloat32, strataFloat32, strataSum, strataSum),
           {"count 100", "count 200"});
  scenario("allreduce 1 Mi vs 2 Mi floats",
           allReduce(1 << 20, 2 << 20, strataFloat32, strataFloat32, strataSum, strataSum), {"count 1048576", "count 2097152"});
  scenario("allreduce small vs large (one-shot vs two-shot on one host)",
           allReduce(8, 1 << 18, strataFloat32, strataFloat32, strataSum, strataSum), {"count 8", "count 262144"});
  scenario("allreduce float vs int32", allReduce(1000, 1000, strataFloat32, strataInt32, strataSum, strataSum),
           {"float", "int32"});
  scenario("allreduce sum vs max", allReduce(1000, 1000, strataFloat32, strataFloat32, strataSum, strataMax),
           {"sum", "max"});
  scenario("broadcast root mismatch", broadcastRootMismatch,
           {"root 0", "root " + last});
  scenario("allreduce vs allgather", differentCollective, {"strataAllReduce", "strataAllGather"});
  scenario("a rank skips a broadcast", skippedCall, {"strataBroadcast", "strataAllReduce"});
  scenario("alltoallv counts", allToAllvCounts, {"expects 16 bytes", "sends 12 bytes"});
  scenario("gather counts", gatherCounts, {"count 10", "count 20"});
  scenario("send 100 floats, receive 200", sendRecvSizes, {"sends 400 bytes", "expects 800 bytes"});
  scenario("moe dispatch rows of 128 vs 132 bytes", moeRowSizes, {"rows of 128 bytes", "rows of 132 bytes"});
  scenario("moe dispatch with different routes", moeRoutes, {"strataMoeDispatch", "call mismatch"});
  strataCommDestroy(gWorld);
  if (gFailures > 0) {
    std::fprintf(stderr, "rank %d: %d scenario check(s) failed\n", gRank, gFailures);
    return 1;
  }
  std::printf("rank %d: every mismatch was an error on every rank\n", gRank);
  return 0;
}
