// Multi-process correctness through the C API, launched by strata-run: every collective x dtype x
// op x in/out-of-place over awkward sizes, checked against a reference computed from the inputs
// (every rank can regenerate every other rank's input). Prints one summary line per rank and
// exits non-zero on the first mismatch.
//   strata-run -n 4 mp_collectives [--quick]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../unit/reference_values.h"
#include "strata/strata.h"

namespace {

int gRank = 0, gRanks = 1;
strataComm_t gComm = nullptr;
long gChecks = 0;

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

bool isIntegerType(strataDataType_t t) {
  return !(t == strataFloat32 || t == strataFloat64 || reference::isNarrowFloat(t));
}

// Input of rank r for a collective: `elements` values.
Bytes inputOf(strataDataType_t t, size_t elements, int r) { return reference::makeBuffer(t, elements, r); }

void expectEqual(const Bytes& got, const Bytes& want, size_t bytes, const std::string& what) {
  ++gChecks;
  if (bytes == 0 || std::memcmp(got.data(), want.data(), bytes) == 0) return;
  size_t at = 0;
  while (at < bytes && got[at] == want[at]) ++at;
  std::fprintf(stderr, "rank %d: WRONG result for %s (first difference at byte %zu of %zu)\n", gRank, what.c_str(), at, bytes);
  std::exit(1);
}

std::string label(const char* coll, strataDataType_t t, strataRedOp_t op, size_t count, bool inPlace) {
  char text[160];
  std::snprintf(text, sizeof(text), "%s dtype=%d op=%d count=%zu %s", coll, static_cast<int>(t), static_cast<int>(op), count,
                inPlace ? "in-place" : "out-of-place");
  return text;
}

// Per-element reference cache for one (dtype, op, count): the reduced vector.
Bytes reducedVector(strataDataType_t t, strataRedOp_t op, size_t count, size_t offset) {
  Bytes out(count * reference::sizeOf(t) + 1);
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
    Bytes send = inputOf(t, count, gRank), recv(count * es + 1, 0xee);
    void* out = inPlace ? send.data() : recv.data();
    CHECK_CALL(strataAllReduce(send.data(), out, count, t, op, gComm, nullptr));
    expectEqual(inPlace ? send : recv, want, count * es, label("allreduce", t, op, count, inPlace));
    // Reduce
    send = inputOf(t, count, gRank);
    recv.assign(count * es + 1, 0xee);
    out = inPlace ? send.data() : recv.data();
    CHECK_CALL(strataReduce(send.data(), out, count, t, op, root, gComm, nullptr));
    if (gRank == root) expectEqual(inPlace ? send : recv, want, count * es, label("reduce", t, op, count, inPlace));
    // ReduceScatter: input n blocks, rank gets block `rank`.
    Bytes wantBlock = reducedVector(t, op, count, static_cast<size_t>(gRank) * count);
    send = inputOf(t, count * n, gRank);
    recv.assign(count * es + 1, 0xee);
    void* rsOut = inPlace ? send.data() + static_cast<size_t>(gRank) * count * es : recv.data();
    CHECK_CALL(strataReduceScatter(send.data(), rsOut, count, t, op, gComm, nullptr));
    Bytes got(static_cast<uint8_t*>(rsOut), static_cast<uint8_t*>(rsOut) + count * es);
    expectEqual(got, wantBlock, count * es, label("reducescatter", t, op, count, inPlace));
  }
}

