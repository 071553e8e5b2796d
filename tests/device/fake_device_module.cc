// A device module (src/device/device_api.h) that runs on the CPU, so that the device-memory path
// of the library (staging, the proxy, stream order, errors) is tested on machines without a GPU.
// It models what matters of a GPU runtime:
//   - device memory the CPU cannot touch: an allocation is an inaccessible (PROT_NONE) address
//     range whose bytes live elsewhere, so a library bug that dereferences a device pointer on the
//     CPU crashes the test instead of passing;
//   - streams: each a thread running its queued work in order; NULL is a process-wide default
//     stream; copies, callbacks and waits run when the stream reaches them;
//   - "current device" per thread, and the device of each allocation.
// The test programs reach the same memory and streams through cudart-shaped functions
// (fakeCudaMalloc, fakeCudaMemcpy, ...), so one test source runs on this module or on CUDA.
// STRATA_FAKE_DEVICES sets the device count (default 1; 0: none usable); STRATA_FAKE_STREAM_DELAY_US
// delays each queued operation (streams that lag far behind the calls).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "src/common/datatype.h"
#include "src/device/device_api.h"
#include "src/reduce/reduce.h"

namespace {

enum FakeError { kOk = 0, kInvalidValue = 1, kNoMemory = 2, kAlreadyMapped = 3, kNoDevice = 100 };

struct Allocation {
  size_t bytes = 0;
  char* backing = nullptr;  // where the bytes are: a shared mapping of `fd`, so other processes can map it too
  int device = 0;
  int fd = -1;           // the memfd holding the bytes (-1: opened from another process's handle)
  uint64_t serial = 0;   // tells apart allocations that reuse a descriptor number
  int64_t importedFrom = 0;  // opened from that process's handle (0: allocated here)
};

// Allocations of other processes mapped here, by (process, serial): as some drivers do, a second
// open of one allocation in a process fails (so a library that opens per communicator is caught).
std::set<std::pair<int64_t, uint64_t>>& imported() {
  static auto* s = new std::set<std::pair<int64_t, uint64_t>>();
  return *s;
}

// What an IPC handle of this module holds: where another process finds the bytes.
struct IpcHandle {
  char magic[8];
  int64_t pid;
  int64_t fd;
  uint64_t serial;
  uint64_t bytes;
};
static_assert(sizeof(IpcHandle) <= STRATA_DEVICE_IPC_HANDLE_BYTES, "fake IPC handle too large");
constexpr char kIpcMagic[8] = "fakeipc";
std::atomic<uint64_t> nextSerial{1};

std::mutex allocationsMutex;
std::map<uintptr_t, Allocation>& allocations() {
  static auto* a = new std::map<uintptr_t, Allocation>();
  return *a;
}

thread_local int currentDevice = 0;

int deviceTotal() {
  const char* text = std::getenv("STRATA_FAKE_DEVICES");
  return text != nullptr ? std::atoi(text) : 1;
}

// The CPU-reachable address of `p`: the backing bytes of device memory, `p` itself for host
// memory. `bytes` must lie inside one allocation.
char* reach(const void* p, size_t bytes, bool* ok) {
  std::lock_guard<std::mutex> lock(allocationsMutex);
  auto& all = allocations();
  auto it = all.upper_bound(reinterpret_cast<uintptr_t>(p));
  if (it != all.begin()) {
    --it;
    uintptr_t offset = reinterpret_cast<uintptr_t>(p) - it->first;
    if (offset < it->second.bytes || (offset == it->second.bytes && bytes == 0)) {
      *ok = offset + bytes <= it->second.bytes;
      return it->second.backing + offset;
    }
  }
  *ok = true;
  return static_cast<char*>(const_cast<void*>(p));
}

class Stream {
 public:
  Stream() : worker_([this] { loop(); }) {}
  ~Stream() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    worker_.join();
  }
  void push(std::function<void()> work) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(work));
    }
    changed_.notify_all();
  }
  void synchronize() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return queue_.empty() && !busy_; });
  }

 private:
  void loop() {
    const char* delay = std::getenv("STRATA_FAKE_STREAM_DELAY_US");
    const long delayUs = delay != nullptr ? std::atol(delay) : 0;
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      std::function<void()> work = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      lock.unlock();
      if (delayUs > 0) std::this_thread::sleep_for(std::chrono::microseconds(delayUs));
      work();
      lock.lock();
      busy_ = false;
      changed_.notify_all();
    }
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread worker_;
};

Stream& streamOf(void* stream) {
  if (stream != nullptr) return *static_cast<Stream*>(stream);
  static Stream* defaultStream = new Stream();  // lives as long as the process, as CUDA's
  return *defaultStream;
}

