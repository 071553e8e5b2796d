// MoE dispatch/combine against a single-process reference of the same routing. Narrow floats are
// converted with the tests' own reference encoders (tests/unit/narrow_reference.h), not the
// library's. Run one process
// per rank (strata-run -n N moe_exchange [--quick]); every rank can regenerate every rank's inputs,
// so each checks its own outputs against what the reference says it must receive.
//
// Covered: random routing, skewed routing (every token to one expert), k = 1..8, zero tokens on
// some ranks, -1 entries, capacity factor (dropped pairs), expert alignment, float32 / bfloat16 /
// float16 rows and float8e4m3 with scales, layout counts, weighted and unweighted combine, the
// round trip dispatch -> identity experts -> combine = weighted input, both backward passes
// against finite differences, a host stream, MoE operations inside a group (the handle destroyed
// before the group ends), argument errors; direct routes and forwarding
// through one rank per remote host (several hosts: STRATA_HOSTID or real ones; or STRATA_MOE_HIERARCHICAL=1).
// With STRATA_TEST_CUDART (tests/device/cuda_like.h) the exchanges' buffers are device memory on a
// device stream (tests/device/device_twins.h); the host-stream and group runs are left out there.
#include <strata/strata.h>
#include <strata/strata_moe.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "../device/device_twins.h"
#include "../unit/narrow_reference.h"

