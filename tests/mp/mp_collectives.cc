// Multi-process correctness through the C API, launched by strata-run: every collective x dtype x
// op x in/out-of-place over awkward sizes, checked against a reference computed from the inputs
// (every rank can regenerate every other rank's input). Every buffer a call may write has guard
// bytes before and after it (and the gaps of all-to-all-v stay untouched); send buffers of
// out-of-place calls must come back unchanged. Non-integer values in the narrow float formats are
// checked against the exact sum with a bound that knows about rounding. Prints one summary line
// per rank and exits non-zero on the first mismatch.
//   strata-run -n 4 mp_collectives [--quick]
// With STRATA_TEST_CUDART set (tests/device/cuda_like.h) every buffer a call uses is device memory:
// each call gets device twins of its guarded buffers (guards included), runs on a stream, and the
// twins are copied back after the stream is synchronised, so the same checks hold on the device
// path (the fake device module here, CUDA on a GPU).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../device/cuda_like.h"
#include "../unit/reference_values.h"
#include "strata/strata.h"

namespace {

int gRank = 0, gRanks = 1;
strataComm_t gComm = nullptr;
long gChecks = 0;
strata::test::CudaLike gCuda;
bool gDevice = false;      // buffers on the device (STRATA_TEST_CUDART)
void* gStream = nullptr;   // the calls' stream: a device stream in device mode

#define CHECK_CALL(call)                                                                           \
  do {                                                                                             \
    strataResult_t r_ = (call);                                                                    \
    if (r_ != strataSuccess) {                                                                     \
      std::fprintf(stderr, "rank %d: %s failed: %s: %s\n", gRank, #call, strataGetErrorString(r_), \
                   strataGetLastError(gComm));                                                    \
      std::exit(1);                                                                                \
    }                                                                                              \
  } while (0)

using Bytes = std::vector<uint8_t>;

constexpr size_t kGuard = 64;
constexpr uint8_t kGuardByte = 0xee;

// A buffer with guard zones around it: data() is its first byte, check() fails the run if a guard
// byte changed. Each buffer's guards hold their own pattern (by buffer and rank): an overrun that
// copies a peer's guard bytes along must not write back the very value it is checked against.
class Guarded {
 public:
  explicit Guarded(size_t bytes) : bytes_(bytes), serial_(nextSerial++), storage_(bytes + 2 * kGuard, kGuardByte) {
    for (size_t i = 0; i < kGuard; ++i) {
      storage_[i] = guardByte(i);
      storage_[storage_.size() - 1 - i] = guardByte(kGuard + i);
    }
  }
  explicit Guarded(const Bytes& contents) : Guarded(contents.size()) {
    std::memcpy(data(), contents.data(), contents.size());
  }
  uint8_t* storage() { return storage_.data(); }
  size_t storageBytes() const { return storage_.size(); }
  uint8_t* data() { return storage_.data() + kGuard; }
  const uint8_t* data() const { return storage_.data() + kGuard; }
  size_t size() const { return bytes_; }
  Bytes contents() const { return Bytes(data(), data() + bytes_); }
  void check(const std::string& what) const {
    ++gChecks;
    for (size_t i = 0; i < kGuard; ++i) {
      bool before = storage_[i] == guardByte(i);
      bool after = storage_[storage_.size() - 1 - i] == guardByte(kGuard + i);
      if (!before || !after) {
        std::fprintf(stderr, "rank %d: %s wrote outside its buffer (guard byte %s)\n", gRank, what.c_str(),
                     before ? "after" : "before");
        std::exit(1);
      }
    }
  }

