// What the plugin learns once per process (Strata's settings and the NICs), and the per-NCCL-
// communicator context of the v11 ABI. The first init does the discovery; a failure there (a bad
// STRATA_* value, no interface matching NCCL_SOCKET_IFNAME) fails every init with the same message.
#pragma once

#include <cstdint>
#include <vector>

#include "plugins/nccl_net/net_devices.h"
#include "src/common/params.h"
#include "src/common/status.h"

namespace strata::nccl_net {

struct PluginState {
  Status failure;  // why the plugin cannot run here, if it cannot
  Params params;
  std::vector<NetDevice> devices;
};

const PluginState& pluginState();

struct NetContext {
  uint64_t commId = 0;
  int trafficClass = -1;  // accepted and logged: TCP here has no traffic classes to map it to
};

}  // namespace strata::nccl_net
