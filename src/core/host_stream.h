// A host stream: a worker thread that runs queued operations in order. strataStreamSynchronize
// waits until the queue is empty and reports the first error since the last synchronize.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "src/common/status.h"

namespace strata {

class HostStream {
 public:
  HostStream();
  ~HostStream();  // drains the queue, then joins the worker
  HostStream(const HostStream&) = delete;
  HostStream& operator=(const HostStream&) = delete;

  void enqueue(std::function<Status()> operation);
  Status synchronize();

 private:
  void workerLoop();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<Status()>> queue_;
  bool running_ = false;  // an operation is executing
  bool stopping_ = false;
  Status firstError_;
  std::thread worker_;
};

}  // namespace strata
