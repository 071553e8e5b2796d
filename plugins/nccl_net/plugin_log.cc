#include "plugins/nccl_net/plugin_log.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>

#include "src/common/log.h"

namespace strata::nccl_net {
namespace {

std::atomic<ncclabi::ncclDebugLogger_t> ncclLogger{nullptr};

}  // namespace

void adoptNcclLogger(ncclabi::ncclDebugLogger_t logger) {
  ncclabi::ncclDebugLogger_t none = nullptr;
  if (logger != nullptr) ncclLogger.compare_exchange_strong(none, logger);
}

void pluginLog(ncclabi::ncclDebugLogLevel level, unsigned long flags, const char* file, int line,
               const char* format, ...) {
  char text[1024];
  va_list args;
  va_start(args, format);
  vsnprintf(text, sizeof(text), format, args);
  va_end(args);
  if (auto logger = ncclLogger.load(std::memory_order_acquire)) {
    logger(level, flags, file, line, "%s", text);
    return;
  }
  LogLevel ours = level == ncclabi::NCCL_LOG_WARN ? LogLevel::Warn : LogLevel::Info;
  logMessage(ours, LogSubsystem::Net, "%s", text);  // prints warnings even without STRATA_DEBUG
}

}  // namespace strata::nccl_net
