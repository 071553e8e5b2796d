// C entry points of the MoE API (include/strata/strata_moe.h): argument checks with messages that
// name the argument, handle bookkeeping (a destroyed or made-up handle is an error, not a crash),
// and NULL-stream vs host-stream execution. The data moves are in src/moe.
#include <strata/strata_moe.h>

#include <functional>
#include <mutex>
#include <map>
#include <memory>
#include <string>

#include "src/api/group_state.h"
#include "src/api/handles.h"
#include "src/moe/moe_exchange.h"
#include "src/moe/moe_handle.h"
#include "src/moe/moe_routing.h"

namespace strata::api {
namespace {

using MoeRef = std::shared_ptr<strataMoeHandle>;

// Live handles. A call holds a reference to its handle until it has run (in a group or on a
// host stream that may be later), so destroying the handle meanwhile frees nothing in use.
// Never destroyed: handles still live at exit must not be torn down by static destructors.
std::mutex& moeMutex() {
  static auto* m = new std::mutex();
  return *m;
}
std::map<strataMoeHandle_t, MoeRef>& moeHandles() {
  static auto* handles = new std::map<strataMoeHandle_t, MoeRef>();
  return *handles;
}

struct LiveMoe {
  MoeRef handle;
  CommRef comm;
};

// The handle and its communicator, both still alive.
Result<LiveMoe> liveMoe(strataMoeHandle_t handle, const char* fn) {
  if (handle == nullptr) return invalidArgument(std::string(fn) + ": handle is NULL");
  LiveMoe live;
  {
    std::lock_guard<std::mutex> lock(moeMutex());
    auto it = moeHandles().find(handle);
    if (it == moeHandles().end()) {
      return invalidArgument(std::string(fn) + ": handle is not a live MoE handle (destroyed, or never created)");
    }
    live.handle = it->second;
  }
  auto comm = liveComm(live.handle->comm, fn);
  if (!comm.ok()) return comm.status();
  if (live.handle->core.lock() != comm.value()) {
    return invalidArgument(std::string(fn) + ": the handle's communicator was destroyed (a new one reuses its address); "
                           "create the handle again on the new communicator");
  }
  live.comm = comm.value();
  return live;
}

Status checkDtype(const char* fn, strataDataType_t dtype, bool fp8Allowed) {
  if (dtype == strataFloat32 || dtype == strataBfloat16 || dtype == strataFloat16) return Status::ok();
  if (dtype == strataFloat8e4m3 && fp8Allowed) return Status::ok();
  return invalidArgument(std::string(fn) + ": dtype " + std::to_string(static_cast<int>(dtype)) +
                         (fp8Allowed ? " is not float32, bfloat16, float16 or float8e4m3"
                                     : " is not float32, bfloat16 or float16 (sums need a wider type than fp8)"));
}

// A buffer of `rows` rows: not NULL when there are rows, and host memory (the MoE exchange takes
// no device buffers yet; a device pointer here must never reach the CPU).
Status needPointer(const LiveMoe& live, const char* fn, const char* name, const void* p, size_t rows) {
  if (p == nullptr && rows > 0) return invalidArgument(std::string(fn) + ": " + name + " is NULL but has " + std::to_string(rows) + " rows");
  const DeviceRuntime* device = live.comm->deviceRuntime();
  if (device != nullptr && p != nullptr && rows > 0) {
    int ordinal = -1;
    auto kind = device->kindOf(p, (std::string(fn) + ": " + name).c_str(), &ordinal);
    if (!kind.ok()) return kind.status();
    if (kind.value() != strataPointerHost) {
      return invalidArgument(std::string(fn) + ": " + name + " is device memory; MoE dispatch and combine take host buffers in this version");
    }
  }
  return Status::ok();
}

Status checkHidden(const char* fn, size_t hidden) {
  if (hidden == 0) return invalidArgument(std::string(fn) + ": hidden is 0");
  if (hidden > (size_t{1} << 24)) return invalidArgument(std::string(fn) + ": hidden " + std::to_string(hidden) + " exceeds 2^24");
  return Status::ok();
}

// The checks every data call starts with: a live handle, a hidden size, a row type.
strataResult_t beginRowsCall(strataMoeHandle_t handle, const char* fn, size_t hidden, strataDataType_t dtype, bool fp8Allowed,
                             LiveMoe* live) {
  auto found = liveMoe(handle, fn);
  if (!found.ok()) return report(found.status());
  *live = found.value();
  Status st = checkHidden(fn, hidden);
  if (st.isOk()) st = checkDtype(fn, dtype, fp8Allowed);
  return report(st, live->comm.get());
}

// Runs now (NULL stream), at the end of the open group, or on the host stream, in order with the
// communicator's other calls.
template <typename Args>
strataResult_t submitMoe(const LiveMoe& live, strataStream_t stream, const char* fn,
                         Status (*operation)(const strataMoeHandle&, Communicator&, const Args&), const Args& args) {
  auto s = resolveStream(stream, fn);
  if (!s.ok()) return report(s.status(), live.comm.get());
  Communicator* comm = live.comm.get();  // kept alive by the reference submit() holds with the work
  if (!s.value() && groupDepth() == 0) {
    return runBlocking(live.comm, [&] { return operation(*live.handle, *comm, args); });
  }
  MoeRef handle = live.handle;
  return submit(live.comm, s.value(), DeferredCall{[handle, comm, operation, args] { return operation(*handle, *comm, args); }});
}

#define MOE_CHECK(live, expr)                             \
  do {                                                    \
    ::strata::Status st_ = (expr);                        \
    if (!st_.isOk()) return ::strata::api::report(st_, live.comm.get()); \
  } while (0)

}  // namespace
}  // namespace strata::api

