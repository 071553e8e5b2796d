#include "src/core/device_proxy.h"

#include <chrono>
#include <exception>

#include "src/core/peer_memory_cache.h"

namespace strata {

DeviceProxy::DeviceProxy(const DeviceRuntime& runtime, int device, std::function<void(const Status&)> onError,
                         std::function<void()> onRetired)
    : runtime_(runtime), device_(device), onError_(std::move(onError)), onRetired_(std::move(onRetired)) {}

Result<std::unique_ptr<DeviceProxy>> DeviceProxy::create(const DeviceRuntime& runtime, int device,
                                                         std::function<void(const Status&)> onError,
                                                         std::function<void()> onRetired) {
  std::unique_ptr<DeviceProxy> proxy(new DeviceProxy(runtime, device, std::move(onError), std::move(onRetired)));
  void* host = nullptr;
  void* deviceView = nullptr;
  int code = runtime.api().hostAlloc(&host, &deviceView, sizeof(uint64_t));
  if (code != 0) return systemError("device proxy counter: " + runtime.errorText("cudaHostAlloc", code));
  proxy->counter_ = static_cast<volatile uint64_t*>(host);
  proxy->counterDeviceView_ = static_cast<const volatile uint64_t*>(deviceView);
  *proxy->counter_ = 0;
  proxy->worker_ = std::thread([p = proxy.get()] { p->loop(); });
  return proxy;
}

DeviceProxy::~DeviceProxy() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
  for (auto& [bytes, staging] : freeStaging_) freeMemory(staging);
  for (auto& [bytes, staging] : freeDevice_) freeMemory(staging);
  for (const Staging& staging : quarantine_) freeMemory(staging);
  PeerMemoryCache::process().releaseAll(runtime_, this);
  if (counter_ != nullptr) runtime_.api().hostFree(const_cast<uint64_t*>(counter_));
}

void DeviceProxy::freeMemory(const Staging& staging) {
  if (staging.onDevice) {
    runtime_.api().deviceFree(staging.host);
  } else {
    runtime_.api().hostFree(staging.host);
  }
}

Result<DeviceProxy::Staging> DeviceProxy::acquire(size_t bytes) { return acquireOn(-1, bytes); }

Result<DeviceProxy::Staging> DeviceProxy::acquireDevice(int device, size_t bytes) { return acquireOn(device, bytes); }

Result<DeviceProxy::Staging> DeviceProxy::acquireOn(int device, size_t bytes) {
  const bool onDevice = device >= 0;
  std::multimap<size_t, Staging>& pool = onDevice ? freeDevice_ : freeStaging_;
  // Sizes rounded up to 64 KiB, so calls that differ a little share buffers; a free buffer up to
  // twice that serves, a larger one stays for a larger call.
  const size_t rounded = (std::max<size_t>(bytes, 1) + 65535) / 65536 * 65536;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto fit = pool.lower_bound(rounded);
    if (fit != pool.end() && fit->first <= 2 * rounded) {
      Staging s = fit->second;
      pool.erase(fit);
      return s;
    }
  }
  Staging s;
  s.onDevice = onDevice;
  int code = 0;
  if (onDevice) {
    code = runtime_.api().deviceAlloc(device, &s.host, rounded);
  } else {
    code = runtime_.api().hostAlloc(&s.host, &s.deviceView, rounded);
  }
  if (code != 0) {
    return systemError(std::string(onDevice ? "scratch " : "staging ") + std::to_string(rounded) + " bytes of " +
                       (onDevice ? "device" : "pinned") +
                       " memory: " + runtime_.errorText(onDevice ? "cudaMalloc" : "cudaHostAlloc", code));
  }
  s.bytes = rounded;
  return s;
}

DeviceProxy::Operation* DeviceProxy::push(std::unique_ptr<Operation> operation) {
  Operation* op = operation.release();
  op->proxy = this;
  std::lock_guard<std::mutex> lock(mutex_);
  op->sequence = nextSequence_ + static_cast<uint64_t>(op->phases) - 1;
  nextSequence_ = op->sequence + 1;
  queue_.push_back(op);
  ++unrun_;
  return op;
}

