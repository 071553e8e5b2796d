#include "src/common/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>

#include "src/common/params.h"

namespace strata {
namespace {

struct LogState {
  std::atomic<int> level{0};
  std::atomic<bool> version{false};
  std::atomic<unsigned> subsystemMask{~0u};
};

unsigned parseSubsystemMask(const std::string& text);

void applySettings(LogState& s) {
  DebugSettings settings = DebugSettings::fromEnvironment();
  s.level.store(settings.level);
  s.version.store(settings.versionBanner || settings.level > 0);
  s.subsystemMask.store(parseSubsystemMask(settings.subsystems));
}

LogState& state() {
  static LogState* s = [] {
    auto* fresh = new LogState();  // never destroyed: logging may run during static destruction
    applySettings(*fresh);
    return fresh;
  }();
  return *s;
}

thread_local int tlsLogRank = -1;

const char* subsystemName(LogSubsystem s) {
  switch (s) {
    case LogSubsystem::Init: return "INIT";
    case LogSubsystem::Coll: return "COLL";
    case LogSubsystem::P2P: return "P2P";
    case LogSubsystem::Net: return "NET";
    case LogSubsystem::Shm: return "SHM";
    case LogSubsystem::Env: return "ENV";
    case LogSubsystem::Launch: return "LAUNCH";
  }
  return "?";
}

unsigned parseSubsystemMask(const std::string& text) {
  if (text.empty()) return ~0u;
  bool exclude = text[0] == '^';
  unsigned mask = 0;
  size_t start = exclude ? 1 : 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string name = text.substr(start, end - start);
    for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (name == "ALL") mask = ~0u;
    for (int s = 0; s <= static_cast<int>(LogSubsystem::Launch); ++s) {
      if (name == subsystemName(static_cast<LogSubsystem>(s))) mask |= 1u << s;
    }
    start = end + 1;
  }
  return exclude ? ~mask : mask;
}

}  // namespace

void reloadLogSettings() { applySettings(state()); }

bool logEnabled(LogLevel level, LogSubsystem subsystem) {
  LogState& s = state();
  if (static_cast<int>(level) > s.level.load(std::memory_order_relaxed)) return false;
  return (s.subsystemMask.load(std::memory_order_relaxed) >> static_cast<int>(subsystem)) & 1u;
}

void setLogRank(int rank) { tlsLogRank = rank; }

bool versionBannerRequested() {
  static std::atomic<bool> printed{false};
  return state().version.load() && !printed.exchange(true);
}

void logMessage(LogLevel level, LogSubsystem subsystem, const char* format, ...) {
  // Warnings always print when any level is on; with STRATA_DEBUG unset they print too, because a
  // warning is something the user should see.
  if (level != LogLevel::Warn && !logEnabled(level, subsystem)) return;
  char host[64] = "?";
  gethostname(host, sizeof(host) - 1);
  char body[2048];
  va_list args;
  va_start(args, format);
  std::vsnprintf(body, sizeof(body), format, args);
  va_end(args);
  const char* levelName = level == LogLevel::Warn ? "WARN" : level == LogLevel::Info ? "INFO" : "TRACE";
  char rankText[24] = "";
  if (tlsLogRank >= 0) std::snprintf(rankText, sizeof(rankText), " [%d]", tlsLogRank);
  std::fprintf(stderr, "%s:%d%s STRATA %s %s %s\n", host, static_cast<int>(getpid()), rankText,
               levelName, subsystemName(subsystem), body);
}

}  // namespace strata