// Failure injection for the tests of the library's error paths (fakeCudaFailNext): the call
// named fails once, after `countdown` more successful ones.
std::mutex failMutex;
std::string failCall;
int failCountdown = -1;

bool injectedFailure(const char* call) {
  std::lock_guard<std::mutex> lock(failMutex);
  if (failCall != call) return false;
  if (failCountdown-- > 0) return false;
  failCall.clear();
  return true;
}

// --- the module's table -------------------------------------------------------------------

int deviceCount(char* why, size_t whyBytes) {
  int n = deviceTotal();
  if (n <= 0) std::snprintf(why, whyBytes, "STRATA_FAKE_DEVICES=%d", n);
  return n > 0 ? n : -1;
}

int getDevice(int* device) {
  *device = currentDevice;
  return kOk;
}

int pointerKind(const void* ptr, int* kind, int* device) {
  std::lock_guard<std::mutex> lock(allocationsMutex);
  auto& all = allocations();
  auto it = all.upper_bound(reinterpret_cast<uintptr_t>(ptr));
  *kind = strataPointerHost;
  *device = -1;
  if (it != all.begin()) {
    --it;
    if (reinterpret_cast<uintptr_t>(ptr) - it->first < it->second.bytes) {
      *kind = strataPointerDevice;
      *device = it->second.device;
    }
  }
  return kOk;
}

std::atomic<long> hostAllocations{0};

int hostAlloc(void** ptr, void** deviceView, size_t bytes) {
  if (injectedFailure("hostAlloc")) return kNoMemory;
  hostAllocations.fetch_add(1);
  *ptr = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
  if (*ptr == nullptr) return kNoMemory;
  *deviceView = *ptr;
  return kOk;
}

int hostFree(void* ptr) {
  std::free(ptr);
  return kOk;
}

int copyAsync(void* dst, const void* src, size_t bytes, void* stream) {
  if (injectedFailure("copyAsync")) return kInvalidValue;
  bool okDst = true, okSrc = true;
  reach(dst, bytes, &okDst);
  reach(src, bytes, &okSrc);
  if (!okDst || !okSrc) return kInvalidValue;  // a range running past its allocation
  streamOf(stream).push([dst, src, bytes] {
    bool ok = true;
    std::memcpy(reach(dst, bytes, &ok), reach(src, bytes, &ok), bytes);
  });
  return kOk;
}

int hostCallback(void* stream, void (*fn)(void*), void* arg) {
  if (injectedFailure("hostCallback")) return kInvalidValue;
  streamOf(stream).push([fn, arg] { fn(arg); });
  return kOk;
}

