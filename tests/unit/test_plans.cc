// Every plan generator, run by 1..8 thread ranks over in-memory connections with the real
// executor, against a reference computed directly from the inputs. Awkward sizes, in and out of
// place, every dtype (sum) and every op (int32).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "src/algorithms/algorithms.h"
#include "src/common/datatype.h"
#include "src/reduce/reduce.h"
#include "reference_values.h"
#include "thread_ranks.h"

namespace {

using strata::CollectiveKind;
using strata::CollectiveShape;

constexpr size_t kTestWindowBytes = 4096;
// Every buffer a rank owns has this many guard bytes before and after it; a plan that writes
// one byte outside a caller's buffer (or into the gaps of an all-to-all-v) is caught.
// Each buffer's guards hold their own pattern (salted by rank and role), so an overrun that
// carries a peer's guard bytes along cannot write back the very values it is checked against.
constexpr size_t kGuard = 64;
constexpr uint8_t kUnwrittenByte = 0xee;  // fills outputs before a call

uint8_t guardByte(uint64_t salt, size_t i) {
  uint64_t x = (salt + 1) * 0x9e3779b97f4a7c15ull ^ i;
  x ^= x >> 29;
  x *= 0xbf58476d1ce4e5b9ull;
  return static_cast<uint8_t>(x >> 56);
}

// `payload` with guard zones around it.
std::vector<uint8_t> guarded(const std::vector<uint8_t>& payload, uint64_t salt) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < kGuard; ++i) out.push_back(guardByte(salt, i));
  out.insert(out.end(), payload.begin(), payload.end());
  for (size_t i = 0; i < kGuard; ++i) out.push_back(guardByte(salt, kGuard + i));
  return out;
}

// What lies between the guard zones.
std::vector<uint8_t> payloadOf(const std::vector<uint8_t>& buffer) {
  return std::vector<uint8_t>(buffer.begin() + kGuard, buffer.end() - kGuard);
}

// `buffer`'s guard zones are still those of `reference` (the same buffer before the call).
bool guardsIntact(const std::vector<uint8_t>& buffer, const std::vector<uint8_t>& reference) {
  return buffer.size() == reference.size() && std::equal(buffer.begin(), buffer.begin() + kGuard, reference.begin()) &&
         std::equal(buffer.end() - kGuard, buffer.end(), reference.end() - kGuard);
}

// The cluster the plans run on: 2 ranks per host when n is even, hosts in 2 racks when there are
// at least 4 of them, ranks numbered round-robin over hosts and hosts round-robin over racks (the
// numbering that hurts a rank-order ring). Plans must be right for the ring and tiers this gives,
// not just for rank order.
strata::Hierarchy testCluster(int n) {
  const int perHost = n % 2 == 0 ? 2 : 1;
  const int hosts = n / perHost;
  const int racks = hosts >= 4 && hosts % 2 == 0 ? 2 : 1;
  std::vector<strata::RankPlacement> places;
  for (int r = 0; r < n; ++r) {
    int host = r % hosts;
    std::string name = "h" + std::to_string(host);
    places.push_back({name, name, {"rack" + std::to_string(host % racks)}, 0});
  }
  return strata::Hierarchy(places);
}

struct Case {
  const strata::AlgorithmEntry* algorithm;
  int nranks;
  size_t count;
  bool inPlace;
  strataDataType_t dtype;
  strataRedOp_t op;
  int root;
  // Optional: other inputs than the exact small integers (rank r's `count` elements) with the
  // caller judging the results (handed back with their guards) instead of the exact reference,
  // and a delay per rank before it starts (to change the order in which data arrives).
  std::function<std::vector<uint8_t>(strataDataType_t, size_t, int)> makeInput = {};
  std::vector<std::vector<uint8_t>>* results = nullptr;
  std::function<void(int rank)> beforeStart = {};
};

std::string describe(const Case& c) {
  return std::string(c.algorithm->name) + " " + strata::collectiveName(c.algorithm->kind) + " n=" +
         std::to_string(c.nranks) + " count=" + std::to_string(c.count) + (c.inPlace ? " in-place " : " ") +
         strata::dataTypeName(c.dtype) + " " + strata::redOpName(c.op) + " root=" + std::to_string(c.root);
}

bool isReduction(CollectiveKind k) {
  return k == CollectiveKind::AllReduce || k == CollectiveKind::Reduce || k == CollectiveKind::ReduceScatter;
}

