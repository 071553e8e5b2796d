// Logging in NCCL's spirit: STRATA_DEBUG=WARN|INFO|TRACE picks the level, STRATA_DEBUG_SUBSYS the
// subsystems (comma list, '^' in front excludes them). Lines go to stderr, prefixed with host, pid
// and the rank that the calling thread is working for.
#pragma once

#include <cstdarg>

namespace strata {

enum class LogLevel { Warn = 1, Info = 2, Trace = 3 };

enum class LogSubsystem { Init, Coll, P2P, Net, Shm, Env, Launch };

bool logEnabled(LogLevel level, LogSubsystem subsystem);
void logMessage(LogLevel level, LogSubsystem subsystem, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

// STRATA_DEBUG=VERSION (or any level): print the version banner once per process.
bool versionBannerRequested();

// The rank printed in front of log lines from this thread (-1: none).
void setLogRank(int rank);

// Re-reads STRATA_DEBUG / STRATA_DEBUG_SUBSYS (tests change them).
void reloadLogSettings();

}  // namespace strata

#define STRATA_WARN(subsys, ...) ::strata::logMessage(::strata::LogLevel::Warn, ::strata::LogSubsystem::subsys, __VA_ARGS__)
#define STRATA_INFO(subsys, ...)                                                           \
  do {                                                                                     \
    if (::strata::logEnabled(::strata::LogLevel::Info, ::strata::LogSubsystem::subsys))    \
      ::strata::logMessage(::strata::LogLevel::Info, ::strata::LogSubsystem::subsys, __VA_ARGS__); \
  } while (0)
#define STRATA_TRACE(subsys, ...)                                                          \
  do {                                                                                     \
    if (::strata::logEnabled(::strata::LogLevel::Trace, ::strata::LogSubsystem::subsys))   \
      ::strata::logMessage(::strata::LogLevel::Trace, ::strata::LogSubsystem::subsys, __VA_ARGS__); \
  } while (0)