void checkDataMovement(strataDataType_t t, size_t count) {
  const size_t es = reference::sizeOf(t);
  const size_t n = static_cast<size_t>(gRanks);
  const int root = gRanks > 1 ? 1 : 0;
  for (bool inPlace : {false, true}) {
    // Broadcast from root.
    Bytes want = inputOf(t, count, root);
    Bytes send = inputOf(t, count, gRank), recv(count * es + 1, 0xee);
    void* out = inPlace ? send.data() : recv.data();
    CHECK_CALL(strataBroadcast(send.data(), out, count, t, root, gComm, nullptr));
    expectEqual(inPlace ? send : recv, want, count * es, label("broadcast", t, strataSum, count, inPlace));
    // AllGather: block p is rank p's input.
    Bytes all(count * n * es + 1, 0xee), wantAll(count * n * es + 1);
    for (int p = 0; p < gRanks; ++p) {
      Bytes in = inputOf(t, count, p);
      std::memcpy(wantAll.data() + p * count * es, in.data(), count * es);
    }
    send = inputOf(t, count, gRank);
    if (inPlace) std::memcpy(all.data() + gRank * count * es, send.data(), count * es);
    const void* agIn = inPlace ? all.data() + gRank * count * es : send.data();
    CHECK_CALL(strataAllGather(agIn, all.data(), count, t, gComm, nullptr));
    expectEqual(all, wantAll, count * n * es, label("allgather", t, strataSum, count, inPlace));
    // Gather to root: same expectation as allgather at the root.
    all.assign(count * n * es + 1, 0xee);
    if (inPlace && gRank == root) std::memcpy(all.data() + root * count * es, send.data(), count * es);
    const void* gIn = inPlace && gRank == root ? all.data() + root * count * es : send.data();
    CHECK_CALL(strataGather(gIn, all.data(), count, t, root, gComm, nullptr));
    if (gRank == root) expectEqual(all, wantAll, count * n * es, label("gather", t, strataSum, count, inPlace));
    // Scatter from root: rank gets block `rank` of root's n-block input.
    Bytes rootInput = inputOf(t, count * n, root);
    Bytes mine = inputOf(t, count * n, gRank);
    recv.assign(count * es + 1, 0xee);
    void* sOut = inPlace && gRank == root ? mine.data() + root * count * es : recv.data();
    CHECK_CALL(strataScatter(mine.data(), sOut, count, t, root, gComm, nullptr));
    Bytes gotBlock(static_cast<uint8_t*>(sOut), static_cast<uint8_t*>(sOut) + count * es);
    Bytes wantBlock(rootInput.begin() + static_cast<long>(gRank * count * es), rootInput.begin() + static_cast<long>((gRank + 1) * count * es));
    expectEqual(gotBlock, wantBlock, count * es, label("scatter", t, strataSum, count, inPlace));
    // AllToAll: block p of my output is block `rank` of p's input.
    Bytes a2aIn = inputOf(t, count * n, gRank), a2aOut(count * n * es + 1, 0xee), wantA2a(count * n * es + 1);
    for (int p = 0; p < gRanks; ++p) {
      Bytes in = inputOf(t, count * n, p);
      std::memcpy(wantA2a.data() + p * count * es, in.data() + gRank * count * es, count * es);
    }
    void* a2aDst = inPlace ? a2aIn.data() : a2aOut.data();
    CHECK_CALL(strataAllToAll(a2aIn.data(), a2aDst, count, t, gComm, nullptr));
    expectEqual(inPlace ? a2aIn : a2aOut, wantA2a, count * n * es, label("alltoall", t, strataSum, count, inPlace));
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
  Bytes in = inputOf(t, so + 1, gRank), out(ro * es + 1, 0xee);
  CHECK_CALL(strataAllToAllv(in.data(), sc.data(), sd.data(), out.data(), rc.data(), rd.data(), t, gComm, nullptr));
  for (int p = 0; p < gRanks; ++p) {
    // p's send displacement for me: recompute p's layout.
    size_t off = 0;
    for (int q = 0; q < gRank; ++q) off += vcount(p, q, base) + 1;
    Bytes pin = inputOf(t, off + rc[p] + 1, p);
    Bytes got(out.begin() + static_cast<long>(rd[p] * es), out.begin() + static_cast<long>((rd[p] + rc[p]) * es));
    Bytes want(pin.begin() + static_cast<long>(off * es), pin.begin() + static_cast<long>((off + rc[p]) * es));
    expectEqual(got, want, rc[p] * es, "alltoallv from rank " + std::to_string(p));
  }
  // Ring exchange with grouped send/recv: send to right, receive from left, one group.
  size_t count = base * 17 + 3;
  Bytes mine = inputOf(t, count, gRank), fromLeft(count * es + 1, 0xee);
  int right = (gRank + 1) % gRanks, left = (gRank + gRanks - 1) % gRanks;
  CHECK_CALL(strataGroupStart());
  CHECK_CALL(strataSend(mine.data(), count, t, right, gComm, nullptr));
  CHECK_CALL(strataRecv(fromLeft.data(), count, t, left, gComm, nullptr));
  CHECK_CALL(strataGroupEnd());
  expectEqual(fromLeft, inputOf(t, count, left), count * es, "grouped send/recv");
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  CHECK_CALL(strataCommInitFromEnv(&gComm));
  CHECK_CALL(strataCommUserRank(gComm, &gRank));
  CHECK_CALL(strataCommCount(gComm, &gRanks));
  std::vector<size_t> sizes = {0, 1, 7, 1023};
  for (strataDataType_t t : reference::allTypes()) {
    for (size_t count : sizes) {
      for (strataRedOp_t op : reference::allOps()) {
        if (op == strataProd && reference::isNarrowFloat(t) && gRanks > 3) continue;  // overflows the format
        checkReductions(t, op, count);
      }
      checkDataMovement(t, count);
    }
    checkAllToAllvAndSendRecv(t, 3);
    if (quick) break;
  }
  // Large, awkward sizes on the bandwidth paths (ring, slices, several tcp streams).
  for (size_t count : {size_t{65537}, size_t{(1 << 20) + 3}}) {
    checkReductions(strataFloat32, strataSum, count);
    checkDataMovement(strataInt8, count);
  }
  CHECK_CALL(strataBarrier(gComm, nullptr));
  std::printf("rank %d of %d: %ld checks passed\n", gRank, gRanks, gChecks);
  CHECK_CALL(strataCommDestroy(gComm));
  return 0;
}