// Elements each rank sends and receives for a given case (alltoallv uses its own tables).
struct Sizes {
  size_t send;
  size_t recv;
};

Sizes sizesOf(CollectiveKind kind, size_t count, int n, int rank, int root) {
  size_t nn = static_cast<size_t>(n);
  switch (kind) {
    case CollectiveKind::AllGather: return {count, count * nn};
    case CollectiveKind::ReduceScatter: return {count * nn, count};
    case CollectiveKind::AllToAll: return {count * nn, count * nn};
    case CollectiveKind::Gather: return {count, rank == root ? count * nn : 0};
    case CollectiveKind::Scatter: return {rank == root ? count * nn : 0, count};
    default: return {count, count};
  }
}

size_t alltoallvCount(int from, int to, size_t base) { return (static_cast<size_t>(from) * 3 + static_cast<size_t>(to) * 5 + base) % 11; }

void fillShapeForAlltoallv(CollectiveShape& shape, int rank, int n, size_t base) {
  size_t so = 0, ro = 0;
  for (int p = 0; p < n; ++p) {
    shape.sendCounts.push_back(alltoallvCount(rank, p, base));
    shape.sendDispls.push_back(so);
    so += shape.sendCounts.back() + 1;  // a gap, to prove displacements are honoured
    shape.recvCounts.push_back(alltoallvCount(p, rank, base));
    shape.recvDispls.push_back(ro);
    ro += shape.recvCounts.back() + 2;
  }
}

