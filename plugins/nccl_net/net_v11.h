// The plugin's entry points in NCCL's newest net ABI (v11: a context per NCCL communicator).
// ncclNetPlugin_v11 exports them as they are; the older tables (net_older_versions.cc) adapt to
// them. Every entry point checks its pointers against the objects it handed out and returns an
// NCCL error code, with a WARN through NCCL's logger, for anything it cannot use.
#pragma once

#include "plugins/nccl_net/nccl_net_abi.h"

namespace strata::nccl_net {

using namespace ncclabi;

ncclResult_t netInit(void** ctx, uint64_t commId, ncclNetCommConfig_t* config, ncclDebugLogger_t logFunction,
                     ncclProfilerCallback_t profFunction);
ncclResult_t netDevices(int* ndev);
ncclResult_t netGetProperties(int dev, ncclNetProperties_v11_t* props);
ncclResult_t netListen(void* ctx, int dev, void* handle, void** listenComm);
ncclResult_t netConnect(void* ctx, int dev, void* handle, void** sendComm, ncclNetDeviceHandle_t** sendDevComm);
ncclResult_t netAccept(void* listenComm, void** recvComm, ncclNetDeviceHandle_t** recvDevComm);
ncclResult_t netRegMr(void* comm, void* data, size_t size, int type, void** mhandle);
ncclResult_t netRegMrDmaBuf(void* comm, void* data, size_t size, int type, uint64_t offset, int fd, void** mhandle);
ncclResult_t netDeregMr(void* comm, void* mhandle);
ncclResult_t netIsend(void* sendComm, void* data, size_t size, int tag, void* mhandle, void* phandle, void** request);
ncclResult_t netIrecv(void* recvComm, int n, void** data, size_t* sizes, int* tags, void** mhandles, void** phandles,
                      void** request);
ncclResult_t netIflush(void* recvComm, int n, void** data, int* sizes, void** mhandles, void** request);
ncclResult_t netTest(void* request, int* done, int* sizes);
ncclResult_t netCloseSend(void* sendComm);
ncclResult_t netCloseRecv(void* recvComm);
ncclResult_t netCloseListen(void* listenComm);
ncclResult_t netFinalize(void* ctx);
ncclResult_t netSetNetAttr(void* ctx, ncclNetAttr_v11_t* netAttr);

}  // namespace strata::nccl_net
