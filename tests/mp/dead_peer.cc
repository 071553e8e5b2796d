// A rank dies (SIGKILL) or stops answering (SIGSTOP) in the middle of allreduces. Killed: every
// survivor's call must return strataRemoteError well before STRATA_TIMEOUT_MS (its death is
// noticed, not waited out), also when every rank runs in its own PID namespace (containers
// sharing a host: pid numbers mean nothing there). Stopped: every survivor must get
// strataTimeout at the deadline, not before and not much after. strataCommAbort must return
// promptly, and nothing may be left in /dev/shm. The program forks its own ranks (strata-run
// would stop the survivors itself).
//   dead_peer NRANKS VICTIM [shm|tcp] [FLOATS] [kill|stop|kill-pidns]
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "strata/strata.h"

namespace {

using Clock = std::chrono::steady_clock;

enum class Fault { Kill, Stop, KillInPidNamespaces };

struct Setup {
  int nranks = 0;
  int victim = 0;
  size_t count = 0;
  Fault fault = Fault::Kill;
  int timeoutMs = 10000;
};

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// One rank: allreduce until a call fails. The victim tells the parent (through `started`) once it
// is in the loop, so the fault lands in the middle of a call.
int runRank(const Setup& s, const strataUniqueId& id, int rank, int started) {
  strataComm_t comm;
  if (strataCommInitRank(&comm, s.nranks, id, rank) != strataSuccess) {
    std::fprintf(stderr, "rank %d: init failed: %s\n", rank, strataGetLastError(nullptr));
    return 2;
  }
  std::vector<float> data(s.count, 1.0f);
  if (strataAllReduce(data.data(), data.data(), 1024, strataFloat32, strataSum, comm, nullptr) != strataSuccess) return 3;
  if (rank == s.victim && write(started, "x", 1) != 1) return 4;
  strataResult_t result = strataSuccess;
  double took = 0;
  // Until one fails, for at most 30 s (the fault comes after 50 ms).
  for (auto loopStart = Clock::now(); result == strataSuccess && secondsSince(loopStart) < 30.0;) {
    auto start = Clock::now();
    result = strataAllReduce(data.data(), data.data(), s.count, strataFloat32, strataSum, comm, nullptr);
    took = secondsSince(start);
  }
  if (rank == s.victim) {
    pause();  // the fault is on its way
    return 0;
  }
  std::printf("rank %d: allreduce returned %s after %.2f s: %s\n", rank, strataGetErrorString(result), took,
              strataGetLastError(comm));
  const double timeout = s.timeoutMs / 1000.0;
  bool good = false;
  int code = 0;
  if (s.fault == Fault::Stop) {
    // Alive but silent: only the deadline can end the wait, and it must. The first survivor to
    // reach it gives up and closes its connections, so others may see that instead (code 10):
    // the parent wants at least one strataTimeout.
    good = (result == strataTimeout || result == strataRemoteError) && took > timeout - 0.5 && took < timeout + 2.5;
    code = result == strataTimeout ? 0 : 10;
    if (!good) std::fprintf(stderr, "rank %d: expected an error at the %.1f s deadline\n", rank, timeout);
  } else {
    // Dead: noticed through the peer's liveness, long before the deadline.
    good = result == strataRemoteError && took < 3.0;
    if (!good) std::fprintf(stderr, "rank %d: expected strataRemoteError within 3 s (timeout %.1f s)\n", rank, timeout);
  }
  auto abortStart = Clock::now();
  strataCommAbort(comm);
  double abortTook = secondsSince(abortStart);
  std::printf("rank %d: strataCommAbort returned after %.3f s\n", rank, abortTook);
  return good && abortTook < 2.0 ? code : 1;
}

// Runs a rank in this child, or in a fresh PID namespace: there the rank is pid 1 of its own
// namespace, started by this process, and dies with it (the parent kills this process).
int startRank(const Setup& s, const strataUniqueId& id, int rank, int started) {
  if (s.fault != Fault::KillInPidNamespaces) return runRank(s, id, rank, started);
  if (unshare(CLONE_NEWPID) != 0) {
    std::perror("unshare(CLONE_NEWPID)");
    return 77;
  }
  pid_t inner = fork();
  if (inner == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    _exit(runRank(s, id, rank, started));
  }
  int status = 0;
  waitpid(inner, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

bool leftoversInDevShm() {
  bool found = false;
  if (DIR* dir = opendir("/dev/shm")) {
    while (dirent* entry = readdir(dir)) {
      if (std::strncmp(entry->d_name, "strata", 6) == 0) {
        std::fprintf(stderr, "/dev/shm/%s was left behind\n", entry->d_name);
        found = true;
      }
    }
    closedir(dir);
  }
  return found;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: dead_peer NRANKS VICTIM [shm|tcp] [FLOATS] [kill|stop|kill-pidns]\n");
    return 2;
  }
  Setup s;
  s.nranks = std::atoi(argv[1]);
  s.victim = std::atoi(argv[2]);
  if (argc > 3) setenv("STRATA_TRANSPORT", argv[3], 1);
  // Floats per allreduce: 4 MiB by default (ring or two-shot); a few KiB exercise one-shot.
  s.count = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : size_t{1} << 20;
  std::string mode = argc > 5 ? argv[5] : "kill";
  if (mode == "stop") s.fault = Fault::Stop, s.timeoutMs = 2500;
  if (mode == "kill-pidns") s.fault = Fault::KillInPidNamespaces;
  setenv("STRATA_TIMEOUT_MS", std::to_string(s.timeoutMs).c_str(), 1);
  setenv("STRATA_SOCKET_IFNAME", "lo", 1);
  // Fork before any thread exists (the bootstrap root is a thread): a child forked from a
  // threaded parent may inherit a lock held mid-operation. The id follows through a pipe.
  int idPipe[2], started[2];
  if (pipe(idPipe) != 0 || pipe(started) != 0) return 2;
  std::vector<pid_t> pids;
  for (int r = 0; r < s.nranks; ++r) {
    pid_t pid = fork();
    if (pid == 0) {
      close(idPipe[1]);
      close(started[0]);
      strataUniqueId childId;
      if (read(idPipe[0], &childId, sizeof(childId)) != static_cast<ssize_t>(sizeof(childId))) _exit(2);
      int code = startRank(s, childId, r, started[1]);
      std::fflush(stdout);
      _exit(code);
    }
    pids.push_back(pid);
  }
  close(idPipe[0]);
  close(started[1]);
  strataUniqueId id;
  if (strataGetUniqueId(&id) != strataSuccess) return 2;
  for (int r = 0; r < s.nranks; ++r) {
    if (write(idPipe[1], &id, sizeof(id)) != static_cast<ssize_t>(sizeof(id))) return 2;
  }
  close(idPipe[1]);
  char byte;
  if (read(started[0], &byte, 1) == 1) {
    usleep(50000);
    kill(pids[s.victim], s.fault == Fault::Stop ? SIGSTOP : SIGKILL);
  }
  int failures = 0;
  bool skipped = false, timedOut = false;
  // Survivors must all finish on their own: a wait that nothing ends (a lost deadline) fails here.
  auto giveUpAt = Clock::now() + std::chrono::milliseconds(s.timeoutMs + 20000);
  for (int r = 0; r < s.nranks; ++r) {
    if (r == s.victim) continue;
    int status = 0;
    while (waitpid(pids[r], &status, WNOHANG) == 0) {
      if (Clock::now() > giveUpAt) {
        std::fprintf(stderr, "survivor rank %d is still waiting long after the deadline\n", r);
        for (pid_t p : pids) kill(p, SIGKILL);
      }
      usleep(10000);
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    skipped = skipped || code == 77;
    timedOut = timedOut || (s.fault == Fault::Stop && code == 0);
    if (code != 0 && code != 77 && !(s.fault == Fault::Stop && code == 10)) {
      std::fprintf(stderr, "survivor rank %d failed (status %d)\n", r, status);
      ++failures;
    }
  }
  if (s.fault == Fault::Stop && !timedOut) {
    std::fprintf(stderr, "no survivor returned strataTimeout for the stopped rank\n");
    ++failures;
  }
  kill(pids[s.victim], SIGKILL);  // a stopped victim is still there
  int status = 0;
  waitpid(pids[s.victim], &status, 0);
  if (!skipped && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
    std::fprintf(stderr, "victim rank %d did not die by SIGKILL (status %d)\n", s.victim, status);
    ++failures;
  }
  // Shared memory is anonymous: a crash can leave nothing behind.
  if (leftoversInDevShm()) ++failures;
  if (skipped) {
    std::printf("SKIPPED: cannot create PID namespaces here (needs root)\n");
    return 77;
  }
  std::printf("%s (%d problems, %d ranks, victim %d, %s)\n", failures ? "FAILED" : "PASSED", failures, s.nranks, s.victim,
              mode.c_str());
  return failures ? 1 : 0;
}
