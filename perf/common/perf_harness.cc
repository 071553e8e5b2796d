#include "perf/common/perf_harness.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "src/common/datatype.h"
#include "perf/common/perf_memory.h"
#include "perf/common/perf_options.h"
#include "perf/common/perf_report.h"
#include "perf/common/perf_values.h"

namespace strata::perf {
namespace {

#define PERF_CHECK(call)                                                                                    \
  do {                                                                                                      \
    strataResult_t r_ = (call);                                                                             \
    if (r_ != strataSuccess) {                                                                              \
      std::fprintf(stderr, "%s failed: %s: %s\n", #call, strataGetErrorString(r_), strataGetLastError(nullptr)); \
      std::exit(1);                                                                                         \
    }                                                                                                       \
  } while (0)

struct Context {
  const CollectiveTest& test;
  const PerfOptions& options;
  strataComm_t comm;
  int rank;
  int nranks;
  PerfMemory& memory;
};

// One buffer the calls take (host or device memory) and where the tool makes its inputs and
// reads its outputs: the buffer itself on the host, a host mirror copied to and from the device.
class Buffer {
 public:
  Buffer(PerfMemory& memory, size_t bytes)
      : memory_(memory), bytes_(std::max<size_t>(bytes, 1)), ours_(static_cast<char*>(memory.allocate(bytes_))) {
    if (!memory.onHost()) mirror_.resize(bytes_);
  }
  ~Buffer() { memory_.release(ours_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  char* host() { return memory_.onHost() ? ours_ : mirror_.data(); }
  // The calls' address of a host address inside this buffer.
  char* ours(const void* hostAddress) { return ours_ + (static_cast<const char*>(hostAddress) - host()); }
  // The first `bytes` (a size's share of a buffer made for the largest size).
  void upload(size_t bytes) { memory_.upload(ours_, host(), std::min(bytes, bytes_)); }
  void download(size_t bytes) { memory_.download(host(), ours_, std::min(bytes, bytes_)); }

 private:
  PerfMemory& memory_;
  size_t bytes_;
  char* ours_;
  std::vector<char> mirror_;
};

// Where one measurement's operations read and write: the calls' pointers, the buffers behind
// them, and the host addresses of the input to fill and the output to check.
struct Placement {
  Buffer* sendBuffer;
  Buffer* recvBuffer;
  size_t sendBytes;  // what the inputs and the outputs take of the two
  size_t recvBytes;
  const void* send;
  void* recv;
  char* fillHost;
  const char* readHost;
};

double inputElement(const Context& c, size_t i, size_t count, int rank) {
  return c.test.input ? c.test.input(i, count, rank) : inputValue(rank, i);
}

// Combines a per-rank value as -a asks: rank 0's, the mean, the min or the max.
double combineAcrossRanks(const Context& c, double value) {
  double result = value;
  strataRedOp_t op = c.options.average == 2 ? strataMin : c.options.average == 3 ? strataMax : strataSum;
  PERF_CHECK(strataAllReduce(&value, &result, 1, strataFloat64, op, c.comm, nullptr));
  if (c.options.average == 1) result /= c.nranks;
  if (c.options.average == 0) {
    PERF_CHECK(strataBroadcast(&value, &result, 1, strataFloat64, 0, c.comm, nullptr));
  }
  return result;
}

void fillInputs(const Context& c, char* send, size_t count, strataDataType_t dtype) {
  size_t elements = c.test.sendElements(count, c.nranks);
  for (size_t i = 0; i < elements; ++i) storeValue(dtype, send, i, inputElement(c, i, count, c.rank));
}

double processCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// Runs `iters` timed iterations (each -m operations, grouped) and returns microseconds per op:
// wall time, or with -C the CPU time this process spent.
// On a CUDA stream the time runs until the stream has finished the work (as nccl-tests'); -z 1
// waits for it after every operation.
double timeRuns(const Context& c, const void* send, void* recv, size_t count, strataDataType_t dtype, strataRedOp_t op) {
  strataStream_t stream = c.memory.stream();
  auto once = [&]() {
    if (c.options.aggIters > 1) PERF_CHECK(strataGroupStart());
    for (int a = 0; a < c.options.aggIters; ++a) {
      PERF_CHECK(c.test.run(send, recv, count, dtype, op, c.options.root, c.comm, stream));
    }
    if (c.options.aggIters > 1) PERF_CHECK(strataGroupEnd());
    if (c.options.blocking != 0) c.memory.synchronize();
  };
  for (int w = 0; w < c.options.warmupIters; ++w) once();
  c.memory.synchronize();
  PERF_CHECK(strataBarrier(c.comm, nullptr));
  double cpuStart = processCpuSeconds();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < c.options.iters; ++i) once();
  c.memory.synchronize();
  double seconds = c.options.reportCpuTime ? processCpuSeconds() - cpuStart
                                           : std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return seconds * 1e6 / (static_cast<double>(c.options.iters) * c.options.aggIters);
}

// Runs once on fresh inputs and counts output elements, summed over ranks, that differ from the reference.
long countWrong(const Context& c, const Placement& p, size_t count, strataDataType_t dtype, strataRedOp_t op) {
  fillInputs(c, p.fillHost, count, dtype);
  p.sendBuffer->upload(p.sendBytes);
  PERF_CHECK(c.test.run(p.send, p.recv, count, dtype, op, c.options.root, c.comm, c.memory.stream()));
  c.memory.synchronize();
  p.recvBuffer->download(p.recvBytes);
  long wrong = 0;
  bool hasOutput = !c.test.outputOnRootOnly || c.rank == c.options.root;
  size_t elements = hasOutput ? c.test.recvElements(count, c.nranks) : 0;
  for (size_t i = 0; i < elements; ++i) {
    double want = c.test.expected(i, count, dtype, op, c.rank, c.options.root, c.nranks);
    if (!closeEnough(dtype, loadValue(dtype, p.readHost, i), want, c.nranks)) ++wrong;
  }
  long total = 0;
  PERF_CHECK(strataAllReduce(&wrong, &total, 1, strataInt64, strataSum, c.comm, nullptr));
  return total;
}

std::vector<RankDescription> describeRanks(const Context& c) {
  RankDescription mine{static_cast<int>(getpid()), c.memory.device(), {}};
  gethostname(mine.host, sizeof(mine.host) - 1);
  std::vector<RankDescription> all(static_cast<size_t>(c.nranks));
  PERF_CHECK(strataAllGather(&mine, all.data(), sizeof(RankDescription), strataUint8, c.comm, nullptr));
  return all;
}

PlacementResult measure(const Context& c, const Placement& where, size_t count, strataDataType_t dtype, strataRedOp_t op,
                        bool check) {
  PlacementResult p;
  fillInputs(c, where.fillHost, count, dtype);
  where.sendBuffer->upload(where.sendBytes);
  p.timeUs = combineAcrossRanks(c, timeRuns(c, where.send, where.recv, count, dtype, op));
  p.checked = check && c.options.check != 0;
  if (p.checked) {
    for (int k = 0; k < c.options.check; ++k) p.wrong += countWrong(c, where, count, dtype, op);
  }
  size_t es = dataTypeSize(dtype);
  p.algbw = c.test.algorithmBytes(count, es, c.nranks) / p.timeUs / 1e3;
  p.busbw = p.algbw * c.test.busFactor(c.nranks);
  return p;
}

// The three buffers of a run (send, receive, and one for in place), made once for the largest
// size: freeing device memory between sizes would wait for the whole GPU, where another rank's
// stream may be waiting inside a call for this rank (-t ranks sharing a GPU).
struct Buffers {
  Buffer send, recv, shared;
};

ResultRow measureSize(const Context& c, Buffers& buffers, size_t bytes, strataDataType_t dtype, strataRedOp_t op) {
  size_t es = dataTypeSize(dtype);
  size_t count = c.test.countFor(bytes, es, c.nranks);
  size_t sendBytes = c.test.sendElements(count, c.nranks) * es;
  size_t recvBytes = c.test.recvElements(count, c.nranks) * es;
  Buffer& send = buffers.send;
  Buffer& recv = buffers.recv;
  Buffer& shared = buffers.shared;
  const size_t sharedBytes = std::max(sendBytes, recvBytes);

  ResultRow row;
  row.bytes = static_cast<size_t>(c.test.algorithmBytes(count, es, c.nranks));
  row.count = count;
  row.type = dataTypeName(dtype);
  row.redop = c.test.reduces ? redOpName(op) : "none";
  row.root = c.test.rooted ? c.options.root : -1;

  row.outOfPlace = measure(c, {&send, &recv, sendBytes, recvBytes, send.ours(send.host()), recv.ours(recv.host()), send.host(),
                               recv.host()},
                           count, dtype, op, true);

  // In place: the test says where send and receive sit inside one buffer (host addresses first).
  const void* inSend = nullptr;
  void* inRecv = nullptr;
  c.test.inPlacePointers(shared.host(), count, es, c.rank, c.options.root, &inSend, &inRecv);
  char* inFill = const_cast<char*>(static_cast<const char*>(inSend));
  row.inPlace = measure(c, {&shared, &shared, sharedBytes, sharedBytes, shared.ours(inSend), shared.ours(inRecv), inFill,
                            static_cast<char*>(inRecv)},
                        count, dtype, op, c.test.checksInPlace);
  return row;
}

// Bytes of the three buffers measureSize allocates for `bytes` (send, receive, in place).
double bufferBytes(const Context& c, size_t bytes, strataDataType_t dtype) {
  size_t es = dataTypeSize(dtype);
  size_t count = c.test.countFor(bytes, es, c.nranks);
  double send = static_cast<double>(c.test.sendElements(count, c.nranks)) * static_cast<double>(es);
  double recv = static_cast<double>(c.test.recvElements(count, c.nranks)) * static_cast<double>(es);
  return send + recv + std::max(send, recv);
}

bool buffersFit(const Context& c) {
  double physical = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  double needed = 0;
  for (strataDataType_t dtype : c.options.dtypes) needed = std::max(needed, bufferBytes(c, c.options.maxBytes, dtype));
  if (physical <= 0 || needed <= physical / 2) return true;
  if (c.rank == 0) {
    std::fprintf(stderr, "%s: -e %zu needs %.0f bytes of buffers per rank, more than half of this machine's %.0f bytes of "
                 "memory; lower -e\n", c.test.name, c.options.maxBytes, needed, physical);
  }
  return false;
}

// STRATA_TESTS_MIN_BW (nccl-tests' NCCL_TESTS_MIN_BW): fail when the average is below 90 % of it.
bool meetsMinimumBandwidth(const Context& c, double averageBusbw) {
  const char* minBw = std::getenv("STRATA_TESTS_MIN_BW");
  if (minBw == nullptr) return true;
  char* end = nullptr;
  double floor = std::strtod(minBw, &end);
  if (end == minBw || *end != '\0' || !std::isfinite(floor) || floor < 0) {
    if (c.rank == 0) std::fprintf(stderr, "%s: STRATA_TESTS_MIN_BW='%s' is not a bandwidth in GB/s\n", c.test.name, minBw);
    return false;
  }
  if (averageBusbw >= floor * 0.9) return true;
  // Every rank says so: a launcher stops the others when the first failing rank exits, and that
  // may come before rank 0 has written a word.
  std::fprintf(stderr, "%s: rank %d: average busbw %.3f is below 90%% of STRATA_TESTS_MIN_BW=%s\n", c.test.name, c.rank,
               averageBusbw, minBw);
  return false;
}

// One rank's whole run: its memory (the device is chosen before the communicator is made, which
// binds to the current device), its communicator, the sweep, the report from rank 0.
int runRank(const CollectiveTest& test, const PerfOptions& options, int thread,
            const std::function<strataResult_t(strataComm_t*)>& makeComm) {
  std::string memoryError;
  std::unique_ptr<PerfMemory> memory = makePerfMemory(options.memory, thread, options.threads, &memoryError);
  if (!memory) {
    std::fprintf(stderr, "%s: %s\n", test.name, memoryError.c_str());
    return 2;
  }
  strataComm_t comm;
  PERF_CHECK(makeComm(&comm));
  int rank = 0, nranks = 1;
  PERF_CHECK(strataCommUserRank(comm, &rank));
  PERF_CHECK(strataCommCount(comm, &nranks));
  if (test.rooted && options.root >= nranks) {
    if (rank == 0) std::fprintf(stderr, "%s: -r %d is not a rank (there are %d)\n", test.name, options.root, nranks);
    strataCommDestroy(comm);
    return 2;
  }
  Context c{test, options, comm, rank, nranks, *memory};
  // The largest size's buffers must fit this machine: every rank decides alike, so all stop
  // together with the reason instead of one dying of an allocation failure mid-run.
  if (!buffersFit(c)) {
    strataCommDestroy(comm);
    return 2;
  }
  PerfReport report(test, options, nranks);
  std::vector<RankDescription> ranks = describeRanks(c);
  if (rank == 0) report.printHeader(ranks);

  // Buffers for the largest size of any dtype: the sweep's sizes share them.
  size_t sendMax = 0, recvMax = 0;
  for (strataDataType_t dtype : options.dtypes) {
    const size_t es = dataTypeSize(dtype);
    for (size_t bytes : sweepSizes(options)) {
      const size_t count = test.countFor(bytes, es, nranks);
      sendMax = std::max(sendMax, test.sendElements(count, nranks) * es);
      recvMax = std::max(recvMax, test.recvElements(count, nranks) * es);
    }
  }
  Buffers buffers{Buffer(*memory, sendMax), Buffer(*memory, recvMax), Buffer(*memory, std::max(sendMax, recvMax))};
  std::vector<strataRedOp_t> ops = test.reduces ? options.ops : std::vector<strataRedOp_t>{strataSum};
  for (int cycle = 0; options.runCycles == 0 || cycle < options.runCycles; ++cycle) {
    for (strataDataType_t dtype : options.dtypes) {
      for (strataRedOp_t op : ops) {
        for (size_t bytes : sweepSizes(options)) {
          ResultRow row = measureSize(c, buffers, bytes, dtype, op);
          if (rank == 0) report.addRow(row);
        }
      }
    }
  }
  bool reported = rank != 0 || report.finish();
  // Rank 0 holds the totals; every rank exits with the same status.
  double verdict[2] = {static_cast<double>(report.wrongValues()), report.averageBusbw()};
  PERF_CHECK(strataBroadcast(verdict, verdict, 2, strataFloat64, 0, comm, nullptr));
  bool fast = meetsMinimumBandwidth(c, verdict[1]);
  PERF_CHECK(strataCommDestroy(comm));
  return verdict[0] == 0 && fast && reported ? 0 : 1;
}

}  // namespace

int runPerfTool(int argc, char** argv, const CollectiveTest& test) {
  PerfOptions options;
  if (!parsePerfOptions(argc, argv, test.name, &options)) return 2;
  if (!options.algo.empty()) setenv("STRATA_ALGO", options.algo.c_str(), 1);
  if (options.timeoutSeconds > 0) setenv("STRATA_TIMEOUT_MS", std::to_string(options.timeoutSeconds * 1000).c_str(), 1);
  if (options.threads == 1) return runRank(test, options, 0, [](strataComm_t* comm) { return strataCommInitFromEnv(comm); });
  // -t N: the launcher's processes agree on one unique id for all processes x N ranks (through a
  // communicator of the processes), then each thread is rank process x N + thread.
  strataComm_t processes;
  PERF_CHECK(strataCommInitFromEnv(&processes));
  int process = 0, count = 1;
  PERF_CHECK(strataCommUserRank(processes, &process));
  PERF_CHECK(strataCommCount(processes, &count));
  strataUniqueId id{};
  if (process == 0) PERF_CHECK(strataGetUniqueId(&id));
  PERF_CHECK(strataBroadcast(&id, &id, sizeof(id), strataUint8, 0, processes, nullptr));
  PERF_CHECK(strataCommDestroy(processes));
  const int n = count * options.threads;
  std::vector<int> status(static_cast<size_t>(options.threads), 0);
  std::vector<std::thread> ranks;
  for (int t = 0; t < options.threads; ++t) {
    ranks.emplace_back([&, t] {
      status[static_cast<size_t>(t)] = runRank(test, options, t, [&](strataComm_t* comm) {
        return strataCommInitRank(comm, n, id, process * options.threads + t);
      });
    });
  }
  for (std::thread& r : ranks) r.join();
  return *std::max_element(status.begin(), status.end());
}

}  // namespace strata::perf
