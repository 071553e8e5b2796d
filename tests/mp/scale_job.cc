// A job of many ranks on emulated hosts (STRATA_HOSTID, tcp between hosts, shm inside): first
// only allreduces, then every other collective and a ring of sends, each checked against values
// every rank can compute. What each rank holds is measured twice, after the allreduces and after
// everything: open descriptors (/proc/self/fd) and the bytes of its own shared-memory segment
// (/proc/self/maps). Rank 0 prints the range over ranks; the run fails when an allreduce-only
// rank holds more than --max-fds descriptors (with connections opened on first use, what a rank
// holds depends on the peers its plans use, not on the rank count).
//   strata-run -n 64 -- on_emulated_hosts.sh 16 scale_job [--max-fds N]
#include <dirent.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "strata/strata.h"

namespace {

int gRank = 0, gRanks = 1;
strataComm_t gComm = nullptr;

void check(strataResult_t result, const char* what) {
  if (result == strataSuccess) return;
  std::fprintf(stderr, "rank %d: %s failed: %s: %s\n", gRank, what, strataGetErrorString(result), strataGetLastError(gComm));
  std::exit(1);
}

void expectEqual(const std::vector<int32_t>& got, const std::vector<int32_t>& want, const std::string& what) {
  for (size_t i = 0; i < want.size(); ++i) {
    if (got[i] != want[i]) {
      std::fprintf(stderr, "rank %d: %s: element %zu is %d, expected %d\n", gRank, what.c_str(), i, got[i], want[i]);
      std::exit(1);
    }
  }
}

// Rank r's input element i (small, so every sum is exact).
int32_t input(int r, size_t i) { return static_cast<int32_t>((r + 1) * (1 + i % 7)); }

std::vector<int32_t> inputOf(int r, size_t count, size_t offset = 0) {
  std::vector<int32_t> v(count);
  for (size_t i = 0; i < count; ++i) v[i] = input(r, offset + i);
  return v;
}

int64_t openDescriptors() {
  int64_t count = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (dirent* entry = readdir(dir)) count += entry->d_name[0] != '.' ? 1 : 0;
    closedir(dir);
    --count;  // the directory's own descriptor
  }
  return count;
}

// Bytes of this rank's own inbound segment (its rings and window), as mapped here.
int64_t ownSharedMemoryBytes() {
  std::ifstream maps("/proc/self/maps");
  const std::string mine = "/memfd:strata-inbound-" + std::to_string(gRank) + " ";
  int64_t bytes = 0;
  for (std::string line; std::getline(maps, line);) {
    if (line.find(mine) == std::string::npos) continue;
    unsigned long long begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx", &begin, &end) == 2) bytes += static_cast<int64_t>(end - begin);
  }
  return bytes;
}

void allReduces() {
  for (size_t count : {size_t{1}, size_t{1023}, size_t{70001}, size_t{1} << 20}) {
    std::vector<int32_t> out(count), want(count, 0);
    for (int r = 0; r < gRanks; ++r) {
      for (size_t i = 0; i < count; ++i) want[i] += input(r, i);
    }
    check(strataAllReduce(inputOf(gRank, count).data(), out.data(), count, strataInt32, strataSum, gComm, nullptr), "allreduce");
    expectEqual(out, want, "allreduce of " + std::to_string(count));
  }
}

