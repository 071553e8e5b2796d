// ncclNet v10, v9 and v8 over the v11 entry points, for NCCL releases that know no newer table.
// Those ABIs have no per-communicator context: the first init makes one the process shares, and
// listen/connect use it. v10 passes the traffic class per connect (noted, as v11's is); v9 drops
// the profiler handles; v8 also counts message sizes in int and has shorter properties.
#include <climits>

#include "plugins/nccl_net/net_v11.h"
#include "plugins/nccl_net/send_comm.h"

namespace strata::nccl_net {
namespace {

void* sharedContext = nullptr;

ncclResult_t initShared(ncclDebugLogger_t logFunction) {
  static ncclResult_t result = netInit(&sharedContext, 0, nullptr, logFunction, nullptr);
  return result;
}

ncclResult_t initV10(ncclDebugLogger_t logFunction, ncclProfilerCallback_t /*profFunction*/) {
  return initShared(logFunction);
}
ncclResult_t initV9(ncclDebugLogger_t logFunction) { return initShared(logFunction); }

template <typename Properties>
void copyCommonProperties(const ncclNetProperties_v11_t& from, Properties* to) {
  to->name = from.name;
  to->pciPath = from.pciPath;
  to->guid = from.guid;
  to->ptrSupport = from.ptrSupport;
  to->regIsGlobal = from.regIsGlobal;
  to->speed = from.speed;
  to->port = from.port;
  to->latency = from.latency;
  to->maxComms = from.maxComms;
  to->maxRecvs = from.maxRecvs;
  to->netDeviceType = from.netDeviceType;
  to->netDeviceVersion = from.netDeviceVersion;
}

ncclResult_t getPropertiesV9(int dev, ncclNetProperties_v9_t* props) {
  ncclNetProperties_v11_t full;
  ncclResult_t result = netGetProperties(dev, &full);
  if (result != ncclSuccess || props == nullptr) return result == ncclSuccess ? ncclInternalError : result;
  copyCommonProperties(full, props);
  props->forceFlush = full.forceFlush;
  props->vProps = full.vProps;
  props->maxP2pBytes = full.maxP2pBytes;
  props->maxCollBytes = full.maxCollBytes;
  return ncclSuccess;
}

ncclResult_t getPropertiesV8(int dev, ncclNetProperties_v8_t* props) {
  ncclNetProperties_v11_t full;
  ncclResult_t result = netGetProperties(dev, &full);
  if (result != ncclSuccess || props == nullptr) return result == ncclSuccess ? ncclInternalError : result;
  copyCommonProperties(full, props);
  return ncclSuccess;
}

ncclResult_t listenShared(int dev, void* handle, void** listenComm) {
  return netListen(sharedContext, dev, handle, listenComm);
}

ncclResult_t connectV10(int dev, ncclNetCommConfig_t* /*config*/, void* handle, void** sendComm,
                        ncclNetDeviceHandle_t** sendDevComm) {
  return netConnect(sharedContext, dev, handle, sendComm, sendDevComm);
}

ncclResult_t connectV9(int dev, void* handle, void** sendComm, ncclNetDeviceHandle_t** sendDevComm) {
  return netConnect(sharedContext, dev, handle, sendComm, sendDevComm);
}

ncclResult_t isendV9(void* sendComm, void* data, size_t size, int tag, void* mhandle, void** request) {
  return netIsend(sendComm, data, size, tag, mhandle, nullptr, request);
}

ncclResult_t irecvV9(void* recvComm, int n, void** data, size_t* sizes, int* tags, void** mhandles, void** request) {
  return netIrecv(recvComm, n, data, sizes, tags, mhandles, nullptr, request);
}

ncclResult_t isendV8(void* sendComm, void* data, int size, int tag, void* mhandle, void** request) {
  if (size < 0) return ncclInternalError;
  return netIsend(sendComm, data, static_cast<size_t>(size), tag, mhandle, nullptr, request);
}

ncclResult_t irecvV8(void* recvComm, int n, void** data, int* sizes, int* tags, void** mhandles, void** request) {
  if (sizes == nullptr || n < 1 || n > kMaxGroupedReceives) {
    return netIrecv(recvComm, n, data, nullptr, tags, mhandles, nullptr, request);  // reports the misuse
  }
  size_t wide[kMaxGroupedReceives];
  for (int i = 0; i < n; ++i) {
    if (sizes[i] < 0) return ncclInternalError;
    wide[i] = static_cast<size_t>(sizes[i]);
  }
  return netIrecv(recvComm, n, data, wide, tags, mhandles, nullptr, request);
}

}  // namespace
}  // namespace strata::nccl_net

using namespace strata::nccl_net;

extern "C" {
__attribute__((visibility("default"))) ncclabi::ncclNet_v10_t ncclNetPlugin_v10 = {
    "Strata",      initV10,        netDevices,   getPropertiesV9, listenShared, connectV10,   netAccept,
    netRegMr,      netRegMrDmaBuf, netDeregMr,   netIsend,        netIrecv,     netIflush,    netTest,
    netCloseSend,  netCloseRecv,   netCloseListen, nullptr,       nullptr,      nullptr,
};
}

extern "C" {
__attribute__((visibility("default"))) ncclabi::ncclNet_v9_t ncclNetPlugin_v9 = {
    "Strata",      initV9,         netDevices,   getPropertiesV9, listenShared, connectV9,    netAccept,
    netRegMr,      netRegMrDmaBuf, netDeregMr,   isendV9,         irecvV9,      netIflush,    netTest,
    netCloseSend,  netCloseRecv,   netCloseListen, nullptr,       nullptr,      nullptr,
};
}

extern "C" {
__attribute__((visibility("default"))) ncclabi::ncclNet_v8_t ncclNetPlugin_v8 = {
    "Strata",      initV9,         netDevices,   getPropertiesV8, listenShared, connectV9,    netAccept,
    netRegMr,      netRegMrDmaBuf, netDeregMr,   isendV8,         irecvV8,      netIflush,    netTest,
    netCloseSend,  netCloseRecv,   netCloseListen, nullptr,       nullptr,
};
}