Status DeviceProxy::waitUntilRun(int64_t timeoutMs) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (changed_.wait_for(lock, std::chrono::milliseconds(timeoutMs), [this] { return unrun_ == 0; }))
    return Status::ok();
  return timeoutError("a host-memory call waited " + std::to_string(timeoutMs) + " ms for " + std::to_string(unrun_) +
                      " earlier device-memory call(s) of this communicator, which their CUDA streams have not reached "
                      "(calls on one communicator run in call order; synchronise the stream first)");
}

Status DeviceProxy::enqueueOnStream(Operation* op, void* stream, const std::function<Status()>& after) {
  STRATA_RETURN_IF_ERROR(enqueueReady(op, stream));
  return enqueueFinish(op, stream, after);
}

Status DeviceProxy::enqueueReady(Operation* op, void* stream) {
  int code = runtime_.api().hostCallback(stream, &DeviceProxy::markReady, op);
  if (code == 0) return Status::ok();
  // The ready callback never comes: run nothing, count it done, retire it at once. Its finish
  // half is never queued.
  std::lock_guard<std::mutex> lock(mutex_);
  op->cancelled = true;
  op->retireAfterRun = true;
  op->ready = true;
  changed_.notify_all();
  return systemError(runtime_.errorText("cudaLaunchHostFunc", code));
}

Status DeviceProxy::enqueueWaitFor(void* stream, uint64_t target) {
  int code = runtime_.api().waitCounter(stream, counterDeviceView_, target);
  if (code == 0) return Status::ok();
  return systemError("queueing the stream's wait for the proxy: " + runtime_.errorText("cudaLaunchKernel", code));
}

Status DeviceProxy::enqueueFinish(Operation* op, void* stream, const std::function<Status()>& after,
                                  const std::function<Status()>& beforeWait) {
  // The stream will run the ready callback and the proxy the operation. A failure here fails the
  // call (its results are not to be read); the proxy then retires the operation itself after
  // running it, since no release callback may come.
  const strataDeviceApi& api = runtime_.api();
  Status status = beforeWait ? beforeWait() : Status::ok();
  if (status.isOk()) status = enqueueWaitFor(stream, op->sequence);
  if (status.isOk()) {
    status = after();
    if (status.isOk()) {
      const int code = api.hostCallback(stream, &DeviceProxy::release, op);
      if (code == 0) return Status::ok();
      status = systemError(runtime_.errorText("cudaLaunchHostFunc", code));
    }
  }
  bool alreadyRun = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    alreadyRun = op->run && !deferRetirement(op);
    op->retireAfterRun = true;
  }
  if (alreadyRun) retire(op, /*released=*/false);  // the proxy ran it before we knew no release would come
  return status;
}

void DeviceProxy::markReady(void* operation) {
  auto* op = static_cast<Operation*>(operation);
  DeviceProxy* proxy = op->proxy;
  std::lock_guard<std::mutex> lock(proxy->mutex_);
  op->ready = true;
  proxy->changed_.notify_all();
}

void DeviceProxy::release(void* operation) {
  auto* op = static_cast<Operation*>(operation);
  DeviceProxy* proxy = op->proxy;
  std::lock_guard<std::mutex> lock(proxy->mutex_);
  proxy->released_.push_back(op);
  proxy->changed_.notify_all();
}

void DeviceProxy::markStep(void* operation) {
  auto* op = static_cast<Operation*>(operation);
  DeviceProxy* proxy = op->proxy;
  std::lock_guard<std::mutex> lock(proxy->mutex_);
  ++op->stepsDone;
  if (op->retireAfterSteps && op->stepsDone >= op->stepsQueued) proxy->stepsEnded_.push_back(op);
  proxy->changed_.notify_all();
}

void DeviceProxy::stepQueued(Operation* op) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++op->stepsQueued;
}

bool DeviceProxy::deferRetirement(Operation* op) {
  if (op->stepsDone >= op->stepsQueued) return false;
  op->retireAfterSteps = true;
  return true;
}

void DeviceProxy::abandonSteps(Operation* op) {
  std::lock_guard<std::mutex> lock(mutex_);
  op->stepsAbandoned = true;
  changed_.notify_all();
}

