// C entry points of the MoE API (include/strata/strata_moe.h): argument checks with messages that
// name the argument, handle bookkeeping (a destroyed or made-up handle is an error, not a crash),
// and NULL-stream vs host-stream execution. The data moves are in src/moe.
#include <strata/strata_moe.h>

#include <functional>
#include <mutex>
#include <map>
#include <memory>
#include <string>

#include "src/api/device_submit.h"
#include "src/api/group_state.h"
#include "src/api/handles.h"
#include "src/common/datatype.h"
#include "src/common/function_ref.h"
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

Status needPointer(const char* fn, const char* name, const void* p, size_t rows) {
  if (p == nullptr && rows > 0) return invalidArgument(std::string(fn) + ": " + name + " is NULL but has " + std::to_string(rows) + " rows");
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
// communicator's other calls. On device memory (`regionsOf`, on a communicator that takes it) it
// goes the device way: staged, run by the device proxy in stream order, with `restage` making the
// arguments' twin on the staged copies.
template <typename Args>
strataResult_t submitMoe(const LiveMoe& live, strataStream_t stream, const char* fn,
                         Status (*operation)(const strataMoeHandle&, Communicator&, const Args&), const Args& args,
                         FunctionRef<std::vector<DeviceRegion>()> regionsOf,
                         Args (*restage)(const Args&, const std::function<void*(const void*)>&)) {
  // A stream that is not a Strata host stream is a cudaStream_t where the communicator takes
  // device memory, and an error otherwise.
  auto s = resolveStream(stream, fn);
  Communicator* device = live.comm->deviceRuntime() != nullptr ? live.comm.get() : nullptr;
  if (device != nullptr) {  // only here: a host communicator's call allocates nothing
    std::vector<DeviceRegion> regions = regionsOf();
    auto onDevice = onDeviceMemory(*device, fn, regions, s.ok() && s.value() != nullptr, !s.ok());
    if (!onDevice.ok()) return report(onDevice.status(), device);
    if (onDevice.value()) {
      MoeRef handle = live.handle;
      StagedForm form{regions, [handle, device, operation, args, restage](const std::function<void*(const void*)>& staged) {
                        Args twin = restage(args, staged);
                        return Operation(DeferredCall{[handle, device, operation, twin] { return operation(*handle, *device, twin); }});
                      }};
      return submitOnDevice(live.comm, stream, std::move(form));
    }
  }
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
  MOE_CHECK(live, needPointer(fn, "x", x, tokens));
  MOE_CHECK(live, needPointer(fn, "recvX", recvX, recv));
  const bool fp8 = dtype == strataFloat8e4m3;
  if (fp8) {
    MOE_CHECK(live, needPointer(fn, "xScales (float8e4m3 needs one scale per 128 elements)", xScales, tokens));
    MOE_CHECK(live, needPointer(fn, "recvScales (float8e4m3 needs one scale per 128 elements)", recvScales, recv));
  } else if (xScales != nullptr || recvScales != nullptr) {
    return report(invalidArgument(std::string(fn) + ": xScales/recvScales are for float8e4m3 only; pass NULL"), live.comm.get());
  }
  moe::DispatchArgs args{x, fp8 ? xScales : nullptr, hidden, dtype, topkWeights, recvX, recvScales, recvTopkIdx, recvTopkWeights};
  const size_t rowBytes = hidden * dataTypeSize(dtype), k = static_cast<size_t>(handle->routing.topK);
  const size_t scaleBytes = fp8 ? moe::scalesPerRow(hidden) * sizeof(float) : 0;
  auto regions = [&]() -> std::vector<DeviceRegion> {
    return {
      {"x", x, tokens * rowBytes, true, false, {}},
      {"xScales", args.xScales, tokens * scaleBytes, true, false, {}},
      {"topkWeights", topkWeights, topkWeights ? tokens * k * sizeof(float) : 0, true, false, {}},
      {"recvX", recvX, recv * rowBytes, false, true, {}},
      {"recvScales", args.recvScales, recv * scaleBytes, false, true, {}},
      {"recvTopkIdx", recvTopkIdx, recvTopkIdx ? recv * k * sizeof(int32_t) : 0, false, true, {}},
      {"recvTopkWeights", recvTopkWeights, recvTopkWeights ? recv * k * sizeof(float) : 0, false, true, {}}};
  };
  auto restage = [](const moe::DispatchArgs& a, const std::function<void*(const void*)>& staged) {
    moe::DispatchArgs t = a;
    t.x = staged(a.x);
    t.xScales = static_cast<const float*>(staged(a.xScales));
    t.topkWeights = static_cast<const float*>(staged(a.topkWeights));
    t.recvX = staged(a.recvX);
    t.recvScales = static_cast<float*>(staged(a.recvScales));
    t.recvTopkIdx = static_cast<int32_t*>(staged(a.recvTopkIdx));
    t.recvTopkWeights = static_cast<float*>(staged(a.recvTopkWeights));
    return t;
  };
  return submitMoe(live, stream, fn, moe::dispatch, args, regions, +restage);
  STRATA_API_END
}

strataResult_t strataMoeCombine(strataMoeHandle_t handle, const void* expertOut, size_t hidden, strataDataType_t dtype,
                                const float* recvTopkWeights, void* out, strataStream_t stream) {
  STRATA_API_BEGIN
  const char* fn = "strataMoeCombine";
  LiveMoe live;
  if (strataResult_t r = beginRowsCall(handle, fn, hidden, dtype, false, &live); r != strataSuccess) return r;
  MOE_CHECK(live, needPointer(fn, "expertOut", expertOut, handle->numRecv));
  MOE_CHECK(live, needPointer(fn, "out", out, handle->routing.numTokens));
  moe::CombineArgs args{expertOut, hidden, dtype, recvTopkWeights, out};
  const size_t rowBytes = hidden * dataTypeSize(dtype), k = static_cast<size_t>(handle->routing.topK);
  const size_t recv = handle->numRecv, tokens = handle->routing.numTokens;
  // Weighted, expertOut holds topK slots per received row.
  auto regions = [&]() -> std::vector<DeviceRegion> {
    return {
      {"expertOut", expertOut, (recvTopkWeights ? recv * k : recv) * rowBytes, true, false, {}},
      {"recvTopkWeights", recvTopkWeights, recvTopkWeights ? recv * k * sizeof(float) : 0, true, false, {}},
      {"out", out, tokens * rowBytes, false, true, {}}};
  };
  auto restage = [](const moe::CombineArgs& a, const std::function<void*(const void*)>& staged) {
    moe::CombineArgs t = a;
    t.expertOut = staged(a.expertOut);
    t.recvTopkWeights = static_cast<const float*>(staged(a.recvTopkWeights));
    t.out = staged(a.out);
    return t;
  };
  return submitMoe(live, stream, fn, moe::combine, args, regions, +restage);
  STRATA_API_END
}

strataResult_t strataMoeDispatchBackward(strataMoeHandle_t handle, const void* gradRecvX, size_t hidden, strataDataType_t dtype,
                                         const float* gradRecvTopkWeights, void* gradX, float* gradTopkWeights,
                                         strataStream_t stream) {
  STRATA_API_BEGIN
  const char* fn = "strataMoeDispatchBackward";
  LiveMoe live;
  if (strataResult_t r = beginRowsCall(handle, fn, hidden, dtype, false, &live); r != strataSuccess) return r;
  MOE_CHECK(live, needPointer(fn, "gradRecvX", gradRecvX, handle->numRecv));
  MOE_CHECK(live, needPointer(fn, "gradX", gradX, handle->routing.numTokens));
  moe::DispatchBackwardArgs args{gradRecvX, hidden, dtype, gradRecvTopkWeights, gradX, gradTopkWeights};
  const size_t rowBytes = hidden * dataTypeSize(dtype), k = static_cast<size_t>(handle->routing.topK);
  const size_t recv = handle->numRecv, tokens = handle->routing.numTokens;
  auto regions = [&]() -> std::vector<DeviceRegion> {
    return {
      {"gradRecvX", gradRecvX, recv * rowBytes, true, false, {}},
      {"gradRecvTopkWeights", gradRecvTopkWeights, gradRecvTopkWeights ? recv * k * sizeof(float) : 0, true, false, {}},
      {"gradX", gradX, tokens * rowBytes, false, true, {}},
      {"gradTopkWeights", gradTopkWeights, gradTopkWeights ? tokens * k * sizeof(float) : 0, false, true, {}}};
  };
  auto restage = [](const moe::DispatchBackwardArgs& a, const std::function<void*(const void*)>& staged) {
    moe::DispatchBackwardArgs t = a;
    t.gradRecvX = staged(a.gradRecvX);
    t.gradRecvTopkWeights = static_cast<const float*>(staged(a.gradRecvTopkWeights));
    t.gradX = staged(a.gradX);
    t.gradTopkWeights = static_cast<float*>(staged(a.gradTopkWeights));
    return t;
  };
  return submitMoe(live, stream, fn, moe::dispatchBackward, args, regions, +restage);
  STRATA_API_END
}

strataResult_t strataMoeCombineBackward(strataMoeHandle_t handle, const void* gradOut, size_t hidden, strataDataType_t dtype,
                                        const float* recvTopkWeights, const void* expertOut, void* gradExpertOut,
                                        float* gradRecvTopkWeights, strataStream_t stream) {
  STRATA_API_BEGIN
  const char* fn = "strataMoeCombineBackward";
  LiveMoe live;
  if (strataResult_t r = beginRowsCall(handle, fn, hidden, dtype, false, &live); r != strataSuccess) return r;
  MOE_CHECK(live, needPointer(fn, "gradOut", gradOut, handle->routing.numTokens));
  MOE_CHECK(live, needPointer(fn, "gradExpertOut", gradExpertOut, handle->numRecv));
  if (gradRecvTopkWeights != nullptr && (recvTopkWeights == nullptr || expertOut == nullptr)) {
    return report(invalidArgument(std::string(fn) + ": gradRecvTopkWeights needs recvTopkWeights and expertOut (weighted combine)"), live.comm.get());
  }
  moe::CombineBackwardArgs args{gradOut, hidden, dtype, recvTopkWeights, expertOut, gradExpertOut, gradRecvTopkWeights};
  const size_t rowBytes = hidden * dataTypeSize(dtype), k = static_cast<size_t>(handle->routing.topK);
  const size_t recv = handle->numRecv, tokens = handle->routing.numTokens;
  // Weighted (recvTopkWeights given): the gradients of topK slots per received row.
  const size_t slots = recvTopkWeights ? recv * k : recv;
  auto regions = [&]() -> std::vector<DeviceRegion> {
    return {
      {"gradOut", gradOut, tokens * rowBytes, true, false, {}},
      {"recvTopkWeights", recvTopkWeights, recvTopkWeights ? recv * k * sizeof(float) : 0, true, false, {}},
      {"expertOut", expertOut, recvTopkWeights && expertOut ? recv * k * rowBytes : 0, true, false, {}},
      {"gradExpertOut", gradExpertOut, slots * rowBytes, false, true, {}},
      {"gradRecvTopkWeights", gradRecvTopkWeights, gradRecvTopkWeights ? recv * k * sizeof(float) : 0, false, true, {}}};
  };
  auto restage = [](const moe::CombineBackwardArgs& a, const std::function<void*(const void*)>& staged) {
    moe::CombineBackwardArgs t = a;
    t.gradOut = staged(a.gradOut);
    t.recvTopkWeights = static_cast<const float*>(staged(a.recvTopkWeights));
    t.expertOut = staged(a.expertOut);
    t.gradExpertOut = staged(a.gradExpertOut);
    t.gradRecvTopkWeights = static_cast<float*>(staged(a.gradRecvTopkWeights));
    return t;
  };
  return submitMoe(live, stream, fn, moe::combineBackward, args, regions, +restage);
  STRATA_API_END
}
