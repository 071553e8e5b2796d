// Runs a communicator's device-memory operations on the host, in call order, for the GPU streams
// that wait on them (DESIGN.md: "CUDA kernels + a proxy thread for device buffers"). One proxy,
// and one thread, per communicator that has used device memory.
//
// The calling thread queues on the caller's stream, for each operation: copies of its inputs
// into pinned staging memory, a callback that marks the operation ready (its inputs are staged),
// a wait until the proxy's completion counter reaches the operation's number, copies of its
// results back into device memory, and a callback that returns the staging memory. The proxy
// thread takes operations in the order they were called, which is the same on every rank, and
// runs each once it is ready: a stream that reaches its callbacks in another order (two streams)
// cannot reorder the ranks' collectives. Whatever the outcome, the counter then advances, so a
// stream never waits for ever: a failed operation's error is the communicator's asynchronous
// error (strataCommGetAsyncError), as with NCCL.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "src/common/status.h"
#include "src/device/device_runtime.h"

namespace strata {

class DeviceProxy {
 public:
  // Pinned host memory (or, `onDevice`, device memory), reused across operations.
  struct Staging {
    void* host = nullptr;        // the address (a device address when onDevice)
    void* deviceView = nullptr;  // pinned memory: the address by which device code reaches it
    size_t bytes = 0;            // capacity
    bool onDevice = false;
  };

  // One operation in flight: what the stream callbacks receive. The proxy outlives it: its owner
  // (the communicator) waits for every operation to be retired before letting it go.
  struct Operation {
    DeviceProxy* proxy = nullptr;
    // An operation whose stream waits `phases` times takes that many counter values, the last
    // being `sequence`: its work releases the earlier ones itself (releaseThrough), the proxy
    // the last when the work returns.
    int phases = 1;
    uint64_t sequence = 0;
    std::function<Status()> work;
    std::vector<Staging> staging;
    bool ready = false;           // guarded by the proxy's mutex
    bool cancelled = false;       // its stream work could not be queued: skipped, counted done
    bool run = false;             // the proxy has run (or skipped) it
    bool retireAfterRun = false;  // no release callback will come: the proxy retires it after running
    int stepsQueued = 0;          // markStep callbacks queued on its stream (stepQueued; guarded by the proxy's mutex)
    int stepsDone = 0;            // ... and run (guarded alike)
    bool retireAfterSteps = false;  // to be retired once its last markStep has run (guarded alike)
    bool stepsAbandoned = false;    // no markStep will come: it could not be queued (guarded alike)
  };

  // `onError` receives a failed operation's status (the communicator records it); `onRetired`
  // runs once per operation after its release callback (the communicator's pending count).
  // Neither runs on a runtime thread: stream callbacks may not call into the runtime, so they
  // only hand the operation to the proxy's thread.
  // `device`: the communicator's (peer memory is mapped for it).
  static Result<std::unique_ptr<DeviceProxy>> create(const DeviceRuntime& runtime, int device,
                                                     std::function<void(const Status&)> onError,
                                                     std::function<void()> onRetired);
  ~DeviceProxy();
  DeviceProxy(const DeviceProxy&) = delete;
  DeviceProxy& operator=(const DeviceProxy&) = delete;

  // Pinned memory of at least `bytes`, from the pool or newly allocated (a call from the API
  // thread, never from a callback).
  Result<Staging> acquire(size_t bytes);
  // Device memory of at least `bytes` for an operation's scratch, pooled alike (freed only when the
  // proxy goes: cudaFree would wait for every stream of the device, some waiting on this proxy).
  Result<Staging> acquireDevice(int device, size_t bytes);
  // Staging of an operation that was never pushed, back to the pool.
  void giveBack(const std::vector<Staging>& staging);
  // Staging a stream may still use (a copy into it was queued, then the operation failed): kept
  // out of use until the proxy goes.
  void quarantine(const std::vector<Staging>& staging);