void runCase(const Case& c) {
  const auto kind = c.algorithm->kind;
  const int n = c.nranks;
  const size_t es = strata::dataTypeSize(c.dtype);
  std::vector<std::vector<uint8_t>> inputs(n), outputs(n);
  std::vector<CollectiveShape> shapes(n);
  for (int r = 0; r < n; ++r) {
    CollectiveShape& shape = shapes[r];
    shape.kind = kind;
    shape.count = c.count;
    shape.elementSize = es;
    shape.root = c.root;
    shape.inPlace = c.inPlace;
    // Small windows, so chunked peer-memory plans cut even modest messages into many chunks.
    shape.windowBytes = kTestWindowBytes;
    if (kind == CollectiveKind::AllToAllv) fillShapeForAlltoallv(shape, r, n, c.count);
  }
  // Inputs: rank r's element i is testValue(r, i); laid out per collective.
  auto inputElements = [&](int r) {
    if (kind == CollectiveKind::AllToAllv) return shapes[r].sendDispls.back() + shapes[r].sendCounts.back() + 1;
    return sizesOf(kind, c.count, n, r, c.root).send;
  };
  auto outputElements = [&](int r) {
    if (kind == CollectiveKind::AllToAllv) return shapes[r].recvDispls.back() + shapes[r].recvCounts.back() + 2;
    return sizesOf(kind, c.count, n, r, c.root).recv;
  };
  for (int r = 0; r < n; ++r) {
    const uint64_t salt = 2 * static_cast<uint64_t>(r);
    inputs[r] = guarded(c.makeInput ? c.makeInput(c.dtype, inputElements(r), r) : reference::makeBuffer(c.dtype, inputElements(r), r), salt);
    outputs[r] = guarded(std::vector<uint8_t>(outputElements(r) * es, kUnwrittenByte), salt + 1);
  }
  const std::vector<std::vector<uint8_t>> pristineInputs = inputs;

  // Reference results, computed straight from the inputs.
  std::vector<std::vector<uint8_t>> expected = outputs;
  auto in = [&](int r, size_t i) { return reference::load(c.dtype, inputs[r].data() + kGuard, i); };
  auto reduceAt = [&](size_t offsetInInput, size_t i) {
    double acc = in(0, offsetInInput + i);
    uint8_t cell[8];
    for (int r = 1; r < n; ++r) {
      acc = reference::combine(c.dtype, c.op, acc, in(r, offsetInInput + i));
      reference::store(c.dtype, cell, 0, acc);  // every partial is rounded to the format
      acc = reference::load(c.dtype, cell, 0);
    }
    if (c.op == strataAvg) {
      bool integer = !(c.dtype == strataFloat32 || c.dtype == strataFloat64 || reference::isNarrowFloat(c.dtype));
      if (integer) acc = std::trunc(acc / n);
      else if (c.dtype == strataFloat64) acc = acc / n;
      else acc = static_cast<double>(static_cast<float>(acc) / static_cast<float>(n));
    }
    return acc;
  };
  for (int r = 0; r < n; ++r) {
    void* out = expected[r].data() + kGuard;
    size_t cnt = c.count;
    switch (kind) {
      case CollectiveKind::AllReduce:
        // Every rank expects the same sums: computed once (rank 0's), copied to the others.
        if (r == 0) {
          for (size_t i = 0; i < cnt; ++i) reference::store(c.dtype, out, i, reduceAt(0, i));
        } else {
          std::memcpy(out, expected[0].data() + kGuard, cnt * es);
        }
        break;
      case CollectiveKind::Reduce:
        if (r == c.root) for (size_t i = 0; i < cnt; ++i) reference::store(c.dtype, out, i, reduceAt(0, i));
        break;
      case CollectiveKind::ReduceScatter:
        for (size_t i = 0; i < cnt; ++i) reference::store(c.dtype, out, i, reduceAt(static_cast<size_t>(r) * cnt, i));
        break;
      case CollectiveKind::Broadcast:
        for (size_t i = 0; i < cnt; ++i) reference::store(c.dtype, out, i, in(c.root, i));
        break;
      case CollectiveKind::AllGather:
        for (int p = 0; p < n; ++p) for (size_t i = 0; i < cnt; ++i) reference::store(c.dtype, out, p * cnt + i, in(p, i));
        break;
      case CollectiveKind::Gather:
        if (r == c.root) for (int p = 0; p < n; ++p) for (size_t i = 0; i < cnt; ++i) reference::store(c.dtype, out, p * cnt + i, in(p, i));
        break;
      case CollectiveKind::Scatter:
        for (size_t i = 0; i < cnt; ++i) reference::store(c.dtype, out, i, in(c.root, r * cnt + i));
        break;
      case CollectiveKind::AllToAll:
        for (int p = 0; p < n; ++p) for (size_t i = 0; i < cnt; ++i) reference::store(c.dtype, out, p * cnt + i, in(p, r * cnt + i));
        break;
      case CollectiveKind::AllToAllv:
        for (int p = 0; p < n; ++p) {
          for (size_t i = 0; i < shapes[r].recvCounts[p]; ++i) {
            reference::store(c.dtype, out, shapes[r].recvDispls[p] + i, in(p, shapes[p].sendDispls[r] + i));
          }
        }
        break;
      case CollectiveKind::Barrier: break;
    }
  }

  // In place: build the aliased layout NCCL defines, inside one buffer per rank (guards around it).
  std::vector<std::vector<uint8_t>> shared(n);
  std::vector<uint8_t*> sendPtr(n), recvPtr(n);
  for (int r = 0; r < n; ++r) {
    sendPtr[r] = inputs[r].data() + kGuard;
    recvPtr[r] = outputs[r].data() + kGuard;
    if (!c.inPlace) continue;
    size_t cnt = c.count;
    switch (kind) {
      case CollectiveKind::AllReduce: case CollectiveKind::Broadcast: case CollectiveKind::Reduce: case CollectiveKind::AllToAll:
        shared[r] = inputs[r];
        sendPtr[r] = recvPtr[r] = shared[r].data() + kGuard;
        break;
      case CollectiveKind::AllGather:
        shared[r] = outputs[r];
        std::memcpy(shared[r].data() + kGuard + r * cnt * es, inputs[r].data() + kGuard, cnt * es);
        recvPtr[r] = shared[r].data() + kGuard;
        sendPtr[r] = recvPtr[r] + r * cnt * es;
        break;
      case CollectiveKind::ReduceScatter:
        shared[r] = inputs[r];
        sendPtr[r] = shared[r].data() + kGuard;
        recvPtr[r] = sendPtr[r] + r * cnt * es;
        break;
      case CollectiveKind::Gather:
        if (r == c.root) {
          shared[r] = outputs[r];
          std::memcpy(shared[r].data() + kGuard + r * cnt * es, inputs[r].data() + kGuard, cnt * es);
          recvPtr[r] = shared[r].data() + kGuard;
          sendPtr[r] = recvPtr[r] + r * cnt * es;
        }
        break;
      case CollectiveKind::Scatter:
        if (r == c.root) {
          shared[r] = inputs[r];
          sendPtr[r] = shared[r].data() + kGuard;
          recvPtr[r] = sendPtr[r] + r * cnt * es;
        }
        break;
      default: break;
    }
  }
  const std::vector<std::vector<uint8_t>> sharedBefore = shared;

  // Peer-memory windows large enough for any input of this case (one-shot plans use them).
  size_t largestInput = kTestWindowBytes;
  for (int r = 0; r < n; ++r) largestInput = std::max(largestInput, inputs[r].size());
  // Doorbells as shm ranks have, so waits spin, yield and sleep as in a job (8 thread ranks on
  // this machine's 2 cores sleep often).
  auto doorbells = strata::makeMemoryDoorbells(n);
  std::vector<strata::DoorbellWord*> bells;
  for (auto& bell : *doorbells) bells.push_back(&bell);
  auto windows = strata::makeMemoryWindows(n, (largestInput + 63) / 64 * 64, bells);
  std::vector<uint64_t> windowSequences(n, 0);
  std::mutex failureMutex;
  std::string failure;
  const strata::Hierarchy cluster = testCluster(n);
  testing_support::runThreadRanks(n, [&](int r, std::vector<strata::Connection*>& connections) {
    strata::PlanTopology topology = strata::PlanTopology::withRing(r, cluster.ring());
    topology.hierarchy = &cluster;
    strata::Plan plan = c.algorithm->generate(shapes[r], topology);
    std::vector<std::byte> scratch(plan.scratchBytes + 16);
    std::vector<std::byte> staging;
    std::atomic<bool> abortFlag{false};
    strata::ExecutionContext context;
    context.rank = r;
    context.connections = connections;
    context.buffers = {reinterpret_cast<std::byte*>(sendPtr[r]), reinterpret_cast<std::byte*>(recvPtr[r]), scratch.data()};
    context.dtype = c.dtype;
    context.op = c.op;
    context.timeoutMs = 20000;
    context.abortFlag = &abortFlag;
    context.staging = &staging;
    context.windows = windows[r].get();
    context.windowSequence = &windowSequences[r];
    context.doorbell = bells[static_cast<size_t>(r)];
    strata::WaitPolicy waitPolicy;
    context.waitPolicy = &waitPolicy;
    if (c.beforeStart) c.beforeStart(r);
    strata::Status st = strata::executePlan(plan, context);
    if (st.isOk() && c.op == strataAvg && isReduction(kind)) {
      bool hasResult = kind != CollectiveKind::Reduce || r == c.root;
      if (hasResult) strata::divideByCount(recvPtr[r], c.count, c.dtype, n);
    }
    if (!st.isOk()) {
      std::lock_guard<std::mutex> lock(failureMutex);
      failure = st.message();
    }
  }, 64 * 1024, bells);
  ASSERT_EQ(failure, "") << describe(c);
  for (int r = 0; r < n; ++r) {
    const size_t resultBytes = outputElements(r) * es;
    const bool hasResult = !((kind == CollectiveKind::Reduce || kind == CollectiveKind::Gather) && r != c.root);
    if (!shared[r].empty()) {
      ASSERT_TRUE(guardsIntact(shared[r], sharedBefore[r])) << describe(c) << " rank " << r << ": a byte around the in-place buffer was written";
      if (!hasResult || c.results) continue;
      std::vector<uint8_t> got(recvPtr[r], recvPtr[r] + resultBytes);
      std::vector<uint8_t> want(expected[r].begin() + kGuard, expected[r].begin() + static_cast<long>(kGuard + resultBytes));
      ASSERT_EQ(got, want) << describe(c) << " rank " << r << " (in place)";
      continue;
    }
    // Out of place: the whole output with its guards (and the gaps of an all-to-all-v, and the
    // untouched output of a non-root) as expected, and the input not written at all.
    if (hasResult) {
      if (c.results) {
        ASSERT_TRUE(guardsIntact(outputs[r], expected[r])) << describe(c) << " rank " << r << ": a byte around the output was written";
      } else {
        ASSERT_EQ(outputs[r], expected[r]) << describe(c) << " rank " << r;
      }
    } else {
      ASSERT_EQ(outputs[r], expected[r]) << describe(c) << " rank " << r
                                                                                 << ": a non-root's receive buffer was written";
    }
    ASSERT_EQ(inputs[r], pristineInputs[r]) << describe(c) << " rank " << r << ": the send buffer was written";
  }
  if (c.results) *c.results = c.inPlace ? shared : outputs;
}

