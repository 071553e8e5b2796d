#include "transports/ucx/ucx_defaults.h"

#include <cstdlib>
#include <sstream>

#include "transports/ucx/ucx_worker.h"

namespace strata {
namespace {

// One default: UCX's name for the setting (a UCT setting is reached by its field name, without
// the wire's prefix), the variable that overrides it, its value, and where it applies: only
// without an RDMA device (UCX's wires are then tcp and shared memory), only where UCX may open its
// tcp wire (a setting for a wire UCX never opens draws a warning from UCX), or both.
struct UcxDefault {
  const char* key;
  const char* variable;
  const char* value;
  bool withoutRdmaOnly;
  bool tcpOnly;
};

constexpr UcxDefault kDefaults[] = {
    // Below 256 KiB a rendezvous only adds a round trip; above, its zero-copy put (the receiver
    // reads straight into the posted buffer) saves the two copies of an eager message (2 ranks
    // over UCX's tcp, each on its own core, interleaved A/B against every message eager: 128 KiB
    // allreduce 80 -> 85 us, 2 MiB 1.71 -> 1.34 ms, 4 MiB 4.3 -> 2.8 ms, 64 MiB 77 -> 57 ms; a
    // 64 KiB threshold cost 25 % at 128 KiB). An earlier A/B that chose eager only ran with both
    // ranks on one core.
    {"RNDV_THRESH", "UCX_RNDV_THRESH", "256k", true, false},
    // UCX 1.13's tcp wire completes a zero-copy send twice when the socket fails under it (a peer
    // died or closed while we sent to it: uct_tcp_ep_sendv calls the completion after
    // uct_tcp_ep_handle_send_err already did), and its assertion aborts the survivor (2 of 600
    // dead-peer runs with every message eager). Eager messages are copied, which has no such
    // path, in 64 KiB segments rather than 8 KiB (8 KiB cost 1.8x at 64 MiB when every message
    // was eager). A rendezvous's put is zero-copy over the same path, but only once the receiver
    // asked for the data: 0 of 600 dead-peer and 0 of 300 call-mismatch runs aborted with it.
    {"ZCOPY_THRESH", "UCX_ZCOPY_THRESH", "inf", true, false},
    {"TX_SEG_SIZE", "UCX_TCP_TX_SEG_SIZE", "64k", true, true},
    // UCX 1.13's tcp wire handles a batch of socket events per progress call. When a peer closes
    // its endpoints (it gave up a call, or died), handling one event of a batch can close another
    // endpoint of the same batch, and the next event then trips an assertion on the closed
    // endpoint and aborts the process (tcp_iface.c:307; 8 of 180 call-mismatch runs, none of 600
    // with one event per poll). One event per poll leaves nothing stale behind a close.
    // (cuda_copy and cuda_ipc share the name; Strata hands UCX host memory only.)
    {"MAX_POLL", "UCX_TCP_MAX_POLL", "1", false, true},
};

ucs_status_t apply(ucp_config_t* config, const UcxDefault& setting, std::string* failed) {
  if (std::getenv(setting.variable) != nullptr) return UCS_OK;
  ucs_status_t status = ucp_config_modify(config, setting.key, setting.value);
  if (status != UCS_OK) *failed = std::string(setting.key) + "=" + setting.value;
  return status;
}

}  // namespace

bool ucxMayUseTcp(const char* tls) {
  if (tls == nullptr || *tls == '\0') return true;
  std::string list = tls;
  const bool excluding = list[0] == '^';
  if (excluding) list.erase(0, 1);
  bool named = false;
  std::istringstream items(list);
  for (std::string item; std::getline(items, item, ',');) {
    item = item.substr(0, item.find(':'));
    named = named || item == "tcp" || (!excluding && item == "all");
  }
  return excluding ? !named : named;
}

ucs_status_t applyUcxDefaults(ucp_config_t* config, std::string* failed) {
  const bool rdma = hostHasRdmaDevice();
  const bool tcp = ucxMayUseTcp(std::getenv("UCX_TLS"));
  for (const UcxDefault& setting : kDefaults) {
    if ((setting.withoutRdmaOnly && rdma) || (setting.tcpOnly && !tcp)) continue;
    const ucs_status_t status = apply(config, setting, failed);
    if (status != UCS_OK) return status;
  }
  return UCS_OK;
}

}  // namespace strata
