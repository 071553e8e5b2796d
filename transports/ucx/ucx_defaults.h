// Strata's defaults for UCX's configuration: settings UCX would otherwise take from its own
// defaults, each applied only when the user left the UCX_* variable unset (so any of them can be
// overridden the way UCX users expect), and each for a measured reason.
#pragma once

#include <ucp/api/ucp.h>

#include <string>

namespace strata {

// Applies the defaults to `config` (read from the environment by ucp_config_read). On failure,
// returns UCX's status and names the setting in `failed`.
ucs_status_t applyUcxDefaults(ucp_config_t* config, std::string* failed);

// Whether UCX_TLS lets UCX open its tcp wire: unset, "all", a list naming tcp, or an exclusion
// list ("^...") that leaves it in.
bool ucxMayUseTcp(const char* tls);

}  // namespace strata
