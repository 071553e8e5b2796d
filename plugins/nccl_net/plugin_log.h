// The plugin's messages go through NCCL's logger, as NCCL's own network code does, so
// NCCL_DEBUG=INFO shows what the plugin chose and why, among NCCL's lines. Before NCCL has handed
// its logger over (or when a caller passes none) they go to Strata's own log (STRATA_DEBUG).
#pragma once

#include "plugins/nccl_net/nccl_net_abi.h"

namespace strata::nccl_net {

// The first non-null logger wins: every communicator of a process gets the same one from NCCL.
void adoptNcclLogger(ncclabi::ncclDebugLogger_t logger);

void pluginLog(ncclabi::ncclDebugLogLevel level, unsigned long flags, const char* file, int line,
               const char* format, ...) __attribute__((format(printf, 5, 6)));

}  // namespace strata::nccl_net

#define NET_PLUGIN_WARN(format, ...)                                                                      \
  ::strata::nccl_net::pluginLog(ncclabi::NCCL_LOG_WARN, ncclabi::NCCL_NET, __FILE__, __LINE__, "NET/Strata : " format, \
                                ##__VA_ARGS__)
#define NET_PLUGIN_INFO(flags, format, ...) \
  ::strata::nccl_net::pluginLog(ncclabi::NCCL_LOG_INFO, flags, __FILE__, __LINE__, "NET/Strata : " format, ##__VA_ARGS__)
#define TUNER_PLUGIN_WARN(format, ...)                                                                        \
  ::strata::nccl_net::pluginLog(ncclabi::NCCL_LOG_WARN, ncclabi::NCCL_TUNING, __FILE__, __LINE__, "TUNER/Strata : " format, \
                                ##__VA_ARGS__)
#define TUNER_PLUGIN_INFO(format, ...)                                                                        \
  ::strata::nccl_net::pluginLog(ncclabi::NCCL_LOG_INFO, ncclabi::NCCL_TUNING, __FILE__, __LINE__, "TUNER/Strata : " format, \
                                ##__VA_ARGS__)
