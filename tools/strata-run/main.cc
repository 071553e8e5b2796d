// strata-run: starts N ranks of a program on this machine.
//   strata-run -n N [-p|--prefix-output] [--grace-ms MS] [--] program [args...]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "launcher.h"

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: strata-run -n N [options] [--] program [args...]\n"
               "  -n, --nranks N        number of ranks to start on this machine (1..1024)\n"
               "  -p, --prefix-output   prefix every output line with [rank]\n"
               "  --grace-ms MS         after a rank fails, wait MS before killing the rest (default 3000)\n"
               "  -h, --help            this text\n"
               "Each rank gets STRATA_UNIQUE_ID, STRATA_RANK, STRATA_NRANKS and STRATA_LOCAL_RANK; programs call\n"
               "strataCommInitFromEnv(). Signals are forwarded; if any rank fails the others are stopped and\n"
               "strata-run exits with that rank's status.\n");
}

bool parseInt(const char* text, int low, int high, int* out) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < low || v > high) return false;
  *out = static_cast<int>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  strata::run::LaunchOptions options;
  bool haveN = false;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    }
    if (a == "-p" || a == "--prefix-output") {
      options.prefixOutput = true;
    } else if ((a == "-n" || a == "--nranks" || a == "-np") && i + 1 < argc) {
      if (!parseInt(argv[++i], 1, 1024, &options.nranks)) {
        std::fprintf(stderr, "strata-run: -n needs a number from 1 to 1024, got '%s'\n", argv[i]);
        return 2;
      }
      haveN = true;
    } else if (a == "--grace-ms" && i + 1 < argc) {
      if (!parseInt(argv[++i], 0, 3600000, &options.graceMs)) {
        std::fprintf(stderr, "strata-run: --grace-ms needs milliseconds, got '%s'\n", argv[i]);
        return 2;
      }
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "strata-run: unknown option '%s'\n", a.c_str());
      usage(stderr);
      return 2;
    } else {
      break;
    }
  }
  for (; i < argc; ++i) options.command.push_back(argv[i]);
  if (!haveN || options.command.empty()) {
    usage(stderr);
    return 2;
  }
  return strata::run::launchJob(options);
}