 private:
  uint8_t guardByte(size_t i) const {
    uint64_t x = (serial_ * 0x9e3779b97f4a7c15ull) ^ (static_cast<uint64_t>(gRank) << 32) ^ i;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    return static_cast<uint8_t>(x >> 56);
  }
  static inline uint64_t nextSerial = 1;
  size_t bytes_;
  uint64_t serial_;
  Bytes storage_;
};

// Device mode: the device twin of each guarded buffer a call uses.
struct Twin {
  uint8_t* host;
  size_t bytes;
  uint8_t* device;
};
std::vector<Twin> gTwins;

// The address a call takes for `p`: `p` itself on the host, its twin's in device mode.
template <typename T>
T* D(T* p) {
  if (!gDevice || p == nullptr) return p;
  const uint8_t* u = reinterpret_cast<const uint8_t*>(p);
  for (const Twin& t : gTwins) {
    if (u >= t.host && u <= t.host + t.bytes) return reinterpret_cast<T*>(t.device + (u - t.host));
  }
  std::fprintf(stderr, "rank %d: test bug: a call's buffer has no device twin\n", gRank);
  std::exit(2);
}

// Device twins of `buffers` for one call (or group) and its checks: made and filled here; on
// leaving, the stream is synchronised and each twin copied back over its buffer, guards and all.
class OnDevice {
 public:
  OnDevice(std::initializer_list<Guarded*> buffers) {
    if (!gDevice) return;
    for (Guarded* b : buffers) {
      bool known = false;
      for (const Twin& t : gTwins) known = known || t.host == b->storage();
      if (known) continue;  // in place: one buffer named twice
      auto* device = static_cast<uint8_t*>(gCuda.malloc(b->storageBytes()));
      gCuda.copy(device, b->storage(), b->storageBytes());
      gTwins.push_back({b->storage(), b->storageBytes(), device});
    }
  }
  ~OnDevice() {
    if (!gDevice) return;
    gCuda.synchronize(gStream);
    for (const Twin& t : gTwins) {
      gCuda.copy(t.host, t.device, t.bytes);
      gCuda.free(t.device);
    }
    gTwins.clear();
  }
  OnDevice(const OnDevice&) = delete;
  OnDevice& operator=(const OnDevice&) = delete;
};

bool isIntegerType(strataDataType_t t) {
  return !(t == strataFloat32 || t == strataFloat64 || reference::isNarrowFloat(t));
}

// Input of rank r for a collective: `elements` values.
Bytes inputOf(strataDataType_t t, size_t elements, int r) {
  Bytes b = reference::makeBuffer(t, elements, r);
  b.resize(elements * reference::sizeOf(t));
  return b;
}

void expectBytes(const uint8_t* got, const uint8_t* want, size_t bytes, const std::string& what) {
  ++gChecks;
  if (bytes == 0 || std::memcmp(got, want, bytes) == 0) return;
  size_t at = 0;
  while (at < bytes && got[at] == want[at]) ++at;
  std::fprintf(stderr, "rank %d: WRONG result for %s (first difference at byte %zu of %zu)\n", gRank, what.c_str(), at, bytes);
  std::exit(1);
}

// The whole buffer equals `want`, and nothing around it was written.
void expectEqual(const Guarded& got, const Bytes& want, const std::string& what) {
  got.check(what);
  expectBytes(got.data(), want.data(), want.size(), what);
}

std::string label(const char* coll, strataDataType_t t, strataRedOp_t op, size_t count, bool inPlace) {
  char text[160];
  std::snprintf(text, sizeof(text), "%s dtype=%d op=%d count=%zu %s", coll, static_cast<int>(t), static_cast<int>(op), count,
                inPlace ? "in-place" : "out-of-place");
  return text;
}

// Per-element reference for one (dtype, op, count): the reduced vector.
Bytes reducedVector(strataDataType_t t, strataRedOp_t op, size_t count, size_t offset) {
  Bytes out(count * reference::sizeOf(t));
  std::vector<Bytes> inputs;
  for (int r = 0; r < gRanks; ++r) inputs.push_back(reference::makeBuffer(t, offset + count, r));
  std::vector<uint8_t> cell(8);
  for (size_t i = 0; i < count; ++i) {
    double acc = 0;
    for (int r = 0; r < gRanks; ++r) {
      double v = reference::load(t, inputs[r].data(), offset + i);
      acc = r == 0 ? v : reference::combine(t, op, acc, v);
      reference::store(t, cell.data(), 0, acc);
      acc = reference::load(t, cell.data(), 0);
    }
    if (op == strataAvg) {
      if (isIntegerType(t)) acc = std::trunc(acc / gRanks);
      else if (t == strataFloat64) acc = acc / gRanks;
      else acc = static_cast<double>(static_cast<float>(acc) / static_cast<float>(gRanks));
    }
    reference::store(t, out.data(), i, acc);
  }
  return out;
}

void checkReductions(strataDataType_t t, strataRedOp_t op, size_t count) {
  const size_t es = reference::sizeOf(t);
  const size_t n = static_cast<size_t>(gRanks);
  const int root = gRanks - 1;
  Bytes want = reducedVector(t, op, count, 0);
  for (bool inPlace : {false, true}) {
    // AllReduce
    Guarded send(inputOf(t, count, gRank)), recv(count * es);
    Guarded& out = inPlace ? send : recv;
    {
      OnDevice d({&send, &out});
      CHECK_CALL(strataAllReduce(D(send.data()), D(out.data()), count, t, op, gComm, gStream));
    }
    expectEqual(out, want, label("allreduce", t, op, count, inPlace));
    if (!inPlace) expectEqual(send, inputOf(t, count, gRank), label("allreduce's send buffer", t, op, count, false));
    // Reduce: only the root's receive buffer is written.
    Guarded rSend(inputOf(t, count, gRank)), rRecv(count * es);
    Guarded& rOut = inPlace ? rSend : rRecv;
    {
      OnDevice d({&rSend, &rOut});
      CHECK_CALL(strataReduce(D(rSend.data()), D(rOut.data()), count, t, op, root, gComm, gStream));
    }
    if (gRank == root) {
      expectEqual(rOut, want, label("reduce", t, op, count, inPlace));
    } else if (!inPlace) {
      expectEqual(rRecv, Bytes(count * es, kGuardByte), label("reduce (a non-root's receive buffer)", t, op, count, false));
    }
    // ReduceScatter: input n blocks, rank gets block `rank`.
    Bytes wantBlock = reducedVector(t, op, count, static_cast<size_t>(gRank) * count);
    Guarded rsSend(inputOf(t, count * n, gRank)), rsRecv(count * es);
    uint8_t* rsOut = inPlace ? rsSend.data() + static_cast<size_t>(gRank) * count * es : rsRecv.data();
    {
      OnDevice d({&rsSend, &rsRecv});
      CHECK_CALL(strataReduceScatter(D(rsSend.data()), D(rsOut), count, t, op, gComm, gStream));
    }
    expectBytes(rsOut, wantBlock.data(), count * es, label("reducescatter", t, op, count, inPlace));
    rsSend.check(label("reducescatter (send)", t, op, count, inPlace));
    rsRecv.check(label("reducescatter", t, op, count, inPlace));
  }
}

void checkDataMovement(strataDataType_t t, size_t count) {
  const size_t es = reference::sizeOf(t);
  const size_t n = static_cast<size_t>(gRanks);
  const int root = gRanks > 1 ? 1 : 0;
  Bytes wantAll(count * n * es);
  for (int p = 0; p < gRanks; ++p) {
    Bytes in = inputOf(t, count, p);
    if (count > 0) std::memcpy(wantAll.data() + p * count * es, in.data(), count * es);
  }
  for (bool inPlace : {false, true}) {
    // Broadcast from root.
    Guarded send(inputOf(t, count, gRank)), recv(count * es);
    Guarded& out = inPlace ? send : recv;
    {
      OnDevice d({&send, &out});
      CHECK_CALL(strataBroadcast(D(send.data()), D(out.data()), count, t, root, gComm, gStream));
    }
    expectEqual(out, inputOf(t, count, root), label("broadcast", t, strataSum, count, inPlace));
    // AllGather: block p is rank p's input.
    Guarded all(count * n * es), mine(inputOf(t, count, gRank));
    if (inPlace && count > 0) std::memcpy(all.data() + gRank * count * es, mine.data(), count * es);
    const void* agIn = inPlace ? all.data() + gRank * count * es : mine.data();
    {
      OnDevice d({&all, &mine});
      CHECK_CALL(strataAllGather(D(agIn), D(all.data()), count, t, gComm, gStream));
    }
    expectEqual(all, wantAll, label("allgather", t, strataSum, count, inPlace));
    // Gather to root: the allgather's result at the root; nothing written elsewhere.
    Guarded gathered(count * n * es);
    if (inPlace && gRank == root && count > 0) std::memcpy(gathered.data() + root * count * es, mine.data(), count * es);
    const void* gIn = inPlace && gRank == root ? gathered.data() + root * count * es : mine.data();
    {
      OnDevice d({&gathered, &mine});
      CHECK_CALL(strataGather(D(gIn), D(gathered.data()), count, t, root, gComm, gStream));
    }
    if (gRank == root) {
      expectEqual(gathered, wantAll, label("gather", t, strataSum, count, inPlace));
    } else {
      expectEqual(gathered, Bytes(count * n * es, kGuardByte), label("gather (a non-root's buffer)", t, strataSum, count, inPlace));
    }
    // Scatter from root: rank gets block `rank` of root's n-block input.
    Bytes rootInput = inputOf(t, count * n, root);
    Guarded blocks(inputOf(t, count * n, gRank)), block(count * es);
    uint8_t* sOut = inPlace && gRank == root ? blocks.data() + root * count * es : block.data();
    {
      OnDevice d({&blocks, &block});
      CHECK_CALL(strataScatter(D(blocks.data()), D(sOut), count, t, root, gComm, gStream));
    }
    expectBytes(sOut, rootInput.data() + gRank * count * es, count * es, label("scatter", t, strataSum, count, inPlace));
    blocks.check(label("scatter (blocks)", t, strataSum, count, inPlace));
    block.check(label("scatter", t, strataSum, count, inPlace));
    // AllToAll: block p of my output is block `rank` of p's input.
    Guarded a2aIn(inputOf(t, count * n, gRank)), a2aOut(count * n * es);
    Bytes wantA2a(count * n * es);
    for (int p = 0; p < gRanks; ++p) {
      Bytes in = inputOf(t, count * n, p);
      if (count > 0) std::memcpy(wantA2a.data() + p * count * es, in.data() + gRank * count * es, count * es);
    }
    Guarded& a2aDst = inPlace ? a2aIn : a2aOut;
    {
      OnDevice d({&a2aIn, &a2aDst});
      CHECK_CALL(strataAllToAll(D(a2aIn.data()), D(a2aDst.data()), count, t, gComm, gStream));
    }
    expectEqual(a2aDst, wantA2a, label("alltoall", t, strataSum, count, inPlace));
  }
}

size_t vcount(int from, int to, size_t base) { return (static_cast<size_t>(from) * 3 + static_cast<size_t>(to) * 5 + base) % 13; }

void checkAllToAllvAndSendRecv(strataDataType_t t, size_t base) {
  const size_t es = reference::sizeOf(t);
  std::vector<size_t> sc(gRanks), sd(gRanks), rc(gRanks), rd(gRanks);
  size_t so = 0, ro = 0;
  for (int p = 0; p < gRanks; ++p) {
    sc[p] = vcount(gRank, p, base); sd[p] = so; so += sc[p] + 1;
    rc[p] = vcount(p, gRank, base); rd[p] = ro; ro += rc[p] + 2;
  }
  Guarded in(inputOf(t, so + 1, gRank)), out(ro * es);
  {
    OnDevice d({&in, &out});
    CHECK_CALL(strataAllToAllv(D(in.data()), sc.data(), sd.data(), D(out.data()), rc.data(), rd.data(), t, gComm, gStream));
  }
  // The blocks from every rank where rdispls puts them, and the gaps between them untouched.
  Bytes want(ro * es, kGuardByte);
  for (int p = 0; p < gRanks; ++p) {
    size_t off = 0;  // p's send displacement for me: recompute p's layout
    for (int q = 0; q < gRank; ++q) off += vcount(p, q, base) + 1;
    Bytes pin = inputOf(t, off + rc[p] + 1, p);
    if (rc[p] > 0) std::memcpy(want.data() + rd[p] * es, pin.data() + off * es, rc[p] * es);
  }
  expectEqual(out, want, "alltoallv (blocks and gaps)");
  // Ring exchange with grouped send/recv: send to right, receive from left, one group.
  size_t count = base * 17 + 3;
  Guarded mine(inputOf(t, count, gRank)), fromLeft(count * es);
  int right = (gRank + 1) % gRanks, left = (gRank + gRanks - 1) % gRanks;
  {
    OnDevice d({&mine, &fromLeft});
    CHECK_CALL(strataGroupStart());
    CHECK_CALL(strataSend(D(mine.data()), count, t, right, gComm, gStream));
    CHECK_CALL(strataRecv(D(fromLeft.data()), count, t, left, gComm, gStream));
    CHECK_CALL(strataGroupEnd());
  }
  expectEqual(fromLeft, inputOf(t, count, left), "grouped send/recv");
}

// Non-integer values in the narrow float formats, summed over the real transports: every partial
// is rounded to the format, so the result may differ from the exact sum by up to one rounding per
// rank, relative to the sum of magnitudes (avg likewise, divided by the ranks).
double unitRoundoff(strataDataType_t t) {
  switch (t) {
    case strataFloat16: return std::ldexp(1.0, -11);
    case strataBfloat16: return std::ldexp(1.0, -8);
    case strataFloat8e4m3: return std::ldexp(1.0, -4);
    default: return std::ldexp(1.0, -3);
  }
}

Bytes fractionsOf(strataDataType_t t, size_t count, int rank) {
  std::mt19937 rng(static_cast<unsigned>(rank * 7919 + 3));
  std::uniform_real_distribution<double> value(-1.0, 1.0);
  Bytes b(count * reference::sizeOf(t));
  for (size_t i = 0; i < count; ++i) reference::store(t, b.data(), i, value(rng));
  return b;
}

void checkFractions(strataDataType_t t, size_t count) {
  for (strataRedOp_t op : {strataSum, strataAvg}) {
    Guarded send(fractionsOf(t, count, gRank)), recv(count * reference::sizeOf(t));
    {
      OnDevice d({&send, &recv});
      CHECK_CALL(strataAllReduce(D(send.data()), D(recv.data()), count, t, op, gComm, gStream));
    }
    recv.check(label("allreduce of fractions", t, op, count, false));
    std::vector<Bytes> inputs;
    for (int r = 0; r < gRanks; ++r) inputs.push_back(fractionsOf(t, count, r));
    for (size_t i = 0; i < count; ++i) {
      double exact = 0, magnitude = 0;
      for (const Bytes& in : inputs) {
        exact += reference::load(t, in.data(), i);
        magnitude += std::fabs(reference::load(t, in.data(), i));
      }
      if (op == strataAvg) exact /= gRanks, magnitude /= gRanks;
      double got = reference::load(t, recv.data(), i);
      double tolerance = (gRanks + 1) * unitRoundoff(t) * magnitude + 1e-6;
      ++gChecks;
      if (std::fabs(got - exact) > tolerance) {
        std::fprintf(stderr, "rank %d: allreduce of fractions dtype=%d op=%d element %zu: %g, exact %g (tolerance %g)\n", gRank,
                     static_cast<int>(t), static_cast<int>(op), i, got, exact, tolerance);
        std::exit(1);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  gDevice = gCuda.load();
  if (gDevice) {
    // As with NCCL, the device is chosen before the communicator is made (it binds to it).
    gCuda.setDevice(0);
    gStream = gCuda.streamCreate();
  }
  CHECK_CALL(strataCommInitFromEnv(&gComm));
  CHECK_CALL(strataCommUserRank(gComm, &gRank));
  CHECK_CALL(strataCommCount(gComm, &gRanks));
  // Quick runs (the emulated cluster, forced algorithms) take one integer and one narrow float
  // type through everything, every op included; full runs every type.
  std::vector<strataDataType_t> types = reference::allTypes();
  if (quick) types = {strataInt8, strataBfloat16};
  std::vector<size_t> sizes = {0, 1, 7, 1023};
  for (strataDataType_t t : types) {
    for (size_t count : sizes) {
      for (strataRedOp_t op : reference::allOps()) {
        if (op == strataProd && reference::isNarrowFloat(t) && gRanks > 3) continue;  // overflows the format
        checkReductions(t, op, count);
      }
      checkDataMovement(t, count);
    }
    checkAllToAllvAndSendRecv(t, 3);
  }
  for (strataDataType_t t : {strataBfloat16, strataFloat16, strataFloat8e4m3, strataFloat8e5m2}) {
    if (quick && t != strataBfloat16) continue;
    checkFractions(t, 1031);
  }
  // Large, awkward sizes on the bandwidth paths (ring, slices, several tcp streams).
  for (size_t count : {size_t{65537}, size_t{(1 << 20) + 3}}) {
    checkReductions(strataFloat32, strataSum, count);
    checkDataMovement(strataInt8, count);
  }
  CHECK_CALL(strataBarrier(gComm, gStream));
  if (gDevice) gCuda.synchronize(gStream);
  std::printf("rank %d of %d: %ld checks passed%s\n", gRank, gRanks, gChecks, gDevice ? " (device memory)" : "");
  CHECK_CALL(strataCommDestroy(gComm));
  if (gDevice) gCuda.streamDestroy(gStream);
  return 0;
}
