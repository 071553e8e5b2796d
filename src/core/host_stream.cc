#include "src/core/host_stream.h"

#include <exception>
#include <new>

namespace strata {
namespace {

// An exception escaping queued work (allocation failure, a bug) becomes the stream's error: it
// must not end the worker thread, which would terminate the whole process.
Status runCatching(const std::function<Status()>& operation) {
  try {
    return operation();
  } catch (const std::bad_alloc&) {
    return systemError("host stream operation ran out of memory");
  } catch (const std::exception& e) {
    return internalError(std::string("host stream operation threw: ") + e.what());
  } catch (...) {
    return internalError("host stream operation threw an unknown exception");
  }
}

}  // namespace

HostStream::HostStream() : worker_([this] { workerLoop(); }) {}

HostStream::~HostStream() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return queue_.empty() && !running_; });
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void HostStream::enqueue(std::function<Status()> operation) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(operation));
  }
  changed_.notify_all();
}

Status HostStream::synchronize() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return queue_.empty() && !running_; });
  Status result = firstError_;
  firstError_ = Status::ok();
  return result;
}

void HostStream::workerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping with nothing left
    std::function<Status()> operation = std::move(queue_.front());
    queue_.pop_front();
    running_ = true;
    lock.unlock();
    Status status = runCatching(operation);
    operation = nullptr;  // what it holds (a communicator) is let go before the stream reports done
    lock.lock();
    running_ = false;
    if (!status.isOk() && firstError_.isOk()) firstError_ = status;
    changed_.notify_all();
  }
}

}  // namespace strata