  // Numbers `operation` and queues it; the caller then queues the stream work (enqueueOnStream).
  Operation* push(std::unique_ptr<Operation> operation);
  // Queues on `stream`: ready-callback, wait for the counter, then `after` (the copies back), then
  // the release callback. On failure the error is returned, and the operation is cancelled (the
  // ready callback was not queued) or retired once run (a later step failed).
  Status enqueueOnStream(Operation* operation, void* stream, const std::function<Status()>& after);
  // The same in two halves, so that several operations' inputs and ready callbacks can go ahead
  // of their waits (pipelined chunks): enqueueReady, and after it (once) enqueueFinish.
  Status enqueueReady(Operation* operation, void* stream);
  // `beforeWait` queues what goes ahead of the final wait (a multi-phase operation's earlier waits
  // and kernels).
  Status enqueueFinish(Operation* operation, void* stream, const std::function<Status()>& after,
                       const std::function<Status()>& beforeWait = nullptr);
  // Queues on `stream` a wait until the counter reaches `target` (beforeWait's earlier phases).
  Status enqueueWaitFor(void* stream, uint64_t target);

  // Waits until every operation pushed so far has run (a host-memory call on the communicator
  // must come after them, as it was called after them); a timeout error after `timeoutMs`.
  Status waitUntilRun(int64_t timeoutMs);

  // Stream callbacks (plain functions: the runtime calls them with the operation).
  static void markReady(void* operation);
  static void release(void* operation);
  // A step of the operation's stream work is done (its work waits for it with waitForStep).
  static void markStep(void* operation);

  // For an operation's work, on the proxy thread: lets the stream's waits up to `sequence` go
  // (a phase of a multi-phase operation), and waits until the stream has run `steps` markStep
  // callbacks of `operation`.
  void releaseThrough(uint64_t sequence);
  // The caller queued a markStep callback: the operation is not retired before it has run.
  void stepQueued(Operation* operation);
  // The caller could not queue the markStep callbacks the work waits for: waitForStep fails once
  // those that were queued have run, instead of waiting for the rest. (Only then: a queued
  // callback still comes, and the operation must live until it has.)
  void abandonSteps(Operation* operation);
  Status waitForStep(Operation* operation, int steps, int64_t timeoutMs);

  // Another process's device allocation from its IPC handle, mapped for the communicator's device
  // (core/peer_memory_cache.h) and held until the proxy goes or makes room (on the proxy thread
  // only).
  Result<void*> openPeerMemory(const void* handle);
  // Before an operation opens up to `more` handles: when the proxy would hold more than its bound,
  // it lets go of every mapping it holds (none is in use between its operations). Never between
  // two opens of one operation, whose table holds the first's address.
  void makeRoomForPeerMemory(size_t more);

  const DeviceRuntime& runtime() const { return runtime_; }

 private:
  DeviceProxy(const DeviceRuntime& runtime, int device, std::function<void(const Status&)> onError,
              std::function<void()> onRetired);
  void loop();
  // Frees the operation; its staging goes back to the pool after its release callback
  // (`released`), else into quarantine.
  void retire(Operation* operation, bool released);

  const DeviceRuntime& runtime_;
  const int device_;
  std::function<void(const Status&)> onError_;
  std::function<void()> onRetired_;
  // The completion counter: pinned, mapped; the device reads it through counterDeviceView_.
  volatile uint64_t* counter_ = nullptr;
  const volatile uint64_t* counterDeviceView_ = nullptr;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Operation*> queue_;        // in call order, not yet run
  std::vector<Operation*> released_;    // run, and past their release callback
  std::vector<Operation*> stepsEnded_;  // run without a release callback, past their last markStep
  // Whether `op`, to be retired without a release callback, must first wait for its markSteps
  // (it is then retired when the last one runs). Called with mutex_ held.
  bool deferRetirement(Operation* op);
  uint64_t nextSequence_ = 1;
  size_t unrun_ = 0;  // pushed, not yet run
  // Memory of `device` (< 0: pinned host memory), from its pool or newly allocated.
  Result<Staging> acquireOn(int device, size_t bytes);
  void freeMemory(const Staging& staging);

  std::multimap<size_t, Staging> freeStaging_;  // by capacity
  std::multimap<size_t, Staging> freeDevice_;   // device scratch, by capacity
  std::set<std::string> heldPeerMemory_;        // IPC handles this proxy holds mapped (PeerMemoryCache)
  std::vector<Staging> quarantine_;             // of operations retired after a failure
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace strata