std::vector<size_t> sizesFor(int nranks) {
  std::vector<size_t> sizes = {0, 1, 7, 1023, 65537};
  // Past one slice of the sliced algorithms (kCacheSliceBytes per rank; the 3 bytes make the
  // last slice ragged).
  if (nranks == 2) sizes.push_back(2 * 1024 * 1024 + 3);
  if (nranks == 3 || nranks == 8) sizes.push_back(4 * 1024 * 1024 + 3);
  return sizes;
}

bool supportsInPlace(CollectiveKind k) { return k != CollectiveKind::AllToAllv && k != CollectiveKind::Barrier; }

class PlanTest : public ::testing::TestWithParam<int> {};

TEST_P(PlanTest, EveryAlgorithmMovesTheRightBytes) {
  const int n = GetParam();
  for (const strata::AlgorithmEntry& algorithm : strata::algorithmRegistry()) {
    if (algorithm.kind == CollectiveKind::Barrier) continue;
    for (size_t count : sizesFor(n)) {
      if (count > 65537 && algorithm.kind == CollectiveKind::AllToAllv) continue;
      for (bool inPlace : {false, true}) {
        if (inPlace && !supportsInPlace(algorithm.kind)) continue;
        int root = n > 2 ? n - 2 : 0;  // not rank 0, to catch root arithmetic
        strataDataType_t dtype = count > 65537 ? strataInt8 : strataInt32;
        runCase({&algorithm, n, count, inPlace, dtype, strataSum, root});
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST_P(PlanTest, ReductionsForEveryTypeAndOp) {
  const int n = GetParam();
  for (const strata::AlgorithmEntry& algorithm : strata::algorithmRegistry()) {
    if (!isReduction(algorithm.kind)) continue;
    for (strataDataType_t dtype : reference::allTypes()) {
      for (strataRedOp_t op : reference::allOps()) {
        // Products of many ranks overflow the 8-bit float formats; the kernels test those.
        if (op == strataProd && reference::isNarrowFloat(dtype) && n > 3) continue;
        runCase({&algorithm, n, 1023, (static_cast<int>(dtype) + static_cast<int>(op)) % 2 == 0, dtype, op, n - 1});
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST_P(PlanTest, BarrierCompletes) {
  const int n = GetParam();
  for (const strata::AlgorithmEntry& algorithm : strata::algorithmRegistry()) {
    if (algorithm.kind == CollectiveKind::Barrier) runCase({&algorithm, n, 0, false, strataUint8, strataSum, 0});
  }
}

// Values whose sum depends on the order of the additions (1e8 + 1 - 1e8 is 0 or 1 in float):
// every reduction plan must give bit-identical results run after run, whatever order the data
// arrives in (ranks start at random moments), and every rank of an allreduce the same result.
std::vector<uint8_t> orderSensitive(strataDataType_t t, size_t count, int rank) {
  const double values[] = {1e8, 1.0, -1e8, 3.0, 0.5, -2.5e7};
  std::vector<uint8_t> buffer(count * reference::sizeOf(t));
  for (size_t i = 0; i < count; ++i) reference::store(t, buffer.data(), i, values[(i + static_cast<size_t>(rank) * 5) % 6]);
  return buffer;
}

TEST_P(PlanTest, ReductionsAreDeterministic) {
  const int n = GetParam();
  if (n < 3) return;  // two ranks have one order only
  for (const strata::AlgorithmEntry& algorithm : strata::algorithmRegistry()) {
    if (!isReduction(algorithm.kind)) continue;
    std::vector<std::vector<uint8_t>> first;
    for (int run = 0; run < 4; ++run) {
      std::mt19937 rng(static_cast<unsigned>(run * 7919 + n));
      std::vector<int> delayUs(static_cast<size_t>(n));
      for (int& d : delayUs) d = static_cast<int>(rng() % 3000);
      std::vector<std::vector<uint8_t>> results;
      Case c{&algorithm, n, 4099, false, strataFloat32, strataSum, n - 1, orderSensitive, &results,
             [&](int rank) { std::this_thread::sleep_for(std::chrono::microseconds(delayUs[static_cast<size_t>(rank)])); }};
      runCase(c);
      if (HasFatalFailure()) return;
      if (run == 0) {
        first = results;
        if (algorithm.kind == CollectiveKind::AllReduce) {
          for (int r = 1; r < n; ++r) {
            ASSERT_EQ(payloadOf(results[r]), payloadOf(results[0])) << algorithm.name << ": rank " << r << " differs from rank 0";
          }
        }
        continue;
      }
      for (int r = 0; r < n; ++r) {
        ASSERT_EQ(results[r], first[r]) << algorithm.name << " " << strata::collectiveName(algorithm.kind) << " n=" << n
                                        << ": rank " << r << "'s result changed between runs " << 0 << " and " << run;
      }
    }
  }
}

// Non-integer values in the narrow formats: every partial sum is rounded to the format, so the
// result differs from the exact sum, by at most one rounding of the format per rank (relative to
// the sum of magnitudes); max and min are exact. A reference that knows about rounding, instead
// of inputs chosen so rounding never happens.
double unitRoundoff(strataDataType_t t) {
  switch (t) {
    case strataFloat16: return std::ldexp(1.0, -11);
    case strataBfloat16: return std::ldexp(1.0, -8);
    case strataFloat8e4m3: return std::ldexp(1.0, -4);
    case strataFloat8e5m2: return std::ldexp(1.0, -3);
    default: return std::ldexp(1.0, -24);
  }
}

double smallestSubnormal(strataDataType_t t) {
  switch (t) {
    case strataFloat16: return std::ldexp(1.0, -24);
    case strataBfloat16: return std::ldexp(1.0, -133);
    case strataFloat8e4m3: return std::ldexp(1.0, -9);
    case strataFloat8e5m2: return std::ldexp(1.0, -16);
    default: return std::ldexp(1.0, -149);
  }
}

std::vector<uint8_t> fractions(strataDataType_t t, size_t count, int rank) {
  std::mt19937 rng(static_cast<unsigned>(rank * 104729 + 17));
  std::uniform_real_distribution<double> value(-1.0, 1.0);
  std::vector<uint8_t> buffer(count * reference::sizeOf(t));
  for (size_t i = 0; i < count; ++i) reference::store(t, buffer.data(), i, value(rng));  // rounded to the format
  return buffer;
}

TEST_P(PlanTest, NarrowFloatReductionsWithinRounding) {
  const int n = GetParam();
  if (n != 2 && n != 3 && n != 5 && n != 8) return;  // the exhaustive reference encoders are slow
  const size_t count = 263;
  for (const strata::AlgorithmEntry& algorithm : strata::algorithmRegistry()) {
    if (algorithm.kind != CollectiveKind::AllReduce && algorithm.kind != CollectiveKind::ReduceScatter) continue;
    for (strataDataType_t t : {strataFloat16, strataBfloat16, strataFloat8e4m3, strataFloat8e5m2, strataFloat32}) {
      for (strataRedOp_t op : {strataSum, strataAvg, strataMax, strataMin}) {
        std::vector<std::vector<uint8_t>> results;
        runCase({&algorithm, n, count, false, t, op, 0, fractions, &results});
        if (HasFatalFailure()) return;
        const bool scatter = algorithm.kind == CollectiveKind::ReduceScatter;
        std::vector<std::vector<uint8_t>> inputs;
        for (int r = 0; r < n; ++r) inputs.push_back(fractions(t, scatter ? count * static_cast<size_t>(n) : count, r));
        for (int r = 0; r < n; ++r) {
          const size_t offset = scatter ? static_cast<size_t>(r) * count : 0;
          for (size_t i = 0; i < count; ++i) {
            double exact = 0, magnitude = 0, extreme = 0;
            for (int q = 0; q < n; ++q) {
              double v = reference::load(t, inputs[q].data(), offset + i);
              exact += v;
              magnitude += std::fabs(v);
              extreme = q == 0 ? v : (op == strataMax ? std::max(extreme, v) : std::min(extreme, v));
            }
            double got = reference::load(t, results[r].data() + kGuard, i);
            if (op == strataMax || op == strataMin) {
              ASSERT_EQ(got, extreme) << algorithm.name << " " << strata::dataTypeName(t) << " element " << i;
              continue;
            }
            double want = op == strataAvg ? exact / n : exact;
            double scale = op == strataAvg ? magnitude / n : magnitude;
            double tolerance = (n + 1) * unitRoundoff(t) * scale + (n + 1) * smallestSubnormal(t);
            ASSERT_NEAR(got, want, tolerance) << algorithm.name << " " << strata::collectiveName(algorithm.kind) << " "
                                             << strata::dataTypeName(t) << " " << strata::redOpName(op) << " n=" << n
                                             << " rank " << r << " element " << i;
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ranks, PlanTest, ::testing::Range(1, 9));
INSTANTIATE_TEST_SUITE_P(ManyRanks, PlanTest, ::testing::Values(12, 16));

}  // namespace
