// A rank dies (SIGKILL) in the middle of a collective: every survivor's call must return
// strataRemoteError or strataTimeout within STRATA_TIMEOUT_MS, and strataCommAbort must return
// promptly. This program forks its own ranks (strata-run would stop the survivors itself).
//   dead_peer NRANKS VICTIM [shm|tcp] [FLOATS]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <dirent.h>

#include <string>

#include "core/unique_id.h"
#include "strata/strata.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kTimeoutMs = 4000;

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int runRank(const strataUniqueId& id, int rank, int nranks, int victim, size_t count) {
  strataComm_t comm;
  if (strataCommInitRank(&comm, nranks, id, rank) != strataSuccess) {
    std::fprintf(stderr, "rank %d: init failed: %s\n", rank, strataGetLastError(nullptr));
    return 2;
  }
  std::vector<float> data(count, 1.0f);
  if (strataAllReduce(data.data(), data.data(), 1024, strataFloat32, strataSum, comm, nullptr) != strataSuccess) return 3;
  if (rank == victim && fork() == 0) {
    // A helper kills the victim while everyone is busy in the loop below.
    usleep(50000);
    kill(getppid(), SIGKILL);
    _exit(0);
  }
  // Allreduce until one fails; the victim's death lands in the middle of one of these calls.
  strataResult_t result = strataSuccess;
  double took = 0;
  // Until one fails, for at most 10 s (the victim dies after 50 ms).
  for (auto loopStart = Clock::now(); result == strataSuccess && secondsSince(loopStart) < 10.0;) {
    auto start = Clock::now();
    result = strataAllReduce(data.data(), data.data(), count, strataFloat32, strataSum, comm, nullptr);
    took = secondsSince(start);
  }
  if (rank == victim) {
    pause();  // the SIGKILL is on its way
    return 0;
  }
  std::printf("rank %d: allreduce returned %s after %.2f s: %s\n", rank, strataGetErrorString(result), took,
              strataGetLastError(comm));
  bool goodCode = result == strataRemoteError || result == strataTimeout;
  bool inTime = took < kTimeoutMs / 1000.0 + 2.0;
  auto abortStart = Clock::now();
  strataCommAbort(comm);
  double abortTook = secondsSince(abortStart);
  std::printf("rank %d: strataCommAbort returned after %.3f s\n", rank, abortTook);
  if (!goodCode) std::fprintf(stderr, "rank %d: expected strataRemoteError or strataTimeout\n", rank);
  if (!inTime) std::fprintf(stderr, "rank %d: took longer than the timeout\n", rank);
  return goodCode && inTime && abortTook < 2.0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: dead_peer NRANKS VICTIM [shm|tcp] [FLOATS]\n");
    return 2;
  }
  int nranks = std::atoi(argv[1]);
  int victim = std::atoi(argv[2]);
  if (argc > 3) setenv("STRATA_TRANSPORT", argv[3], 1);
  // Floats per allreduce: 4 MiB by default (ring); a few KiB exercise one-shot over peer memory.
  size_t count = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : size_t{1} << 20;
  setenv("STRATA_TIMEOUT_MS", std::to_string(kTimeoutMs).c_str(), 1);
  setenv("STRATA_SOCKET_IFNAME", "lo", 1);
  // Fork before any thread exists (the bootstrap root is a thread): a child forked from a
  // threaded parent may inherit a lock held mid-operation. The id follows through a pipe.
  int idPipe[2];
  if (pipe(idPipe) != 0) return 2;
  std::vector<pid_t> pids;
  for (int r = 0; r < nranks; ++r) {
    pid_t pid = fork();
    if (pid == 0) {
      close(idPipe[1]);
      strataUniqueId childId;
      if (read(idPipe[0], &childId, sizeof(childId)) != static_cast<ssize_t>(sizeof(childId))) _exit(2);
      int code = runRank(childId, r, nranks, victim, count);
      std::fflush(stdout);
      _exit(code);
    }
    pids.push_back(pid);
  }
  close(idPipe[0]);
  strataUniqueId id;
  if (strataGetUniqueId(&id) != strataSuccess) return 2;
  for (int r = 0; r < nranks; ++r) {
    if (write(idPipe[1], &id, sizeof(id)) != static_cast<ssize_t>(sizeof(id))) return 2;
  }
  close(idPipe[1]);
  int failures = 0;
  for (int r = 0; r < nranks; ++r) {
    int status = 0;
    waitpid(pids[r], &status, 0);
    if (r == victim) {
      if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
        std::fprintf(stderr, "victim rank %d did not die by SIGKILL\n", r);
        ++failures;
      }
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "survivor rank %d failed (status %d)\n", r, status);
      ++failures;
    }
  }
  // Shared memory must be gone: ranks unlink their segments once everyone has mapped them, so a
  // crash afterwards leaks nothing.
  std::string prefix = "strata-" + strata::secretTag(strata::decodeUniqueId(id).value().secret) + "-";
  if (DIR* dir = opendir("/dev/shm")) {
    while (dirent* entry = readdir(dir)) {
      if (std::strncmp(entry->d_name, prefix.c_str(), prefix.size()) == 0) {
        std::fprintf(stderr, "shared memory segment /dev/shm/%s was left behind\n", entry->d_name);
        ++failures;
      }
    }
    closedir(dir);
  }
  std::printf("%s (%d problems, %d ranks, victim %d)\n", failures ? "FAILED" : "PASSED", failures, nranks, victim);
  return failures ? 1 : 0;
}