void everythingElse() {
  const size_t count = 1031;
  const int root = gRanks / 2;
  const std::vector<int32_t> mine = inputOf(gRank, count);
  std::vector<int32_t> out(count), all(count * static_cast<size_t>(gRanks)), sums(count, 0);
  for (int r = 0; r < gRanks; ++r) {
    for (size_t i = 0; i < count; ++i) sums[i] += input(r, i);
  }
  std::vector<int32_t> gathered;
  for (int r = 0; r < gRanks; ++r) {
    const auto part = inputOf(r, count);
    gathered.insert(gathered.end(), part.begin(), part.end());
  }

  check(strataBroadcast(mine.data(), out.data(), count, strataInt32, root, gComm, nullptr), "broadcast");
  expectEqual(out, inputOf(root, count), "broadcast");
  check(strataReduce(mine.data(), out.data(), count, strataInt32, strataSum, root, gComm, nullptr), "reduce");
  if (gRank == root) expectEqual(out, sums, "reduce");
  check(strataAllGather(mine.data(), all.data(), count, strataInt32, gComm, nullptr), "allgather");
  expectEqual(all, gathered, "allgather");
  check(strataReduceScatter(gathered.data(), out.data(), count, strataInt32, strataSum, gComm, nullptr), "reducescatter");
  std::vector<int32_t> block(count);
  for (size_t i = 0; i < count; ++i) block[i] = gRanks * gathered[static_cast<size_t>(gRank) * count + i];
  expectEqual(out, block, "reducescatter");
  // All-to-all: rank r's block for rank q holds input(r, q * count + i).
  const auto sendAll = inputOf(gRank, count * static_cast<size_t>(gRanks));
  check(strataAllToAll(sendAll.data(), all.data(), count, strataInt32, gComm, nullptr), "alltoall");
  std::vector<int32_t> fromEach;
  for (int r = 0; r < gRanks; ++r) {
    const auto part = inputOf(r, count, static_cast<size_t>(gRank) * count);
    fromEach.insert(fromEach.end(), part.begin(), part.end());
  }
  expectEqual(all, fromEach, "alltoall");
  check(strataGather(mine.data(), all.data(), count, strataInt32, root, gComm, nullptr), "gather");
  if (gRank == root) expectEqual(all, gathered, "gather");
  check(strataScatter(gathered.data(), out.data(), count, strataInt32, root, gComm, nullptr), "scatter");
  expectEqual(out, inputOf(gRank, count), "scatter");
  check(strataBarrier(gComm, nullptr), "barrier");
  // A ring of sends, as a pipeline stage hands activations on.
  const int next = (gRank + 1) % gRanks, previous = (gRank + gRanks - 1) % gRanks;
  check(strataGroupStart(), "group start");
  check(strataSend(mine.data(), count, strataInt32, next, gComm, nullptr), "send");
  check(strataRecv(out.data(), count, strataInt32, previous, gComm, nullptr), "recv");
  check(strataGroupEnd(), "group end");
  expectEqual(out, inputOf(previous, count), "send/recv ring");
}

struct Held {
  int64_t fdsAfterAllReduce, fdsAfterAll, sharedBytes;
};

}  // namespace

int main(int argc, char** argv) {
  int64_t maxFds = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--max-fds") == 0) maxFds = std::atoll(argv[i + 1]);
  }
  check(strataCommInitFromEnv(&gComm), "init");
  check(strataCommUserRank(gComm, &gRank), "rank");
  check(strataCommCount(gComm, &gRanks), "count");
  const int64_t fdsAtInit = openDescriptors();
  allReduces();
  Held held{openDescriptors(), 0, ownSharedMemoryBytes()};
  everythingElse();
  held.fdsAfterAll = openDescriptors();

  std::vector<Held> everyone(static_cast<size_t>(gRanks));
  check(strataAllGather(&held, everyone.data(), sizeof(Held), strataUint8, gComm, nullptr), "report allgather");
  if (gRank == 0) {
    auto range = [&](int64_t Held::*field) {
      int64_t low = everyone[0].*field, high = low;
      for (const Held& h : everyone) low = std::min(low, h.*field), high = std::max(high, h.*field);
      return std::to_string(low) + (low == high ? "" : ".." + std::to_string(high));
    };
    std::printf("scale job: %d ranks, every collective checked\n", gRanks);
    std::printf("  descriptors per rank: %lld at init (rank 0), %s after allreduces only, %s after every collective\n",
                static_cast<long long>(fdsAtInit), range(&Held::fdsAfterAllReduce).c_str(), range(&Held::fdsAfterAll).c_str());
    std::printf("  shared memory per rank (its own segment): %s bytes\n", range(&Held::sharedBytes).c_str());
  }
  int status = 0;
  if (maxFds > 0 && held.fdsAfterAllReduce > maxFds) {
    std::fprintf(stderr, "rank %d: %lld descriptors after allreduces only, more than the bound %lld\n", gRank,
                 static_cast<long long>(held.fdsAfterAllReduce), static_cast<long long>(maxFds));
    status = 1;
  }
  check(strataCommDestroy(gComm), "destroy");
  return status;
}
