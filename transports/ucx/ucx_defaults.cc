#include "transports/ucx/ucx_defaults.h"

#include <cstdlib>
#include <sstream>

#include "transports/ucx/ucx_worker.h"

namespace strata {
namespace {

// One default: UCX's name for the setting (a UCT setting is reached by its field name, without
// the wire's prefix), the variable that overrides it, and its value.
struct UcxDefault {
  const char* key;
  const char* variable;
  const char* value;
};

// Without an RDMA device UCX's wires copy anyway (tcp, shared memory).
constexpr UcxDefault kWithoutRdma[] = {
    // A rendezvous only adds round trips before the data moves (2 ranks over UCX's tcp, 32 KiB
    // allreduce: 98 -> 33 us, 16 MiB: 34 -> 22 ms): every message goes eagerly.
    {"RNDV_THRESH", "UCX_RNDV_THRESH", "inf"},
    // UCX 1.13's tcp wire completes a zero-copy send twice when the socket fails under it (a peer
    // died or closed while we sent to it: uct_tcp_ep_sendv calls the completion after
    // uct_tcp_ep_handle_send_err already did), and its assertion aborts the survivor (2 of 600
    // dead-peer runs). Copied sends have no such path; in 64 KiB segments rather than 8 KiB they
    // cost 0-15 % at 4-64 MiB (2 ranks, interleaved A/B), where 8 KiB segments cost 1.8x.
    {"ZCOPY_THRESH", "UCX_ZCOPY_THRESH", "inf"},
};
constexpr UcxDefault kCopiedSegments = {"TX_SEG_SIZE", "UCX_TCP_TX_SEG_SIZE", "64k"};

// UCX 1.13's tcp wire handles a batch of socket events per progress call. When a peer closes its
// endpoints (it gave up a call, or died), handling one event of a batch can close another endpoint
// of the same batch, and the next event then trips an assertion on the closed endpoint and aborts
// the process (tcp_iface.c:307; 8 of 180 call-mismatch runs, none of 600 with one event per poll).
// One event per poll leaves nothing stale behind a close. (cuda_copy and cuda_ipc share the name;
// Strata hands UCX host memory only, so they carry no Strata traffic.)
constexpr UcxDefault kOneEventPerPoll = {"MAX_POLL", "UCX_TCP_MAX_POLL", "1"};

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
  // A setting for a wire UCX never opens draws a warning from UCX, so tcp's only where it may run.
  const bool tcp = ucxMayUseTcp(std::getenv("UCX_TLS"));
  ucs_status_t status = UCS_OK;
  if (!hostHasRdmaDevice()) {
    for (const UcxDefault& setting : kWithoutRdma) {
      if (status == UCS_OK) status = apply(config, setting, failed);
    }
    if (status == UCS_OK && tcp) status = apply(config, kCopiedSegments, failed);
  }
  if (status == UCS_OK && tcp) status = apply(config, kOneEventPerPoll, failed);
  return status;
}

}  // namespace strata