namespace {

int gRank = 0, gRanks = 1, gFailures = 0;
// Hosts: ranks with the same STRATA_HOSTID (emulated hosts) or hostname share one. gHostOf[r] is
// this test's own numbering; the library may number hosts differently (racks first), so per-host
// counts are compared as sorted lists.
int gHosts = 1;
std::vector<int> gHostOf;
bool gForwarding = false;  // dispatch should go through forwarders
strataComm_t gComm = nullptr;
strata::test::CudaLike gCudaLike;
strata::test::CudaLike* gCuda = nullptr;  // device mode: the runtime the buffers come from
void* gDeviceStream = nullptr;

#define CHECK(cond, ...)                                          \
  do {                                                            \
    if (!(cond)) {                                                \
      std::fprintf(stderr, "[rank %d] %s:%d: ", gRank, __FILE__, __LINE__); \
      std::fprintf(stderr, __VA_ARGS__);                          \
      std::fprintf(stderr, "\n");                                 \
      ++gFailures;                                                \
    }                                                             \
  } while (0)

#define OK(call)                                                                                           \
  do {                                                                                                     \
    strataResult_t r_ = (call);                                                                            \
    if (r_ != strataSuccess) {                                                                             \
      std::fprintf(stderr, "[rank %d] %s failed: %s\n", gRank, #call, strataGetLastError(gComm));        \
      std::exit(1);                                                                                        \
    }                                                                                                      \
  } while (0)

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

enum class Routing { Random, Skewed, WithGaps };

struct Scenario {
  const char* name;
  Routing routing;
  int topK;
  int localExperts;
  float capacityFactor;
  int alignment;
  size_t hidden;
  int seed;
};

// Rank r's token count: some ranks have none.
size_t tokensOf(const Scenario& s, int r) {
  if (gRanks > 1 && r == gRanks - 1 && s.seed % 2 == 0) return 0;
  return 5 + static_cast<size_t>(mix(static_cast<uint64_t>(s.seed) * 977 + static_cast<uint64_t>(r)) % 13);
}

// Rank r's topk_idx: distinct experts per token, -1 entries in some routings.
std::vector<int64_t> routeOf(const Scenario& s, int r) {
  int experts = s.localExperts * gRanks;
  size_t tokens = tokensOf(s, r);
  std::vector<int64_t> idx(tokens * static_cast<size_t>(s.topK), -1);
  for (size_t t = 0; t < tokens; ++t) {
    uint64_t h = mix(static_cast<uint64_t>(s.seed) * 1000003 + static_cast<uint64_t>(r) * 7919 + t);
    int first = s.routing == Routing::Skewed ? 0 : static_cast<int>(h % static_cast<uint64_t>(experts));
    for (int j = 0; j < s.topK; ++j) {
      if (s.routing == Routing::WithGaps && ((h >> (j + 40)) & 3) == 0) continue;
      if (s.routing == Routing::Skewed && j > 0) continue;  // every token to expert 0 only
      // Consecutive experts from `first`: distinct while k <= experts.
      idx[t * static_cast<size_t>(s.topK) + static_cast<size_t>(j)] = (first + j) % experts;
    }
  }
  return idx;
}

float xValue(int r, size_t t, size_t c) { return static_cast<float>(static_cast<int>((r * 131 + t * 31 + c * 7) % 17) - 8) / 8.0f; }
float weightValue(int r, size_t t, int j) { return static_cast<float>(1 + (r + static_cast<int>(t) + j) % 4) / 8.0f; }

// The reference routing of source rank s after capacity: the kept global experts per slot.
std::vector<int64_t> keptOf(const Scenario& s, int src) {
  std::vector<int64_t> idx = routeOf(s, src);
  if (s.capacityFactor <= 0) return idx;
  int experts = s.localExperts * gRanks;
  size_t tokens = tokensOf(s, src);
  size_t capacity = static_cast<size_t>(std::ceil(static_cast<double>(tokens) * s.topK / experts * s.capacityFactor));
  std::vector<size_t> load(static_cast<size_t>(experts), 0);
  for (auto& e : idx) {
    if (e < 0) continue;
    if (load[static_cast<size_t>(e)]++ >= capacity) e = -1;
  }
  return idx;
}

size_t droppedOf(const Scenario& s, int src) {
  std::vector<int64_t> all = routeOf(s, src), kept = keptOf(s, src);
  size_t dropped = 0;
  for (size_t i = 0; i < all.size(); ++i) dropped += all[i] >= 0 && kept[i] < 0;
  return dropped;
}

// What rank `me` receives: (source, token) in order.
struct Arrival {
  int source;
  size_t token;
};
std::vector<Arrival> arrivalsAt(const Scenario& s, int me) {
  std::vector<Arrival> out;
  for (int src = 0; src < gRanks; ++src) {
    std::vector<int64_t> kept = keptOf(s, src);
    for (size_t t = 0; t < tokensOf(s, src); ++t) {
      bool here = false;
      for (int j = 0; j < s.topK; ++j) {
        int64_t e = kept[t * static_cast<size_t>(s.topK) + static_cast<size_t>(j)];
        here |= e >= 0 && e / s.localExperts == me;
      }
      if (here) out.push_back({src, t});
    }
  }
  return out;
}

int32_t localIdAt(const Scenario& s, const std::vector<int64_t>& kept, size_t t, int j, int me) {
  int64_t e = kept[t * static_cast<size_t>(s.topK) + static_cast<size_t>(j)];
  return e >= 0 && e / s.localExperts == me ? static_cast<int32_t>(e % s.localExperts) : -1;
}

float load(strataDataType_t dtype, const std::vector<unsigned char>& buf, size_t i) {
  if (dtype == strataFloat32) {
    float v;
    std::memcpy(&v, buf.data() + 4 * i, 4);
    return v;
  }
  uint16_t b;
  std::memcpy(&b, buf.data() + 2 * i, 2);
  return dtype == strataBfloat16 ? reference::bf16ToFloat(b) : reference::halfToFloat(b);
}
void store(strataDataType_t dtype, std::vector<unsigned char>& buf, size_t i, float v) {
  if (dtype == strataFloat32) {
    std::memcpy(buf.data() + 4 * i, &v, 4);
    return;
  }
  uint16_t b = dtype == strataBfloat16 ? reference::floatToBf16(v) : reference::floatToHalf(v);
  std::memcpy(buf.data() + 2 * i, &b, 2);
}
size_t sizeOf(strataDataType_t dtype) { return dtype == strataFloat32 ? 4 : dtype == strataFloat8e4m3 ? 1 : 2; }
bool close(strataDataType_t dtype, float got, float want) {
  float tol = dtype == strataFloat32 ? 1e-5f : dtype == strataFloat16 ? 2e-3f : 2e-2f;
  return std::fabs(got - want) <= tol * std::fmax(1.0f, std::fabs(want));
}

// Guard elements after an output: filled with a pattern of this rank's before a call, checked
// after it, so a write past the rows the call owns is caught (even one that carries a peer's
// guard along).
constexpr size_t kGuardElements = 32;
unsigned char guardByte(size_t at) { return static_cast<unsigned char>(0x5a ^ (gRank * 37) ^ (at * 131)); }
template <typename T>
void guardTail(std::vector<T>& v, size_t used) {
  v.resize(used + kGuardElements);
  auto* bytes = reinterpret_cast<unsigned char*>(v.data());
  for (size_t b = used * sizeof(T); b < v.size() * sizeof(T); ++b) bytes[b] = guardByte(b);
}
template <typename T>
bool tailIntact(const std::vector<T>& v, size_t used) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(v.data());
  for (size_t b = used * sizeof(T); b < v.size() * sizeof(T); ++b) {
    if (bytes[b] != guardByte(b)) return false;
  }
  return true;
}

void checkLayout(const Scenario& s) {
  std::vector<int64_t> idx = routeOf(s, gRank);
  size_t tokens = tokensOf(s, gRank);
  int experts = s.localExperts * gRanks;
  std::vector<size_t> perRank(gRanks), perExpert(experts), perHost(gRanks);
  std::vector<uint8_t> inRank(tokens * gRanks + 1);
  int hosts = 0;
  OK(strataMoeLayout(idx.data(), tokens, s.topK, experts, gComm, perRank.data(), perHost.data(), perExpert.data(),
                     inRank.data(), &hosts));
  CHECK(hosts == gHosts, "%s: %d hosts expected, layout says %d", s.name, gHosts, hosts);
  std::vector<size_t> wantRank(gRanks), wantExpert(experts), wantHost(gHosts);
  perHost.resize(gHosts > gRanks ? gHosts : gRanks);
  for (size_t t = 0; t < tokens; ++t) {
    std::vector<bool> ranks(gRanks, false);
    bool any = false;
    for (int j = 0; j < s.topK; ++j) {
      int64_t e = idx[t * s.topK + j];
      if (e < 0) continue;
      ++wantExpert[e];
      ranks[e / s.localExperts] = true;
      any = true;
    }
    (void)any;
    std::vector<bool> onHost(gHosts, false);
    for (int r = 0; r < gRanks; ++r) onHost[gHostOf[r]] = onHost[gHostOf[r]] || ranks[r];
    for (int hst = 0; hst < gHosts; ++hst) wantHost[hst] += onHost[hst];
    for (int r = 0; r < gRanks; ++r) {
      wantRank[r] += ranks[r];
      CHECK(inRank[t * gRanks + r] == (ranks[r] ? 1 : 0), "%s: isTokenInRank[%zu][%d]", s.name, t, r);
    }
  }
  for (int r = 0; r < gRanks; ++r) CHECK(perRank[r] == wantRank[r], "%s: tokensPerRank[%d] %zu want %zu", s.name, r, perRank[r], wantRank[r]);
  for (int e = 0; e < experts; ++e) CHECK(perExpert[e] == wantExpert[e], "%s: tokensPerExpert[%d]", s.name, e);
  std::vector<size_t> gotHost(perHost.begin(), perHost.begin() + gHosts);
  std::sort(gotHost.begin(), gotHost.end());
  std::sort(wantHost.begin(), wantHost.end());
  CHECK(gotHost == wantHost, "%s: tokensPerHost differ from the reference", s.name);
}

// Dispatch, both combines and both backward passes for one scenario and dtype.
void checkExchange(const Scenario& s, strataDataType_t dtype, strataStream_t stream) {
  const int k = s.topK;
  const size_t H = s.hidden, es = sizeOf(dtype), tokens = tokensOf(s, gRank);
  const int experts = s.localExperts * gRanks;
  std::vector<int64_t> idx = routeOf(s, gRank);
  strataMoeConfig cfg = STRATA_MOE_CONFIG_INIT;
  cfg.capacityFactor = s.capacityFactor;
  cfg.expertAlignment = s.alignment;
  strataMoeHandle_t h;
  OK(strataMoeHandleCreate(idx.data(), tokens, k, experts, &cfg, gComm, &h));
  strataMoeHandleInfo info;
  OK(strataMoeHandleGetInfo(h, &info));
  std::vector<Arrival> arrivals = arrivalsAt(s, gRank);
  const size_t R = arrivals.size();
  CHECK(info.numRecvTokens == R, "%s: numRecvTokens %zu want %zu", s.name, info.numRecvTokens, R);
  CHECK(info.hierarchical == (gForwarding ? 1 : 0), "%s: hierarchical %d, expected %d", s.name, info.hierarchical, gForwarding ? 1 : 0);
  CHECK(info.droppedPairs == droppedOf(s, gRank), "%s: droppedPairs %zu want %zu", s.name, info.droppedPairs, droppedOf(s, gRank));
  if (info.numRecvTokens != R) {
    OK(strataMoeHandleDestroy(h));
    return;
  }

  // Inputs.
  std::vector<unsigned char> x(tokens * H * es + 1);
  std::vector<float> weights(tokens * k), scales(tokens * ((H + 127) / 128) + 1);
  for (size_t t = 0; t < tokens; ++t) {
    for (size_t c = 0; c < H; ++c) {
      if (dtype == strataFloat8e4m3) x[t * H + c] = reference::floatToE4m3(xValue(gRank, t, c));
      else store(dtype, x, t * H + c, xValue(gRank, t, c));
    }
    for (int j = 0; j < k; ++j) weights[t * k + j] = weightValue(gRank, t, j);
    for (size_t b = 0; b < (H + 127) / 128; ++b) scales[t * ((H + 127) / 128) + b] = static_cast<float>(gRank * 100 + t + b);
  }
  const bool fp8 = dtype == strataFloat8e4m3;
  std::vector<unsigned char> recvX(R * H * es + 1);
  std::vector<float> recvScales(R * ((H + 127) / 128) + 1), recvWeights(R * k + 1);
  std::vector<int32_t> recvIdx(R * k + 1);
  const size_t scaleRows = R * ((H + 127) / 128);
  guardTail(recvX, R * H * es);
  guardTail(recvScales, scaleRows);
  guardTail(recvWeights, R * k);
  guardTail(recvIdx, R * k);
  {
    strata::test::Twins d(gCuda, gDeviceStream, stream);
    OK(strataMoeDispatch(h, d(x), fp8 ? d(scales) : nullptr, H, dtype, d(weights), d(recvX), fp8 ? d(recvScales) : nullptr,
                         d(recvIdx), d(recvWeights), d.stream()));
  }
  if (stream) OK(strataStreamSynchronize(stream));
  CHECK(tailIntact(recvX, R * H * es) && tailIntact(recvScales, scaleRows) && tailIntact(recvWeights, R * k) &&
            tailIntact(recvIdx, R * k),
        "%s dtype %d: dispatch wrote past the end of an output", s.name, dtype);

  std::vector<size_t> expertCounts(s.localExperts), wantCounts(s.localExperts, 0);
  OK(strataMoeHandleGetExpertCounts(h, expertCounts.data()));
  for (size_t i = 0; i < R; ++i) {
    const Arrival& a = arrivals[i];
    std::vector<int64_t> kept = keptOf(s, a.source);
    for (size_t c = 0; c < H; ++c) {
      float want = xValue(a.source, a.token, c);
      float got = fp8 ? reference::e4m3ToFloat(recvX[i * H + c]) : load(dtype, recvX, i * H + c);
      if (fp8) want = reference::e4m3ToFloat(reference::floatToE4m3(want));
      CHECK(got == want, "%s dtype %d: recvX[%zu][%zu] = %g want %g (from rank %d token %zu)", s.name, dtype, i, c, got, want, a.source, a.token);
    }
    if (fp8) {
      for (size_t b = 0; b < (H + 127) / 128; ++b) {
        CHECK(recvScales[i * ((H + 127) / 128) + b] == static_cast<float>(a.source * 100 + a.token + b), "%s: recvScales", s.name);
      }
    }
    for (int j = 0; j < k; ++j) {
      int32_t want = localIdAt(s, kept, a.token, j, gRank);
      CHECK(recvIdx[i * k + j] == want, "%s: recvTopkIdx[%zu][%d] = %d want %d", s.name, i, j, recvIdx[i * k + j], want);
      float wantW = want >= 0 ? weightValue(a.source, a.token, j) : 0.0f;
      CHECK(recvWeights[i * k + j] == wantW, "%s: recvTopkWeights[%zu][%d]", s.name, i, j);
      if (want >= 0) ++wantCounts[want];
    }
  }
  for (int e = 0; e < s.localExperts; ++e) {
    size_t padded = (wantCounts[e] + s.alignment - 1) / s.alignment * s.alignment;
    CHECK(expertCounts[e] == padded, "%s: expert %d count %zu want %zu", s.name, e, expertCounts[e], padded);
  }
  if (fp8) {
    OK(strataMoeHandleDestroy(h));
    return;
  }

  std::vector<int64_t> mine = keptOf(s, gRank);
  // Round trip, weighted: identity experts (every slot's output is the received row) -> x * sum of kept weights.
  std::vector<unsigned char> slots(R * k * H * es + 1), out(tokens * H * es + 1);
  for (size_t i = 0; i < R; ++i)
    for (int j = 0; j < k; ++j) std::memcpy(slots.data() + (i * k + j) * H * es, recvX.data() + i * H * es, H * es);
  guardTail(out, tokens * H * es);
  {
    strata::test::Twins d(gCuda, gDeviceStream, stream);
    OK(strataMoeCombine(h, d(slots), H, dtype, d(recvWeights), d(out), d.stream()));
  }
  if (stream) OK(strataStreamSynchronize(stream));
  CHECK(tailIntact(out, tokens * H * es), "%s dtype %d: combine wrote past the end of out", s.name, dtype);
  for (size_t t = 0; t < tokens; ++t) {
    float wsum = 0;
    for (int j = 0; j < k; ++j) wsum += mine[t * k + j] >= 0 ? weightValue(gRank, t, j) : 0.0f;
    for (size_t c = 0; c < H; ++c) {
      float want = wsum * load(dtype, x, t * H + c);
      CHECK(close(dtype, load(dtype, out, t * H + c), want), "%s dtype %d: weighted round trip out[%zu][%zu] = %g want %g", s.name,
            dtype, t, c, load(dtype, out, t * H + c), want);
    }
  }
  // Unweighted: rank d returns its row times (d + 1): out = x * sum over the token's ranks of (d + 1).
  std::vector<unsigned char> rows(R * H * es + 1);
  for (size_t i = 0; i < R; ++i)
    for (size_t c = 0; c < H; ++c) store(dtype, rows, i * H + c, load(dtype, recvX, i * H + c) * static_cast<float>(gRank + 1));
  {
    strata::test::Twins d(gCuda, gDeviceStream, stream);
    OK(strataMoeCombine(h, d(rows), H, dtype, nullptr, d(out), d.stream()));
  }
  if (stream) OK(strataStreamSynchronize(stream));
  for (size_t t = 0; t < tokens; ++t) {
    std::vector<bool> ranks(gRanks, false);
    for (int j = 0; j < k; ++j)
      if (mine[t * k + j] >= 0) ranks[mine[t * k + j] / s.localExperts] = true;
    float factor = 0;
    for (int d = 0; d < gRanks; ++d) factor += ranks[d] ? static_cast<float>(d + 1) : 0.0f;
    for (size_t c = 0; c < H; ++c) {
      float want = factor * load(dtype, x, t * H + c);
      CHECK(close(dtype, load(dtype, out, t * H + c), want), "%s: unweighted combine out[%zu][%zu] = %g want %g", s.name, t, c,
            load(dtype, out, t * H + c), want);
    }
  }
  // The same combine in place (out over expertOut): rows a rank returns to itself may be summed
  // where they lie, so the library must not overwrite them first.
  std::vector<unsigned char> both(std::max(R, tokens) * H * es + 1);
  std::memcpy(both.data(), rows.data(), R * H * es);
  {
    strata::test::Twins d(gCuda, gDeviceStream, stream);
    OK(strataMoeCombine(h, d(both), H, dtype, nullptr, d(both), d.stream()));
  }
  if (stream) OK(strataStreamSynchronize(stream));
  CHECK(std::memcmp(both.data(), out.data(), tokens * H * es) == 0, "%s: combine in place differs from out of place", s.name);
  // Dispatch backward: the gradient rows are the (d + 1)-scaled rows, weight gradients 10 * d + j.
  std::vector<float> gradRecvW(R * k + 1), gradW(tokens * k + 1);
  for (size_t i = 0; i < R; ++i)
    for (int j = 0; j < k; ++j) gradRecvW[i * k + j] = static_cast<float>(10 * gRank + j);
  std::vector<unsigned char> gradX(tokens * H * es + 1);
  guardTail(gradX, tokens * H * es);
  guardTail(gradW, tokens * k);
  {
    strata::test::Twins d(gCuda, gDeviceStream, stream);
    OK(strataMoeDispatchBackward(h, d(rows), H, dtype, d(gradRecvW), d(gradX), d(gradW), d.stream()));
  }
  if (stream) OK(strataStreamSynchronize(stream));
  CHECK(tailIntact(gradX, tokens * H * es) && tailIntact(gradW, tokens * k), "%s: dispatch backward wrote past its outputs",
        s.name);
  CHECK(std::memcmp(gradX.data(), out.data(), tokens * H * es) == 0, "%s: dispatch backward differs from the unweighted combine", s.name);
  for (size_t t = 0; t < tokens; ++t)
    for (int j = 0; j < k; ++j) {
      int64_t e = mine[t * k + j];
      float want = e >= 0 ? static_cast<float>(10 * (e / s.localExperts) + j) : 0.0f;
      CHECK(gradW[t * k + j] == want, "%s: gradTopkWeights[%zu][%d] = %g want %g", s.name, t, j, gradW[t * k + j], want);
    }
  OK(strataMoeHandleDestroy(h));
}

// The tiny model the gradient check differentiates: dispatch, experts that scale a row by
// (1 + local id) / 2 per top-k slot, weighted combine.
struct Forward {
  std::vector<float> recvX, recvW, slots, out;
  std::vector<int32_t> ids;
};

Forward runForward(const Scenario& s, strataMoeHandle_t h, const std::vector<float>& x, const std::vector<float>& w) {
  strataMoeHandleInfo info;
  OK(strataMoeHandleGetInfo(h, &info));
  const size_t H = s.hidden, R = info.numRecvTokens;
  const int k = s.topK;
  Forward f{std::vector<float>(R * H + 1), std::vector<float>(R * k + 1), std::vector<float>(R * k * H + 1),
            std::vector<float>(info.numTokens * H + 1), std::vector<int32_t>(R * k + 1)};
  OK(strataMoeDispatch(h, x.data(), nullptr, H, strataFloat32, w.data(), f.recvX.data(), nullptr, f.ids.data(), f.recvW.data(), nullptr));
  for (size_t i = 0; i < R; ++i)
    for (int j = 0; j < k; ++j)
      for (size_t c = 0; c < H; ++c) {
        int32_t id = f.ids[i * k + j];
        f.slots[(i * k + j) * H + c] = id >= 0 ? f.recvX[i * H + c] * (1 + id) / 2.0f : 0.0f;
      }
  OK(strataMoeCombine(h, f.slots.data(), H, strataFloat32, f.recvW.data(), f.out.data(), nullptr));
  return f;
}

// dL/d out[t][c]: the loss is sum over ranks and tokens of <c_t, out[t]>, linear in x and in w
// separately, so a finite difference is exact up to float32 rounding.
float lossWeight(size_t t, size_t c) { return static_cast<float>((t + c) % 5) - 2.0f; }

double lossOf(const Scenario& s, strataMoeHandle_t h, const std::vector<float>& x, const std::vector<float>& w) {
  Forward f = runForward(s, h, x, w);
  const size_t tokens = (f.out.size() - 1) / s.hidden;
  double local = 0;
  for (size_t t = 0; t < tokens; ++t)
    for (size_t c = 0; c < s.hidden; ++c) local += static_cast<double>(f.out[t * s.hidden + c]) * lossWeight(t, c);
  double total = 0;
  OK(strataAllReduce(&local, &total, 1, strataFloat64, strataSum, gComm, nullptr));
  return total;
}

void checkGradients() {
  Scenario s{"finite differences", Routing::WithGaps, 2, 2, 0.0f, 1, 8, 11};
  const size_t H = s.hidden, tokens = tokensOf(s, gRank);
  const int k = s.topK, experts = s.localExperts * gRanks;
  std::vector<int64_t> idx = routeOf(s, gRank);
  strataMoeHandle_t h;
  OK(strataMoeHandleCreate(idx.data(), tokens, k, experts, nullptr, gComm, &h));
  strataMoeHandleInfo info;
  OK(strataMoeHandleGetInfo(h, &info));
  const size_t R = info.numRecvTokens;
  std::vector<float> x(tokens * H + 1), w(tokens * k + 1);
  for (size_t t = 0; t < tokens; ++t) {
    for (size_t c = 0; c < H; ++c) x[t * H + c] = xValue(gRank, t, c);
    for (int j = 0; j < k; ++j) w[t * k + j] = weightValue(gRank, t, j);
  }
  // Analytic gradient through the API's backward passes.
  Forward fwd = runForward(s, h, x, w);
  std::vector<float> gradOut(tokens * H + 1);
  for (size_t t = 0; t < tokens; ++t)
    for (size_t c = 0; c < H; ++c) gradOut[t * H + c] = lossWeight(t, c);
  std::vector<float>& recvW = fwd.recvW;
  std::vector<float>& slots = fwd.slots;
  std::vector<int32_t>& ids = fwd.ids;
  std::vector<float> gradSlots(R * k * H + 1), gradRecvW(R * k + 1), gradRecvX(R * H + 1, 0.0f), gradX(tokens * H + 1), gradW(tokens * k + 1);
  OK(strataMoeCombineBackward(h, gradOut.data(), H, strataFloat32, recvW.data(), slots.data(), gradSlots.data(), gradRecvW.data(), nullptr));
  for (size_t i = 0; i < R; ++i)  // back through the experts
    for (int j = 0; j < k; ++j)
      for (size_t c = 0; c < H; ++c)
        if (ids[i * k + j] >= 0) gradRecvX[i * H + c] += gradSlots[(i * k + j) * H + c] * (1 + ids[i * k + j]) / 2.0f;
  OK(strataMoeDispatchBackward(h, gradRecvX.data(), H, strataFloat32, gradRecvW.data(), gradX.data(), gradW.data(), nullptr));

  // Finite differences: every rank perturbs one of its own entries at a time, in lockstep (the
  // loss is collective); rank q's turn is a loop every rank runs.
  const float eps = 0.25f;
  for (int q = 0; q < gRanks; ++q) {
    size_t qTokens = tokensOf(s, q);
    for (size_t e = 0; e < qTokens * H; e += 3) {
      std::vector<float> xp = x;
      if (gRank == q) xp[e] += eps;
      double diff = (lossOf(s, h, xp, w) - lossOf(s, h, x, w)) / eps;
      if (gRank == q) CHECK(std::fabs(diff - gradX[e]) < 1e-3 * std::fmax(1.0, std::fabs(diff)), "d/dx[%zu]: finite difference %g, backward %g", e, diff, gradX[e]);
    }
    for (size_t e = 0; e < qTokens * k; ++e) {
      std::vector<float> wp = w;
      if (gRank == q) wp[e] += eps;
      double diff = (lossOf(s, h, x, wp) - lossOf(s, h, x, w)) / eps;
      if (gRank == q) CHECK(std::fabs(diff - gradW[e]) < 1e-3 * std::fmax(1.0, std::fabs(diff)), "d/dw[%zu]: finite difference %g, backward %g", e, diff, gradW[e]);
    }
  }
  OK(strataMoeHandleDestroy(h));
}

// Inside a group, MoE operations run at strataGroupEnd in call order with the communicator's
// collectives; the handle may be destroyed before the group ends (queued work keeps it). The
// same on a host stream. Unweighted combine of the dispatched rows themselves gives x times the
// number of ranks each token reached.
void checkGroupedAndQueued(const Scenario& s, strataStream_t stream) {
  const int k = s.topK;
  const size_t H = s.hidden, tokens = tokensOf(s, gRank);
  std::vector<int64_t> idx = routeOf(s, gRank);
  strataMoeHandle_t h;
  OK(strataMoeHandleCreate(idx.data(), tokens, k, s.localExperts * gRanks, nullptr, gComm, &h));
  strataMoeHandleInfo info;
  OK(strataMoeHandleGetInfo(h, &info));
  std::vector<float> x(tokens * H + 1), recvX(info.numRecvTokens * H + 1), out(tokens * H + 1, -1.0f);
  for (size_t t = 0; t < tokens; ++t)
    for (size_t c = 0; c < H; ++c) x[t * H + c] = xValue(gRank, t, c);
  int one = 1, sum = 0;
  OK(strataGroupStart());
  OK(strataMoeDispatch(h, x.data(), nullptr, H, strataFloat32, nullptr, recvX.data(), nullptr, nullptr, nullptr, stream));
  OK(strataAllReduce(&one, &sum, 1, strataInt32, strataSum, gComm, stream));
  OK(strataMoeCombine(h, recvX.data(), H, strataFloat32, nullptr, out.data(), stream));
  OK(strataMoeHandleDestroy(h));
  OK(strataGroupEnd());
  if (stream) OK(strataStreamSynchronize(stream));
  CHECK(sum == gRanks, "grouped MoE: allreduce in the group gave %d want %d", sum, gRanks);
  std::vector<int64_t> mine = keptOf(s, gRank);
  for (size_t t = 0; t < tokens; ++t) {
    std::vector<bool> reached(static_cast<size_t>(gRanks), false);
    for (int j = 0; j < k; ++j)
      if (mine[t * k + j] >= 0) reached[static_cast<size_t>(mine[t * k + j] / s.localExperts)] = true;
    float ranks = static_cast<float>(std::count(reached.begin(), reached.end(), true));
    for (size_t c = 0; c < H; ++c) {
      CHECK(out[t * H + c] == ranks * x[t * H + c], "grouped MoE%s: out[%zu][%zu] = %g want %g", stream ? " on a stream" : "",
            t, c, out[t * H + c], ranks * x[t * H + c]);
    }
  }
}

void expectError(strataResult_t got, strataResult_t want, const char* fragment, const char* what) {
  const char* text = strataGetLastError(nullptr);  // this thread's last error (a dead handle has no comm)
  CHECK(got == want && std::strstr(text, fragment) != nullptr, "%s: got %d '%s', want %d with '%s'", what, got, text, want, fragment);
}

void checkErrors() {
  int64_t idx[4] = {0, 1, 1, -1};
  strataMoeHandle_t h = nullptr;
  int experts = 2 * gRanks;
  if (gRanks > 1) {
    expectError(strataMoeHandleCreate(idx, 2, 2, gRanks + 1, nullptr, gComm, &h), strataInvalidArgument, "do not split evenly",
                "experts not divisible");
  }
  int64_t bad[2] = {0, static_cast<int64_t>(experts)};
  expectError(strataMoeHandleCreate(bad, 1, 2, experts, nullptr, gComm, &h), strataInvalidArgument, "topkIdx[0][1]", "expert out of range");
  int64_t twice[2] = {1, 1};
  expectError(strataMoeHandleCreate(twice, 1, 2, experts, nullptr, gComm, &h), strataInvalidArgument, "twice", "duplicate expert");
  expectError(strataMoeHandleCreate(idx, 2, 0, experts, nullptr, gComm, &h), strataInvalidArgument, "topK", "topK 0");
  strataMoeConfig cfg = STRATA_MOE_CONFIG_INIT;
  cfg.hierarchical = 2;
  expectError(strataMoeHandleCreate(idx, 2, 2, experts, &cfg, gComm, &h), strataInvalidArgument, "hierarchical", "hierarchical 2");
  cfg = STRATA_MOE_CONFIG_INIT;
  cfg.expertAlignment = 0;
  expectError(strataMoeHandleCreate(idx, 2, 2, experts, &cfg, gComm, &h), strataInvalidArgument, "expertAlignment", "alignment 0");
  // A good handle (every rank must create it: it is collective), then bad calls on it.
  OK(strataMoeHandleCreate(idx, 2, 2, experts, nullptr, gComm, &h));
  float rows[64] = {};
  expectError(strataMoeDispatch(h, nullptr, nullptr, 4, strataFloat32, nullptr, rows, nullptr, nullptr, nullptr, nullptr),
              strataInvalidArgument, "x is NULL", "NULL x");
  expectError(strataMoeDispatch(h, rows, nullptr, 0, strataFloat32, nullptr, rows, nullptr, nullptr, nullptr, nullptr),
              strataInvalidArgument, "hidden is 0", "hidden 0");
  expectError(strataMoeDispatch(h, rows, nullptr, 4, strataInt32, nullptr, rows, nullptr, nullptr, nullptr, nullptr),
              strataInvalidArgument, "dtype", "int32 rows");
  expectError(strataMoeDispatch(h, rows, nullptr, 4, strataFloat8e4m3, nullptr, rows, nullptr, nullptr, nullptr, nullptr),
              strataInvalidArgument, "xScales", "fp8 without scales");
  expectError(strataMoeCombine(h, rows, 4, strataFloat8e4m3, nullptr, rows, nullptr), strataInvalidArgument, "sums need", "fp8 combine");
  OK(strataMoeHandleDestroy(h));
  expectError(strataMoeCombine(h, rows, 4, strataFloat32, nullptr, rows, nullptr), strataInvalidArgument, "not a live MoE handle",
              "destroyed handle");
  expectError(strataMoeHandleDestroy(h), strataInvalidArgument, "not a live MoE handle", "destroyed twice");
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  if (gCudaLike.load()) {
    gCuda = &gCudaLike;
    gCuda->setDevice(0);  // before the communicator: it binds to the current device
    gDeviceStream = gCuda->streamCreate();
  }
  OK(strataCommInitFromEnv(&gComm));
  OK(strataCommUserRank(gComm, &gRank));
  OK(strataCommCount(gComm, &gRanks));
  {
    // Which ranks share a host: allgather each rank's host key.
    char key[64] = {};
    const char* id = std::getenv("STRATA_HOSTID");
    if (id) std::snprintf(key, sizeof(key), "%s", id);
    else gethostname(key, sizeof(key) - 1);
    std::vector<char> keys(64 * static_cast<size_t>(gRanks));
    OK(strataAllGather(key, keys.data(), 64, strataUint8, gComm, nullptr));
    std::vector<std::string> distinct;
    for (int r = 0; r < gRanks; ++r) {
      std::string k(keys.data() + 64 * r);
      auto it = std::find(distinct.begin(), distinct.end(), k);
      gHostOf.push_back(static_cast<int>(it - distinct.begin()));
      if (it == distinct.end()) distinct.push_back(k);
    }
    gHosts = static_cast<int>(distinct.size());
  }
  const char* forced = std::getenv("STRATA_MOE_HIERARCHICAL");
  gForwarding = forced ? std::strcmp(forced, "0") != 0 : gHosts > 1;
  int localForK8 = (8 + gRanks - 1) / gRanks;
  std::vector<Scenario> scenarios = {
      {"random k=2", Routing::Random, 2, 2, 0.0f, 1, 40, 1},
      {"random k=1", Routing::Random, 1, 3, 0.0f, 1, 16, 2},
      {"random k=8", Routing::Random, 8, localForK8 < 2 ? 2 : localForK8, 0.0f, 1, 24, 3},
      {"skewed", Routing::Skewed, 4, localForK8 < 4 ? 4 : localForK8, 0.0f, 1, 16, 4},
      {"gaps k=4", Routing::WithGaps, 4, 2, 0.0f, 4, 130, 5},
      {"capacity 0.5", Routing::Random, 3, 2, 0.5f, 2, 16, 6},
      {"skewed capacity 1.0", Routing::Skewed, 2, 2, 1.0f, 1, 8, 8},
      {"gaps k=5", Routing::WithGaps, 5, localForK8 < 2 ? 2 : localForK8, 0.0f, 1, 12, 9},
      {"random k=6", Routing::Random, 6, localForK8 < 2 ? 2 : localForK8, 0.0f, 1, 12, 10},
      {"random k=7", Routing::Random, 7, localForK8 < 2 ? 2 : localForK8, 1.5f, 1, 12, 12},
  };
  for (const Scenario& s : scenarios) {
    if (s.topK > s.localExperts * gRanks) continue;  // k distinct experts do not exist
    checkLayout(s);
    for (strataDataType_t dtype : {strataFloat32, strataBfloat16, strataFloat16, strataFloat8e4m3}) {
      if (quick && dtype == strataFloat16) continue;
      checkExchange(s, dtype, nullptr);
    }
  }
  if (gCuda == nullptr) {
    strataStream_t stream;
    OK(strataStreamCreate(&stream));
    checkExchange(scenarios[0], strataBfloat16, stream);
    checkGroupedAndQueued(scenarios[0], nullptr);
    checkGroupedAndQueued(scenarios[0], stream);
    OK(strataStreamDestroy(stream));
  }
  checkGradients();
  checkErrors();
  int failures = gFailures, total = 0;
  OK(strataAllReduce(&failures, &total, 1, strataInt32, strataSum, gComm, nullptr));
  OK(strataCommDestroy(gComm));
  if (gCuda != nullptr) gCuda->streamDestroy(gDeviceStream);
  if (gRank == 0) {
    std::printf("moe_exchange: %d ranks on %d host(s), %s dispatch%s, %s\n", gRanks, gHosts, gForwarding ? "forwarded" : "direct",
                gCuda != nullptr ? ", device memory" : "", total == 0 ? "all checks passed" : "FAILED");
  }
  return total == 0 ? 0 : 1;
}
