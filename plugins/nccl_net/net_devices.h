// The NICs the plugin offers NCCL: the interfaces that are up and match NCCL_SOCKET_IFNAME's syntax
// (STRATA_SOCKET_IFNAME, else NCCL_SOCKET_IFNAME, else every interface but lo, docker* and
// virbr*, and lo when nothing else is up), described from the topology layer: the NIC hwloc
// found under that name gives the line rate, /sys its PCI path, the cost model the latency.
#pragma once

#include <string>
#include <vector>

#include "src/common/params.h"
#include "src/common/status.h"
#include "transports/tcp/socket.h"

namespace strata::nccl_net {

struct NetDevice {
  std::string name;      // "eth0"
  SocketAddress address;  // where listen() binds
  std::string pciPath;   // /sys path of its PCI device, "" when virtual
  int speedMbps = 0;
  float latencyUs = 0;
  std::string speedSource;  // "hwloc", "/sys", "cost model": for INFO
};

Result<std::vector<NetDevice>> discoverNetDevices(const Params& params);

}  // namespace strata::nccl_net
