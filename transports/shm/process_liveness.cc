#include "transports/shm/process_liveness.h"

#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace strata {

bool processIsAlive(pid_t pid) {
  if (pid <= 0) return true;  // unknown: assume alive, the timeout still applies
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(pid));
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) return true;  // no procfs: rely on kill()
  char line[512] = {};
  size_t n = std::fread(line, 1, sizeof(line) - 1, f);
  std::fclose(f);
  line[n] = '\0';
  // Format: "pid (comm) S ..."; comm may hold spaces, so find the last ')'.
  const char* close = std::strrchr(line, ')');
  if (close == nullptr || close[1] == '\0' || close[2] == '\0') return true;
  char state = close[2];
  return state != 'Z' && state != 'X';
}

}  // namespace strata
