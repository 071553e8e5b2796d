#include "plugins/nccl_net/net_devices.h"

#include <climits>
#include <cstdlib>

#include "topology/cost_model.h"
#include "topology/hwloc_discovery.h"

namespace strata::nccl_net {
namespace {

std::string pciPathOf(const std::string& interface) {
  std::string link = "/sys/class/net/" + interface + "/device";
  char resolved[PATH_MAX];
  return realpath(link.c_str(), resolved) != nullptr ? std::string(resolved) : std::string();
}

}  // namespace

Result<std::vector<NetDevice>> discoverNetDevices(const Params& params) {
  const std::string& spec = !params.socketIfname.empty() ? params.socketIfname : params.ncclSocketIfname;
  auto interfaces = matchingInterfaces(spec);
  if (!interfaces.ok()) return interfaces.status();
  if (interfaces.value().empty()) {
    return invalidUsage("no network interface that is up matches '" + spec + "' (" +
                        (!params.socketIfname.empty() ? "STRATA_SOCKET_IFNAME" : "NCCL_SOCKET_IFNAME") +
                        "); list them with 'ip addr'");
  }
  CostModel costs;
  if (!params.costFile.empty()) {
    auto loaded = CostModel::load(params.costFile);
    if (!loaded.ok()) return loaded.status();
    costs = loaded.value();
  }
  // Without hwloc (or with an XML of another host) the names simply do not match: /sys answers.
  HostTopology host;
  if (haveHwloc()) {
    auto discovered = discoverHostTopology(params.topoXml);
    if (discovered.ok()) host = std::move(discovered.value());
  }
  std::vector<NetDevice> devices;
  for (const auto& interface : interfaces.value()) {
    NetDevice device;
    device.name = interface.name;
    device.address = interface.address;
    device.pciPath = pciPathOf(interface.name);
    device.latencyUs = static_cast<float>(costs.net.alphaUs);
    for (const auto& nic : host.nics) {
      if (nic.name == interface.name && nic.speedMbps > 0) {
        device.speedMbps = nic.speedMbps;
        device.speedSource = "hwloc";
      }
    }
    if (device.speedMbps == 0 && (device.speedMbps = linuxNetSpeedMbps(interface.name)) > 0) device.speedSource = "/sys";
    if (device.speedMbps == 0) {
      device.speedMbps = static_cast<int>(costs.net.betaGBps * 8000);
      device.speedSource = "cost model";
    }
    devices.push_back(std::move(device));
  }
  return devices;
}

}  // namespace strata::nccl_net