void DeviceProxy::releaseThrough(uint64_t sequence) {
  __atomic_store_n(const_cast<uint64_t*>(counter_), sequence, __ATOMIC_RELEASE);
}

Status DeviceProxy::waitForStep(Operation* op, int steps, int64_t timeoutMs) {
  std::unique_lock<std::mutex> lock(mutex_);
  // Abandoned: the steps that were queued still come (a kernel let through may still be reading);
  // wait for them, then fail.
  const bool ended = changed_.wait_for(lock, std::chrono::milliseconds(timeoutMs), [&] {
    return op->stepsDone >= steps || (op->stepsAbandoned && op->stepsDone >= op->stepsQueued);
  });
  if (ended && op->stepsDone >= steps) return Status::ok();
  if (ended) return systemError("the stream work of a device-memory operation could not be queued");
  return timeoutError("the device did not finish a step of a device-memory operation within " +
                      std::to_string(timeoutMs) + " ms");
}

void DeviceProxy::makeRoomForPeerMemory(size_t more) {
  // Bounded, so that buffers peers freed long ago are let go too.
  constexpr size_t kMostHeld = 256;
  if (heldPeerMemory_.size() + more <= kMostHeld) return;
  PeerMemoryCache::process().releaseAll(runtime_, this);
  heldPeerMemory_.clear();
}

Result<void*> DeviceProxy::openPeerMemory(const void* handle) {
  auto base = PeerMemoryCache::process().open(runtime_, device_, handle, this);
  if (base.ok()) heldPeerMemory_.emplace(static_cast<const char*>(handle), STRATA_DEVICE_IPC_HANDLE_BYTES);
  return base;
}

void DeviceProxy::giveBack(const std::vector<Staging>& staging) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Staging& s : staging) (s.onDevice ? freeDevice_ : freeStaging_).emplace(s.bytes, s);
}

void DeviceProxy::quarantine(const std::vector<Staging>& staging) {
  std::lock_guard<std::mutex> lock(mutex_);
  quarantine_.insert(quarantine_.end(), staging.begin(), staging.end());
}

void DeviceProxy::retire(Operation* op, bool released) {
  if (released) {
    giveBack(op->staging);
  } else {
    // Without the release callback nothing says the stream is done with the staging (copies
    // queued before a failure may still read or write it).
    quarantine(op->staging);
  }
  delete op;
  onRetired_();
}

void DeviceProxy::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] {
      return !released_.empty() || !stepsEnded_.empty() || (!queue_.empty() && queue_.front()->ready) ||
             (stopping_ && queue_.empty());
    });
    if (!released_.empty() || !stepsEnded_.empty()) {
      std::vector<Operation*> done, ended;
      done.swap(released_);
      ended.swap(stepsEnded_);
      lock.unlock();
      for (Operation* op : done) retire(op, /*released=*/true);
      for (Operation* op : ended) retire(op, /*released=*/false);
      lock.lock();
      continue;
    }
    if (queue_.empty()) return;  // stopping, nothing left
    Operation* op = queue_.front();
    queue_.pop_front();
    lock.unlock();
    if (!op->cancelled) {
      Status status;
      try {
        status = op->work();
      } catch (const std::exception& e) {
        status = internalError(std::string("device operation threw: ") + e.what());
      }
      if (!status.isOk()) onError_(status);
    }
    op->work = nullptr;
    lock.lock();
    // Once `run` is set the caller may retire the operation (enqueueFinish failed): nothing of it
    // is read after this block.
    op->run = true;
    // Else its release callback, its last markStep, or the caller retires it.
    const bool retireNow = op->retireAfterRun && !deferRetirement(op);
    const uint64_t sequence = op->sequence;
    --unrun_;
    changed_.notify_all();
    lock.unlock();
    // Release order: the results are in staging before the stream's copies back may start.
    __atomic_store_n(const_cast<uint64_t*>(counter_), sequence, __ATOMIC_RELEASE);
    if (retireNow) retire(op, /*released=*/false);
    lock.lock();
  }
}

}  // namespace strata
