#include "plugins/nccl_net/net_v11.h"

#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "plugins/nccl_net/connection_setup.h"
#include "plugins/nccl_net/live_objects.h"
#include "plugins/nccl_net/plugin_log.h"
#include "plugins/nccl_net/plugin_state.h"
#if STRATA_HAVE_UCX
#include "transports/ucx/ucx_worker.h"
#endif

namespace strata::nccl_net {
namespace {

// What regMr hands out: the registered range, checked against every isend/irecv that names it.
// A region belongs to its comm: closing the comm frees the regions still registered with it.
struct MemoryRegion {
  const std::byte* base;
  size_t size;
  const void* comm;
};

std::mutex regionsMutex;
std::unordered_set<MemoryRegion*>& regions() {
  static auto* all = new std::unordered_set<MemoryRegion*>;  // never destroyed, as the registry
  return *all;
}

void freeRegionsOf(const void* comm) {
  std::lock_guard<std::mutex> lock(regionsMutex);
  for (auto it = regions().begin(); it != regions().end();) {
    if ((*it)->comm != comm) {
      ++it;
      continue;
    }
    forgetObject(*it);
    delete *it;
    it = regions().erase(it);
  }
}

ncclResult_t codeOf(const Status& status) {
  switch (status.code()) {
    case strataRemoteError:
      return ncclRemoteError;
    case strataSystemError:
    case strataTimeout:
      return ncclSystemError;
    case strataInvalidUsage:
      return ncclInvalidUsage;
    default:
      return ncclInternalError;
  }
}

ncclResult_t fail(const Status& status) {
  NET_PLUGIN_WARN("%s", status.message().c_str());
  return codeOf(status);
}

ncclResult_t misuse(const std::string& what) { return fail(internalError(what)); }

// The plugin's device `dev`, or an error naming the valid range.
Result<const NetDevice*> deviceAt(int dev, const char* call) {
  const PluginState& state = pluginState();
  if (!state.failure.isOk()) return state.failure;
  if (dev < 0 || static_cast<size_t>(dev) >= state.devices.size()) {
    return internalError(std::string(call) + "() was given device " + std::to_string(dev) + "; this plugin has " +
                         std::to_string(state.devices.size()) + " (0.." + std::to_string(state.devices.size() - 1) + ")");
  }
  return &state.devices[static_cast<size_t>(dev)];
}

// The buffer [data, data + size) inside the region `mhandle` names (null when size is 0 and no
// region is given).
Status checkRegistered(void* mhandle, const void* data, size_t size, const char* call) {
  auto* region = liveObject<MemoryRegion>(mhandle, ObjectKind::Memory);
  if (region == nullptr) {
    return internalError(std::string(call) + "() was given a memory handle that regMr() did not return (or one "
                         "already deregistered)");
  }
  const auto* begin = static_cast<const std::byte*>(data);
  if (size > 0 && (begin < region->base || begin + size > region->base + region->size)) {
    return internalError(std::string(call) + "() of " + std::to_string(size) +
                         " bytes reaches outside the memory its handle registered");
  }
  return Status::ok();
}

// Ends a comm the plugin handed out (and the memory registered with it); misuse when `pointer` is
// not a live comm of that kind.
template <typename Comm>
ncclResult_t closeComm(void* pointer, ObjectKind kind, const char* call, const char* maker) {
  auto* comm = liveObject<Comm>(pointer, kind);
  if (comm == nullptr) {
    return misuse(std::string(call) + "() was given a comm that " + maker + "() did not return (or one already closed)");
  }
  forgetObject(comm);
  freeRegionsOf(comm);
  delete comm;
  return ncclSuccess;
}

}  // namespace

ncclResult_t netInit(void** ctx, uint64_t commId, ncclNetCommConfig_t* config, ncclDebugLogger_t logFunction,
                     ncclProfilerCallback_t /*profFunction*/) {
  adoptNcclLogger(logFunction);
  if (ctx == nullptr) return misuse("init() was given no place for the context");
  const PluginState& state = pluginState();
  if (!state.failure.isOk()) return fail(state.failure.withContext("cannot start: "));
  auto* context = new NetContext{commId, config != nullptr ? config->trafficClass : -1, PluginUcxWorker()};
#if STRATA_HAVE_UCX
  if (state.useUcx) {
    auto worker = UcxWorker::create();
    if (!worker.ok()) {
      delete context;
      return fail(worker.status().withContext("cannot start a UCX worker: "));
    }
    context->ucx = worker.value();
  }
#endif
  rememberObject(context, ObjectKind::Context);
  *ctx = context;
  NET_PLUGIN_INFO(NCCL_INIT | NCCL_NET, "init for communicator %016llx (traffic class %d)",
                  static_cast<unsigned long long>(commId), context->trafficClass);
  return ncclSuccess;
}

ncclResult_t netDevices(int* ndev) {
  if (ndev == nullptr) return misuse("devices() was given a null pointer");
  const PluginState& state = pluginState();
  if (!state.failure.isOk()) return fail(state.failure);
  *ndev = static_cast<int>(state.devices.size());
  return ncclSuccess;
}

ncclResult_t netGetProperties(int dev, ncclNetProperties_v11_t* props) {
  auto device = deviceAt(dev, "getProperties");
  if (!device.ok()) return fail(device.status());
  if (props == nullptr) return misuse("getProperties() was given a null pointer");
  const NetDevice& d = *device.value();
  std::memset(props, 0, sizeof(*props));
  // NCCL keeps these pointers: they point into the never-destroyed plugin state.
  props->name = const_cast<char*>(d.name.c_str());
  props->pciPath = d.pciPath.empty() ? nullptr : const_cast<char*>(d.pciPath.c_str());
  props->guid = static_cast<uint64_t>(dev);
  props->ptrSupport = NCCL_PTR_HOST;
  props->regIsGlobal = 0;
  props->forceFlush = 0;
  props->speed = d.speedMbps;
  props->port = 0;
  props->latency = d.latencyUs;
  props->maxComms = 65536;
  props->maxRecvs = kMaxGroupedReceives;
  props->netDeviceType = NCCL_NET_DEVICE_HOST;
  props->netDeviceVersion = NCCL_NET_DEVICE_INVALID_VERSION;
  props->vProps.ndevs = 1;
  props->vProps.devs[0] = dev;
  // test() reports sizes as int: NCCL cuts anything larger into pieces of this size.
  props->maxP2pBytes = size_t{1} << 30;
  props->maxCollBytes = size_t{1} << 30;
  props->maxMultiRequestSize = 1;
  return ncclSuccess;
}

ncclResult_t netListen(void* ctx, int dev, void* handle, void** listenComm) {
  auto* context = liveObject<NetContext>(ctx, ObjectKind::Context);
  if (context == nullptr) {
    return misuse("listen() was given a context that init() did not return (or one already finalized)");
  }
  auto device = deviceAt(dev, "listen");
  if (!device.ok()) return fail(device.status());
  if (handle == nullptr || listenComm == nullptr) return misuse("listen() was given a null pointer");
  const Params& params = pluginState().params;
  ListenHandle listenHandle;
  auto comm = ListenComm::open(device.value()->address, params.socketStreams,
                               static_cast<size_t>(params.socketSplitBytes), context->ucx, &listenHandle,
                               params.timeoutMs);
  if (!comm.ok()) return fail(comm.status().withContext("listen on " + device.value()->name + ": "));
  std::memset(handle, 0, NCCL_NET_HANDLE_MAXSIZE);
  std::memcpy(handle, &listenHandle, sizeof(listenHandle));
  *listenComm = comm.value().release();
  rememberObject(*listenComm, ObjectKind::ListenComm);
  return ncclSuccess;
}

ncclResult_t netConnect(void* ctx, int dev, void* handle, void** sendComm, ncclNetDeviceHandle_t** sendDevComm) {
  auto* context = liveObject<NetContext>(ctx, ObjectKind::Context);
  if (context == nullptr) {
    return misuse("connect() was given a context that init() did not return (or one already finalized)");
  }
  auto device = deviceAt(dev, "connect");
  if (!device.ok()) return fail(device.status());
  if (handle == nullptr || sendComm == nullptr) return misuse("connect() was given a null pointer");
  *sendComm = nullptr;
  if (sendDevComm != nullptr) *sendDevComm = nullptr;
  // NCCL's handle is a char array: copied in and out, never accessed in place (alignment).
  ListenHandle listenHandle;
  std::memcpy(&listenHandle, handle, sizeof(listenHandle));
  auto keepState = [&](uint64_t connector) {
    listenHandle.connector = connector;
    std::memcpy(handle, &listenHandle, sizeof(listenHandle));
  };
  Connector* connector = nullptr;
  if (listenHandle.connector == 0) {
    auto started = Connector::start(listenHandle, pluginState().params.timeoutMs, context->ucx);
    if (!started.ok()) return fail(started.status());
    connector = started.value().release();
    rememberObject(connector, ObjectKind::Connector);
    context->connecting.insert(connector);
    keepState(reinterpret_cast<uintptr_t>(connector));
  } else {
    connector = liveObject<Connector>(reinterpret_cast<void*>(listenHandle.connector), ObjectKind::Connector);
    if (connector == nullptr) return misuse("connect() was given a handle whose connection state is not this plugin's");
  }
  auto comm = connector->poll();
  if (comm.ok() && comm.value() == nullptr) return ncclSuccess;  // NCCL calls again
  forgetObject(connector);
  context->connecting.erase(connector);
  delete connector;
  keepState(0);
  if (!comm.ok()) return fail(comm.status());
  *sendComm = comm.value().release();
  rememberObject(*sendComm, ObjectKind::SendComm);
  return ncclSuccess;
}

ncclResult_t netAccept(void* listenComm, void** recvComm, ncclNetDeviceHandle_t** recvDevComm) {
  auto* listener = liveObject<ListenComm>(listenComm, ObjectKind::ListenComm);
  if (listener == nullptr) return misuse("accept() was given a listen comm that listen() did not return");
  if (recvComm == nullptr) return misuse("accept() was given a null pointer");
  *recvComm = nullptr;
  if (recvDevComm != nullptr) *recvDevComm = nullptr;
  auto comm = listener->poll();
  if (!comm.ok()) return fail(comm.status());
  if (comm.value() == nullptr) return ncclSuccess;
  *recvComm = comm.value().release();
  rememberObject(*recvComm, ObjectKind::RecvComm);
  return ncclSuccess;
}

ncclResult_t netRegMr(void* comm, void* data, size_t size, int type, void** mhandle) {
  if (!isLiveObject(comm, ObjectKind::SendComm) && !isLiveObject(comm, ObjectKind::RecvComm)) {
    return misuse("regMr() was given a comm that connect() or accept() did not return");
  }
  if (mhandle == nullptr || (data == nullptr && size > 0)) return misuse("regMr() was given a null pointer");
  if (type != NCCL_PTR_HOST) {
    return misuse("regMr() of memory type " + std::to_string(type) +
                  ": this plugin moves host memory only (ptrSupport is NCCL_PTR_HOST)");
  }
  auto* region = new MemoryRegion{static_cast<const std::byte*>(data), size, comm};
  {
    std::lock_guard<std::mutex> lock(regionsMutex);
    regions().insert(region);
  }
  rememberObject(region, ObjectKind::Memory);
  *mhandle = region;
  return ncclSuccess;
}

ncclResult_t netRegMrDmaBuf(void* /*comm*/, void* /*data*/, size_t /*size*/, int /*type*/, uint64_t /*offset*/,
                            int /*fd*/, void** /*mhandle*/) {
  return misuse("regMrDmaBuf(): this plugin does not take DMA-BUF memory (ptrSupport is NCCL_PTR_HOST)");
}

ncclResult_t netDeregMr(void* comm, void* mhandle) {
  if (!isLiveObject(comm, ObjectKind::SendComm) && !isLiveObject(comm, ObjectKind::RecvComm)) {
    return misuse("deregMr() was given a comm that connect() or accept() did not return");
  }
  auto* region = liveObject<MemoryRegion>(mhandle, ObjectKind::Memory);
  if (region == nullptr) return misuse("deregMr() was given a handle that regMr() did not return (or one already deregistered)");
  forgetObject(region);
  {
    std::lock_guard<std::mutex> lock(regionsMutex);
    regions().erase(region);
  }
  delete region;
  return ncclSuccess;
}

ncclResult_t netIsend(void* sendComm, void* data, size_t size, int tag, void* mhandle, void* /*phandle*/,
                      void** request) {
  auto* comm = liveObject<SendComm>(sendComm, ObjectKind::SendComm);
  if (comm == nullptr) return misuse("isend() was given a comm that connect() did not return (or one already closed)");
  if (request == nullptr) return misuse("isend() was given no place for the request");
  Status registered = checkRegistered(mhandle, data, size, "isend");
  if (!registered.isOk()) return fail(registered);
  auto posted = comm->post(data, size, tag);
  if (!posted.ok()) return fail(posted.status());
  *request = posted.value();
  if (*request == nullptr) return ncclSuccess;  // NCCL retries: no announced slot for the tag yet, or full
  // Start moving at once: a small message is often gone before the first test().
  Status moved = comm->progress();
  return moved.isOk() ? ncclSuccess : fail(moved);
}

ncclResult_t netIrecv(void* recvComm, int n, void** data, size_t* sizes, int* tags, void** mhandles,
                      void** /*phandles*/, void** request) {
  auto* comm = liveObject<RecvComm>(recvComm, ObjectKind::RecvComm);
  if (comm == nullptr) return misuse("irecv() was given a comm that accept() did not return (or one already closed)");
  if (request == nullptr) return misuse("irecv() was given no place for the request");
  if (n < 1 || n > kMaxGroupedReceives) {
    return misuse("irecv() of " + std::to_string(n) + " buffers; maxRecvs is " + std::to_string(kMaxGroupedReceives));
  }
  if (data == nullptr || sizes == nullptr || tags == nullptr || mhandles == nullptr) {
    return misuse("irecv() was given a null array");
  }
  for (int i = 0; i < n; ++i) {
    Status registered = checkRegistered(mhandles[i], data[i], sizes[i], "irecv");
    if (!registered.isOk()) return fail(registered);
  }
  // *request may hold NCCL_NET_OPTIONAL_RECV_COMPLETION: the plugin may then finish early; this
  // one always finishes when the data is in place, which NCCL accepts either way.
  *request = comm->post(n, data, sizes, tags);
  if (*request == nullptr) return ncclSuccess;
  Status moved = comm->progress();
  return moved.isOk() ? ncclSuccess : fail(moved);
}

ncclResult_t netIflush(void* recvComm, int /*n*/, void** /*data*/, int* /*sizes*/, void** /*mhandles*/,
                       void** request) {
  if (!isLiveObject(recvComm, ObjectKind::RecvComm)) return misuse("iflush() was given a comm that accept() did not return");
  if (request == nullptr) return misuse("iflush() was given no place for the request");
  // Host memory is in place when test() says so: nothing to flush, and a null request tells NCCL
  // there is nothing to wait for.
  *request = nullptr;
  return ncclSuccess;
}

ncclResult_t netTest(void* request, int* done, int* sizes) {
  if (done == nullptr) return misuse("test() was given a null pointer");
  ObjectKind kind;
  if (request == nullptr || !findObject(request, &kind) ||
      (kind != ObjectKind::SendRequest && kind != ObjectKind::RecvRequest)) {
    return misuse("test() was given a request that isend()/irecv() did not return (or one already completed, or "
                  "of a closed comm)");
  }
  *done = 0;
  if (kind == ObjectKind::SendRequest) {
    auto* send = static_cast<SendRequest*>(request);
    if (!send->sent) {
      Status moved = send->comm->progress();
      if (!moved.isOk()) return fail(moved);
      if (!send->sent) return ncclSuccess;
    }
    *done = 1;
    if (sizes != nullptr) sizes[0] = static_cast<int>(std::min<size_t>(send->transfer.bytes, INT32_MAX));
    send->comm->release(send);
    return ncclSuccess;
  }
  auto* receive = static_cast<RecvRequest*>(request);
  if (!receive->done()) {
    Status moved = receive->comm->progress();
    if (!moved.isOk()) return fail(moved);
    if (!receive->done()) return ncclSuccess;
  }
  *done = 1;
  if (sizes != nullptr) {
    for (int i = 0; i < receive->count; ++i) {
      sizes[i] = static_cast<int>(std::min<size_t>(receive->slots[i].received, INT32_MAX));
    }
  }
  receive->comm->release(receive);
  return ncclSuccess;
}

ncclResult_t netCloseSend(void* sendComm) { return closeComm<SendComm>(sendComm, ObjectKind::SendComm, "closeSend", "connect"); }

ncclResult_t netCloseRecv(void* recvComm) { return closeComm<RecvComm>(recvComm, ObjectKind::RecvComm, "closeRecv", "accept"); }

ncclResult_t netCloseListen(void* listenComm) {
  return closeComm<ListenComm>(listenComm, ObjectKind::ListenComm, "closeListen", "listen");
}

ncclResult_t netFinalize(void* ctx) {
  auto* context = liveObject<NetContext>(ctx, ObjectKind::Context);
  if (context == nullptr) return misuse("finalize() was given a context that init() did not return (or one already finalized)");
  // Connects NCCL stopped polling (an abort while connecting) end here.
  for (Connector* connector : context->connecting) {
    forgetObject(connector);
    delete connector;
  }
  forgetObject(context);
  delete context;
  return ncclSuccess;
}

ncclResult_t netSetNetAttr(void* ctx, ncclNetAttr_v11_t* netAttr) {
  if (liveObject<NetContext>(ctx, ObjectKind::Context) == nullptr) {
    return misuse("setNetAttr() was given a context that init() did not return");
  }
  if (netAttr == nullptr) return misuse("setNetAttr() was given a null pointer");
  // Hints about concurrent peers and flows: the tcp connection's stream count is fixed when it is
  // opened, so they change nothing here.
  return ncclSuccess;
}

}  // namespace strata::nccl_net

extern "C" {
__attribute__((visibility("default"))) ncclabi::ncclNet_v11_t ncclNetPlugin_v11 = {
    "Strata",
    strata::nccl_net::netInit,
    strata::nccl_net::netDevices,
    strata::nccl_net::netGetProperties,
    strata::nccl_net::netListen,
    strata::nccl_net::netConnect,
    strata::nccl_net::netAccept,
    strata::nccl_net::netRegMr,
    strata::nccl_net::netRegMrDmaBuf,
    strata::nccl_net::netDeregMr,
    strata::nccl_net::netIsend,
    strata::nccl_net::netIrecv,
    strata::nccl_net::netIflush,
    strata::nccl_net::netTest,
    strata::nccl_net::netCloseSend,
    strata::nccl_net::netCloseRecv,
    strata::nccl_net::netCloseListen,
    nullptr,  // getDeviceMr: device offload only
    nullptr,  // irecvConsumed: device offload only
    nullptr,  // makeVDevice: no NIC fusion
    strata::nccl_net::netFinalize,
    strata::nccl_net::netSetNetAttr,
};
}