using namespace strata;
using namespace strata::api;

strataResult_t strataMoeLayout(const int64_t* topkIdx, size_t numTokens, int topK, int numExperts, strataComm_t comm,
                               size_t* tokensPerRank, size_t* tokensPerHost, size_t* tokensPerExpert, uint8_t* isTokenInRank,
                               int* numHosts) {
  STRATA_API_BEGIN
  const char* fn = "strataMoeLayout";
  auto c = liveComm(comm, fn);
  if (!c.ok()) return report(c.status());
  Communicator* impl = c.value().get();
  moe::RoutingRequest request{topkIdx, numTokens, topK, numExperts, impl->nranks(), 0.0f};
  auto routed = moe::routeTokens(request, fn);
  if (!routed.ok()) return report(routed.status(), impl);
  const moe::Routing& r = routed.value();
  const Hierarchy& hierarchy = impl->hierarchy();
  const size_t nranks = static_cast<size_t>(r.nranks);
  if (numHosts) *numHosts = static_cast<int>(hierarchy.hosts().size());
  if (tokensPerRank) {
    for (size_t d = 0; d < nranks; ++d) tokensPerRank[d] = r.tokensTo[d].size();
  }
  if (tokensPerExpert) {
    for (size_t e = 0; e < r.pairsPerExpert.size(); ++e) tokensPerExpert[e] = r.pairsPerExpert[e];
  }
  if (isTokenInRank) {
    std::fill(isTokenInRank, isTokenInRank + numTokens * nranks, 0);
    for (size_t d = 0; d < nranks; ++d) {
      for (uint32_t t : r.tokensTo[d]) isTokenInRank[t * nranks + d] = 1;
    }
  }
  if (tokensPerHost) {
    // A token counts once per host however many of its ranks there are.
    std::vector<int64_t> lastToken(hierarchy.hosts().size(), -1);
    std::fill(tokensPerHost, tokensPerHost + hierarchy.hosts().size(), 0);
    for (size_t t = 0; t < numTokens; ++t) {
      for (int j = 0; j < topK; ++j) {
        int32_t e = r.experts[t * static_cast<size_t>(topK) + static_cast<size_t>(j)];
        if (e < 0) continue;
        size_t host = static_cast<size_t>(hierarchy.hostOf(r.rankOfExpert(e)));
        if (lastToken[host] != static_cast<int64_t>(t)) {
          lastToken[host] = static_cast<int64_t>(t);
          ++tokensPerHost[host];
        }
      }
    }
  }
  return strataSuccess;
  STRATA_API_END
}