int waitCounter(void* stream, const volatile uint64_t* counter, uint64_t target) {
  if (injectedFailure("waitCounter")) return kInvalidValue;
  streamOf(stream).push([counter, target] {
    while (__atomic_load_n(const_cast<const uint64_t*>(counter), __ATOMIC_ACQUIRE) < target) {
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  });
  return kOk;
}

int reduce(void* dst, const void* a, const void* b, size_t count, int dtype, int op, void* stream) {
  streamOf(stream).push([=] {
    bool ok = true;
    strata::reduceBuffers(reach(dst, 0, &ok), reach(a, 0, &ok), reach(b, 0, &ok), count,
                          static_cast<strataDataType_t>(dtype), static_cast<strataRedOp_t>(op));
  });
  return kOk;
}

int streamSynchronize(void* stream) {
  streamOf(stream).synchronize();
  return kOk;
}

int reduceTable(void* dst, const volatile uint64_t* table, size_t count, int dtype, int op, int average,
                void* stream) {
  if (injectedFailure("reduceTable")) return kInvalidValue;
  streamOf(stream).push([=] {
    const int n = static_cast<int>(__atomic_load_n(const_cast<const uint64_t*>(table), __ATOMIC_ACQUIRE));
    if (n == 0 || count == 0) return;
    const size_t bytes = count * strata::dataTypeSize(static_cast<strataDataType_t>(dtype));
    bool ok = true;
    char* out = reach(dst, bytes, &ok);
    auto source = [&](int k) { return reach(reinterpret_cast<const void*>(table[1 + k]), bytes, &ok); };
    // Combined aside, then written: as on a GPU, where each element is read from every source
    // before it is written, dst may be one of the sources (a two-shot allreduce in place).
    std::vector<char> sum(source(0), source(0) + bytes);
    for (int k = 1; k < n; ++k) {
      strata::reduceBuffers(sum.data(), sum.data(), source(k), count, static_cast<strataDataType_t>(dtype),
                            static_cast<strataRedOp_t>(op));
    }
    if (average != 0) strata::divideByCount(sum.data(), count, static_cast<strataDataType_t>(dtype), n);
    std::memcpy(out, sum.data(), bytes);
    if (!ok) std::fprintf(stderr, "fake device: reduceTable read past an allocation\n"), std::abort();
  });
  return kOk;
}

int copyTable(void* dst, const volatile uint64_t* table, size_t /*maxBytes*/, int /*maxSources*/, void* stream) {
  if (injectedFailure("copyTable")) return kInvalidValue;
  streamOf(stream).push([=] {
    const int n = static_cast<int>(__atomic_load_n(const_cast<const uint64_t*>(table), __ATOMIC_ACQUIRE));
    bool ok = true;
    for (int k = 0; k < n; ++k) {
      const size_t bytes = table[3 + 3 * k];
      char* out = reach(static_cast<char*>(dst) + table[2 + 3 * k], bytes, &ok);
      std::memmove(out, reach(reinterpret_cast<const void*>(table[1 + 3 * k]), bytes, &ok), bytes);
    }
    if (!ok) std::fprintf(stderr, "fake device: copyTable went past an allocation\n"), std::abort();
  });
  return kOk;
}

int deviceIdentity(int device, char* out, size_t outBytes) {
  std::snprintf(out, outBytes, "fake-device-%d", device);
  return kOk;
}

int fakeMalloc(void** ptr, size_t bytes);
int fakeFree(void* ptr);

int deviceAlloc(int device, void** ptr, size_t bytes) {
  if (injectedFailure("deviceAlloc")) return kNoMemory;
  const int current = currentDevice;
  currentDevice = device;
  const int code = fakeMalloc(ptr, bytes);
  currentDevice = current;
  return code;
}

int deviceFree(void* ptr) { return fakeFree(ptr); }

int ipcHandle(const void* ptr, void* handle, size_t* offset) {
  if (injectedFailure("ipcHandle")) return kInvalidValue;
  std::lock_guard<std::mutex> lock(allocationsMutex);
  auto& all = allocations();
  auto it = all.upper_bound(reinterpret_cast<uintptr_t>(ptr));
  if (it == all.begin()) return kInvalidValue;
  --it;
  if (reinterpret_cast<uintptr_t>(ptr) - it->first >= it->second.bytes || it->second.fd < 0) return kInvalidValue;
  IpcHandle h{};
  std::memcpy(h.magic, kIpcMagic, sizeof(h.magic));
  h.pid = getpid();
  h.fd = it->second.fd;
  h.serial = it->second.serial;
  h.bytes = it->second.bytes;
  std::memset(handle, 0, STRATA_DEVICE_IPC_HANDLE_BYTES);
  std::memcpy(handle, &h, sizeof(h));
  *offset = reinterpret_cast<uintptr_t>(ptr) - it->first;
  return kOk;
}

// As CUDA, a process cannot open its own handle.
int ipcOpen(int device, const void* handle, void** base) {
  if (injectedFailure("ipcOpen")) return kInvalidValue;
  IpcHandle h;
  std::memcpy(&h, handle, sizeof(h));
  if (std::memcmp(h.magic, kIpcMagic, sizeof(h.magic)) != 0 || h.pid == getpid()) return kInvalidValue;
  {
    std::lock_guard<std::mutex> lock(allocationsMutex);
    if (imported().count({h.pid, h.serial}) > 0) return kAlreadyMapped;
  }
  const std::string path = "/proc/" + std::to_string(h.pid) + "/fd/" + std::to_string(h.fd);
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return kInvalidValue;
  void* backing = mmap(nullptr, h.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (backing == MAP_FAILED) return kInvalidValue;
  void* range = mmap(nullptr, h.bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (range == MAP_FAILED) {
    munmap(backing, h.bytes);
    return kNoMemory;
  }
  std::lock_guard<std::mutex> lock(allocationsMutex);
  allocations()[reinterpret_cast<uintptr_t>(range)] = {h.bytes, static_cast<char*>(backing), device, -1, h.serial,
                                                       h.pid};
  imported().insert({h.pid, h.serial});
  *base = range;
  return kOk;
}

int ipcClose(int /*device*/, void* base) { return fakeFree(base); }

const char* errorString(int code) {
  switch (code) {
    case kOk:
      return "no error";
    case kInvalidValue:
      return "invalid argument";
    case kNoMemory:
      return "out of memory";
    case kAlreadyMapped:
      return "already mapped";
    case kNoDevice:
      return "no device";
  }
  return "unknown error";
}

// Device memory: an inaccessible address range, its bytes in a memfd mapped elsewhere (so that
// another process can map them from an IPC handle).
int fakeMalloc(void** ptr, size_t bytes) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t span = (std::max<size_t>(bytes, 1) + page - 1) / page * page;
  void* range = mmap(nullptr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (range == MAP_FAILED) return kNoMemory;
  int fd = memfd_create("fake-device-memory", MFD_CLOEXEC);
  void* backing = MAP_FAILED;
  if (fd >= 0 && ftruncate(fd, static_cast<off_t>(span)) == 0) {
    backing = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  }
  if (backing == MAP_FAILED) {
    if (fd >= 0) close(fd);
    munmap(range, span);
    return kNoMemory;
  }
  std::lock_guard<std::mutex> lock(allocationsMutex);
  allocations()[reinterpret_cast<uintptr_t>(range)] = {span, static_cast<char*>(backing), currentDevice, fd,
                                                       nextSerial.fetch_add(1)};
  *ptr = range;
  return kOk;
}

// Frees an allocation, or unmaps one opened from another process's handle.
int fakeFree(void* ptr) {
  std::lock_guard<std::mutex> lock(allocationsMutex);
  auto it = allocations().find(reinterpret_cast<uintptr_t>(ptr));
  if (it == allocations().end()) return kInvalidValue;
  munmap(ptr, it->second.bytes);
  munmap(it->second.backing, it->second.bytes);
  if (it->second.fd >= 0) close(it->second.fd);
  if (it->second.importedFrom != 0) imported().erase({it->second.importedFrom, it->second.serial});
  allocations().erase(it);
  return kOk;
}

const strataDeviceApi kApi = {STRATA_DEVICE_API_VERSION,
                              "fake device (CPU)",
                              deviceCount,
                              getDevice,
                              pointerKind,
                              hostAlloc,
                              hostFree,
                              copyAsync,
                              hostCallback,
                              waitCounter,
                              reduce,
                              streamSynchronize,
                              errorString,
                              deviceIdentity,
                              deviceAlloc,
                              deviceFree,
                              ipcHandle,
                              ipcOpen,
                              ipcClose,
                              reduceTable,
                              copyTable};

}  // namespace

extern "C" {

__attribute__((visibility("default"))) const strataDeviceApi* strataDeviceApiV1(void) { return &kApi; }

// --- what test programs use, shaped as cudart's calls -----------------------------------------

__attribute__((visibility("default"))) int fakeCudaSetDevice(int device) {
  if (device < 0 || device >= deviceTotal()) return kInvalidValue;
  currentDevice = device;
  return kOk;
}

__attribute__((visibility("default"))) int fakeCudaMalloc(void** ptr, size_t bytes) { return fakeMalloc(ptr, bytes); }

__attribute__((visibility("default"))) int fakeCudaFree(void* ptr) { return fakeFree(ptr); }

// Synchronous, as cudaMemcpy (which waits for the default stream's earlier work).
__attribute__((visibility("default"))) int fakeCudaMemcpy(void* dst, const void* src, size_t bytes, int /*kind*/) {
  streamOf(nullptr).synchronize();
  bool okDst = true, okSrc = true;
  char* d = reach(dst, bytes, &okDst);
  char* s = reach(src, bytes, &okSrc);
  if (!okDst || !okSrc) return kInvalidValue;
  std::memcpy(d, s, bytes);
  return kOk;
}

__attribute__((visibility("default"))) int fakeCudaStreamCreate(void** stream) {
  *stream = new Stream();
  return kOk;
}

__attribute__((visibility("default"))) int fakeCudaStreamSynchronize(void* stream) { return streamSynchronize(stream); }

__attribute__((visibility("default"))) int fakeCudaStreamDestroy(void* stream) {
  delete static_cast<Stream*>(stream);
  return kOk;
}

// Test hook: the next call of `call` (hostAlloc, copyAsync, hostCallback, waitCounter) after
// `after` successful ones fails.
__attribute__((visibility("default"))) int fakeCudaFailNext(const char* call, int after) {
  std::lock_guard<std::mutex> lock(failMutex);
  failCall = call;
  failCountdown = after;
  return kOk;
}

// Test hook: pinned allocations made so far (the staging pool must reuse its buffers).
__attribute__((visibility("default"))) long fakeCudaHostAllocations(void) { return hostAllocations.load(); }

// Test hook: the stream sleeps `ms` before its next work (a stream far behind its calls).
__attribute__((visibility("default"))) int fakeCudaStreamHold(void* stream, int ms) {
  streamOf(stream).push([ms] { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); });
  return kOk;
}

}  // extern "C"
