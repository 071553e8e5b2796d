#include "launcher.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "src/core/unique_id.h"
#include "output_forwarder.h"
#include "strata/strata.h"

namespace strata::run {
namespace {

volatile sig_atomic_t gForwardedSignal = 0;

void onSignal(int signal) { gForwardedSignal = signal; }

pid_t startRank(const LaunchOptions& options, int rank, const std::string& idHex, int* outFd, int* errFd) {
  int outPipe[2] = {-1, -1};
  int errPipe[2] = {-1, -1};
  if (options.prefixOutput && (pipe(outPipe) != 0 || pipe(errPipe) != 0)) return -1;
  // Everything the child needs is built here: the launcher already runs the bootstrap root
  // thread, and a forked child may only make async-signal-safe calls before exec.
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "STRATA_UNIQUE_ID=", 17) && std::strncmp(*e, "STRATA_RANK=", 12) &&
        std::strncmp(*e, "STRATA_NRANKS=", 14) && std::strncmp(*e, "STRATA_LOCAL_RANK=", 18)) {
      environment.emplace_back(*e);
    }
  }
  environment.push_back("STRATA_UNIQUE_ID=" + idHex);
  environment.push_back("STRATA_RANK=" + std::to_string(rank));
  environment.push_back("STRATA_NRANKS=" + std::to_string(options.nranks));
  environment.push_back("STRATA_LOCAL_RANK=" + std::to_string(rank));
  std::vector<char*> envp;
  for (auto& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (const auto& a : options.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) {
    if (pid > 0) setpgid(pid, pid);  // also here: the child may not have run yet
    if (options.prefixOutput) {
      close(outPipe[1]);
      close(errPipe[1]);
      *outFd = outPipe[0];
      *errFd = errPipe[0];
    }
    return pid;
  }
  // Child: die with the launcher, see the job's environment, run the program.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  setpgid(0, 0);  // its own process group, so stopping a rank stops what it started too
  if (getppid() != parent) _exit(127);
  if (options.prefixOutput) {
    dup2(outPipe[1], 1);
    dup2(errPipe[1], 2);
    close(outPipe[0]);
    close(errPipe[0]);
    close(outPipe[1]);
    close(errPipe[1]);
  }
  execvpe(argv[0], argv.data(), envp.data());
  static const char message[] = "strata-run: cannot run the program (not found or not executable)\n";
  (void)!write(2, message, sizeof(message) - 1);
  _exit(127);
}

// Each rank leads its own process group: signal the whole group.
void signalAll(const std::vector<pid_t>& ranks, int signal) {
  for (pid_t p : ranks) {
    if (p > 0) kill(-p, signal);
  }
}

int exitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int launchJob(const LaunchOptions& options) {
  // Ranks of a local job talk over loopback unless the user chose an interface.
  setenv("STRATA_SOCKET_IFNAME", std::getenv("STRATA_SOCKET_IFNAME") ? std::getenv("STRATA_SOCKET_IFNAME") : "lo", 1);
  strataUniqueId id;
  if (strataGetUniqueId(&id) != strataSuccess) {
    std::fprintf(stderr, "strata-run: cannot start the bootstrap root: %s\n", strataGetLastError(nullptr));
    return 1;
  }
  std::string idHex = uniqueIdToHex(id);

  struct sigaction action {};
  action.sa_handler = onSignal;
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaction(s, &action, nullptr);

  OutputForwarder forwarder(options.prefixOutput);
  std::vector<pid_t> ranks(static_cast<size_t>(options.nranks), -1);
  for (int r = 0; r < options.nranks; ++r) {
    int outFd = -1, errFd = -1;
    ranks[r] = startRank(options, r, idHex, &outFd, &errFd);
    if (ranks[r] < 0) {
      std::fprintf(stderr, "strata-run: cannot start rank %d: %s\n", r, std::strerror(errno));
      for (pid_t p : ranks) if (p > 0) kill(p, SIGKILL);
      return 1;
    }
    if (options.prefixOutput) forwarder.addRank(r, outFd, errFd);
  }

  int result = 0;
  int running = options.nranks;
  bool ending = false;
  auto killAt = std::chrono::steady_clock::time_point::max();
  bool outputOpen = options.prefixOutput;
  while (running > 0 || outputOpen) {
    if (outputOpen) {
      outputOpen = forwarder.pump(running > 0 ? 20 : 200);
    } else {
      usleep(2000);
    }
    if (gForwardedSignal != 0) {
      int s = gForwardedSignal;
      gForwardedSignal = 0;
      signalAll(ranks, s);
      if (!ending) {
        ending = true;
        result = 128 + s;
        killAt = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.graceMs);
      }
    }
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      for (int r = 0; r < options.nranks; ++r) {
        if (ranks[r] != pid) continue;
        ranks[r] = -1;
        --running;
        int code = exitCodeOf(status);
        if (code != 0 && !ending) {
          std::fprintf(stderr, "strata-run: rank %d exited with status %d; stopping the other ranks\n", r, code);
          ending = true;
          result = code;
          signalAll(ranks, SIGTERM);
          killAt = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.graceMs);
        }
      }
    }
    if (ending && running > 0 && std::chrono::steady_clock::now() > killAt) {
      signalAll(ranks, SIGKILL);
      killAt = std::chrono::steady_clock::time_point::max();
    }
  }
  return result;
}

}  // namespace strata::run