strataResult_t strataMoeHandleCreate(const int64_t* topkIdx, size_t numTokens, int topK, int numExperts,
                                     const strataMoeConfig* config, strataComm_t comm, strataMoeHandle_t* handle) {
  STRATA_API_BEGIN
  const char* fn = "strataMoeHandleCreate";
  if (handle == nullptr) return report(invalidArgument(std::string(fn) + ": handle is NULL"));
  *handle = nullptr;
  auto c = liveComm(comm, fn);
  if (!c.ok()) return report(c.status());
  Communicator* impl = c.value().get();
  strataMoeConfig cfg = STRATA_MOE_CONFIG_INIT;
  if (config) cfg = *config;
  if (cfg.expertAlignment < 1) {
    return report(invalidArgument(std::string(fn) + ": config.expertAlignment must be >= 1 (got " +
                                  std::to_string(cfg.expertAlignment) + ")"), impl);
  }
  if (cfg.hierarchical < -1 || cfg.hierarchical > 1) {
    return report(invalidArgument(std::string(fn) + ": config.hierarchical must be -1 (auto), 0 or 1"), impl);
  }
  // Forwarding pays when ranks share hosts: on by default with more than one host.
  const Hierarchy& hierarchy = impl->hierarchy();
  int hierarchical = impl->params().moeHierarchical >= 0 ? impl->params().moeHierarchical : cfg.hierarchical;
  if (hierarchical < 0) hierarchical = hierarchy.hosts().size() > 1 ? 1 : 0;
  moe::HandleOptions options;
  options.expertAlignment = cfg.expertAlignment;
  options.hierarchical = hierarchical == 1;
  for (int r = 0; r < impl->nranks(); ++r) options.hostOfRank.push_back(hierarchy.hostOf(r));
  for (const HostGroup& host : hierarchy.hosts()) options.ranksOfHost.push_back(host.ranks);
  moe::RoutingRequest request{topkIdx, numTokens, topK, numExperts, impl->nranks(), cfg.capacityFactor};
  if (groupDepth() > 0) {
    return report(invalidUsage(std::string(fn) + " inside strataGroupStart/End is not supported (it returns sizes "
                               "the caller needs at once); create handles outside groups"), impl);
  }
  auto created = moe::createHandle(request, options, comm, c.value(), fn);
  if (!created.ok()) return report(created.status(), impl);
  {
    std::lock_guard<std::mutex> lock(moeMutex());
    moeHandles()[created.value()] = MoeRef(created.value());
  }
  *handle = created.value();
  return strataSuccess;
  STRATA_API_END
}

strataResult_t strataMoeHandleGetInfo(strataMoeHandle_t handle, strataMoeHandleInfo* info) {
  STRATA_API_BEGIN
  const char* fn = "strataMoeHandleGetInfo";
  auto c = liveMoe(handle, fn);
  if (!c.ok()) return report(c.status());
  if (info == nullptr) return report(invalidArgument(std::string(fn) + ": info is NULL"), c.value().comm.get());
  info->numTokens = handle->routing.numTokens;
  info->numRecvTokens = handle->numRecv;
  info->topK = handle->routing.topK;
  info->numLocalExperts = handle->routing.localExperts;
  info->droppedPairs = handle->routing.droppedPairs;
  info->hierarchical = handle->forwarding ? 1 : 0;
  info->rowsToOtherHosts = handle->rowsToOtherHosts();
  return strataSuccess;
  STRATA_API_END
}

strataResult_t strataMoeHandleGetExpertCounts(strataMoeHandle_t handle, size_t* recvTokensPerExpert) {
  STRATA_API_BEGIN
  const char* fn = "strataMoeHandleGetExpertCounts";
  auto c = liveMoe(handle, fn);
  if (!c.ok()) return report(c.status());
  if (recvTokensPerExpert == nullptr) {
    return report(invalidArgument(std::string(fn) + ": recvTokensPerExpert is NULL"), c.value().comm.get());
  }
  std::copy(handle->recvPerExpert.begin(), handle->recvPerExpert.end(), recvTokensPerExpert);
  return strataSuccess;
  STRATA_API_END
}

strataResult_t strataMoeHandleDestroy(strataMoeHandle_t handle) {
  STRATA_API_BEGIN
  if (handle == nullptr) return strataSuccess;
  MoeRef owned;
  {
    std::lock_guard<std::mutex> lock(moeMutex());
    auto it = moeHandles().find(handle);
    if (it == moeHandles().end()) {
      return report(invalidArgument("strataMoeHandleDestroy: handle is not a live MoE handle (destroyed twice?)"));
    }
    owned = std::move(it->second);
    moeHandles().erase(it);
  }
  return strataSuccess;  // freed with the last reference: here, or when queued work on it has run
  STRATA_API_END
}

