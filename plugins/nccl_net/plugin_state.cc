#include "plugins/nccl_net/plugin_state.h"

#include <mutex>

#include "plugins/nccl_net/plugin_log.h"

namespace strata::nccl_net {

const PluginState& pluginState() {
  static PluginState* state = nullptr;  // never destroyed: NCCL's threads may outlive static destructors
  static std::once_flag once;
  std::call_once(once, [] {
    state = new PluginState;
    auto params = Params::fromEnvironment();
    if (!params.ok()) {
      state->failure = params.status();
      return;
    }
    state->params = params.value();
    auto devices = discoverNetDevices(state->params);
    if (!devices.ok()) {
      state->failure = devices.status();
      return;
    }
    state->devices = std::move(devices.value());
    for (size_t i = 0; i < state->devices.size(); ++i) {
      const NetDevice& d = state->devices[i];
      NET_PLUGIN_INFO(ncclabi::NCCL_INIT | ncclabi::NCCL_NET,
                      "NIC %zu: %s (%s), %d Mbps (from %s), latency %.1f us (cost model), PCI %s; tcp, %d stream(s) "
                      "per connection, messages from %lld bytes split over them",
                      i, d.name.c_str(), d.address.toString().c_str(), d.speedMbps, d.speedSource.c_str(),
                      static_cast<double>(d.latencyUs), d.pciPath.empty() ? "none (virtual)" : d.pciPath.c_str(),
                      state->params.socketStreams, static_cast<long long>(state->params.socketSplitBytes));
    }
  });
  return *state;
}

}  // namespace strata::nccl_net
