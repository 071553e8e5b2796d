#include "plugins/nccl_net/plugin_state.h"

#include <mutex>
#include <string>

#include "plugins/nccl_net/plugin_log.h"
#if STRATA_HAVE_UCX
#include "transports/ucx/ucx_worker.h"
#endif

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
    const Params& p = state->params;
    const bool askedForUcx = p.transport == "ucx" || (p.transport == "auto" && p.net == "ucx");
#if STRATA_HAVE_UCX
    state->useUcx = askedForUcx || (p.transport == "auto" && p.net == "auto" && hostHasRdmaDevice());
#else
    if (askedForUcx) {
      state->failure = invalidUsage(std::string(p.transport == "ucx" ? "STRATA_TRANSPORT" : "STRATA_NET") +
                                    "=ucx, but this plugin was built without UCX (libucx-dev was not found)");
      return;
    }
#endif
    for (size_t i = 0; i < state->devices.size(); ++i) {
      const NetDevice& d = state->devices[i];
      NET_PLUGIN_INFO(ncclabi::NCCL_INIT | ncclabi::NCCL_NET,
                      "NIC %zu: %s (%s), %d Mbps (from %s), latency %.1f us (cost model), PCI %s; %s",
                      i, d.name.c_str(), d.address.toString().c_str(), d.speedMbps, d.speedSource.c_str(),
                      static_cast<double>(d.latencyUs), d.pciPath.empty() ? "none (virtual)" : d.pciPath.c_str(),
                      state->useUcx ? "connections over ucx (UCX_TLS and UCX_NET_DEVICES choose its wires)"
                                    : ("connections over tcp, " + std::to_string(state->params.socketStreams) +
                                       " stream(s) each, messages from " + std::to_string(state->params.socketSplitBytes) +
                                       " bytes split over them").c_str());
    }
  });
  return *state;
}

}  // namespace strata::nccl_net