strataResult_t strataMoeDispatch(strataMoeHandle_t handle, const void* x, const float* xScales, size_t hidden,
                                 strataDataType_t dtype, const float* topkWeights, void* recvX, float* recvScales,
                                 int32_t* recvTopkIdx, float* recvTopkWeights, strataStream_t stream) {
  STRATA_API_BEGIN
  const char* fn = "strataMoeDispatch";
  LiveMoe live;
  if (strataResult_t r = beginRowsCall(handle, fn, hidden, dtype, true, &live); r != strataSuccess) return r;
  const size_t tokens = handle->routing.numTokens, recv = handle->numRecv;
  MOE_CHECK(live, needPointer(live, fn, "x", x, tokens));
  MOE_CHECK(live, needPointer(live, fn, "recvX", recvX, recv));
  const bool fp8 = dtype == strataFloat8e4m3;
  if (fp8) {
    MOE_CHECK(live, needPointer(live, fn, "xScales (float8e4m3 needs one scale per 128 elements)", xScales, tokens));
    MOE_CHECK(live, needPointer(live, fn, "recvScales (float8e4m3 needs one scale per 128 elements)", recvScales, recv));
  } else if (xScales != nullptr || recvScales != nullptr) {
    return report(invalidArgument(std::string(fn) + ": xScales/recvScales are for float8e4m3 only; pass NULL"), live.comm.get());
  }
  moe::DispatchArgs args{x, fp8 ? xScales : nullptr, hidden, dtype, topkWeights, recvX, recvScales, recvTopkIdx, recvTopkWeights};
  return submitMoe(live, stream, fn, moe::dispatch, args);
  STRATA_API_END
}

strataResult_t strataMoeCombine(strataMoeHandle_t handle, const void* expertOut, size_t hidden, strataDataType_t dtype,
                                const float* recvTopkWeights, void* out, strataStream_t stream) {
  STRATA_API_BEGIN
  const char* fn = "strataMoeCombine";
  LiveMoe live;
  if (strataResult_t r = beginRowsCall(handle, fn, hidden, dtype, false, &live); r != strataSuccess) return r;
  MOE_CHECK(live, needPointer(live, fn, "expertOut", expertOut, handle->numRecv));
  MOE_CHECK(live, needPointer(live, fn, "out", out, handle->routing.numTokens));
  moe::CombineArgs args{expertOut, hidden, dtype, recvTopkWeights, out};
  return submitMoe(live, stream, fn, moe::combine, args);
  STRATA_API_END
}

strataResult_t strataMoeDispatchBackward(strataMoeHandle_t handle, const void* gradRecvX, size_t hidden, strataDataType_t dtype,
                                         const float* gradRecvTopkWeights, void* gradX, float* gradTopkWeights,
                                         strataStream_t stream) {
  STRATA_API_BEGIN
  const char* fn = "strataMoeDispatchBackward";
  LiveMoe live;
  if (strataResult_t r = beginRowsCall(handle, fn, hidden, dtype, false, &live); r != strataSuccess) return r;
  MOE_CHECK(live, needPointer(live, fn, "gradRecvX", gradRecvX, handle->numRecv));
  MOE_CHECK(live, needPointer(live, fn, "gradX", gradX, handle->routing.numTokens));
  moe::DispatchBackwardArgs args{gradRecvX, hidden, dtype, gradRecvTopkWeights, gradX, gradTopkWeights};
  return submitMoe(live, stream, fn, moe::dispatchBackward, args);
  STRATA_API_END
}

strataResult_t strataMoeCombineBackward(strataMoeHandle_t handle, const void* gradOut, size_t hidden, strataDataType_t dtype,
                                        const float* recvTopkWeights, const void* expertOut, void* gradExpertOut,
                                        float* gradRecvTopkWeights, strataStream_t stream) {
  STRATA_API_BEGIN
  const char* fn = "strataMoeCombineBackward";
  LiveMoe live;
  if (strataResult_t r = beginRowsCall(handle, fn, hidden, dtype, false, &live); r != strataSuccess) return r;
  MOE_CHECK(live, needPointer(live, fn, "gradOut", gradOut, handle->routing.numTokens));
  MOE_CHECK(live, needPointer(live, fn, "gradExpertOut", gradExpertOut, handle->numRecv));
  if (gradRecvTopkWeights != nullptr && (recvTopkWeights == nullptr || expertOut == nullptr)) {
    return report(invalidArgument(std::string(fn) + ": gradRecvTopkWeights needs recvTopkWeights and expertOut (weighted combine)"), live.comm.get());
  }
  moe::CombineBackwardArgs args{gradOut, hidden, dtype, recvTopkWeights, expertOut, gradExpertOut, gradRecvTopkWeights};
  return submitMoe(live, stream, fn, moe::combineBackward, args);
  STRATA_API_END
}
