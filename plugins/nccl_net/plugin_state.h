// What the plugin learns once per process (Strata's settings and the NICs), and the per-NCCL-
// communicator context of the v11 ABI. The first init does the discovery; a failure there (a bad
// STRATA_* value, no interface matching NCCL_SOCKET_IFNAME) fails every init with the same message.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "plugins/nccl_net/connection_setup.h"
#include "plugins/nccl_net/net_devices.h"
#include "src/common/params.h"
#include "src/common/status.h"

namespace strata::nccl_net {

struct PluginState {
  Status failure;  // why the plugin cannot run here, if it cannot
  Params params;
  std::vector<NetDevice> devices;
  // Connections go over ucx (STRATA_NET or STRATA_TRANSPORT ucx, or auto on a host with an RDMA
  // device in a build with UCX); else over the tcp transport.
  bool useUcx = false;
};

const PluginState& pluginState();

struct NetContext {
  uint64_t commId = 0;
  int trafficClass = -1;  // accepted and logged: TCP here has no traffic classes to map it to
  // The context's UCX worker when connections go over ucx (one per NCCL communicator, as the
  // library has one per communicator: a failed connection may freeze it).
  PluginUcxWorker ucx;
  // Connects under way (their state is also in NCCL's handles): finalize frees what NCCL abandoned.
  std::set<Connector*> connecting;
};

}  // namespace strata::nccl_net
