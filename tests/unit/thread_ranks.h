// Gloo-style harness: N ranks as threads in one process, a full mesh of in-memory connections,
// each thread running its plan with the real executor.
#pragma once

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "src/core/executor.h"
#include "transports/memory/ring_connection.h"

namespace testing_support {

// Runs body(rank, connections) on nranks threads; the rings are small so transfers wrap and
// progress in pieces. With `doorbells` (one per rank), peers ring them as shm peers do, so the
// ranks' waits may sleep (the bodies set ExecutionContext::doorbell).
inline void runThreadRanks(int nranks, const std::function<void(int, std::vector<strata::Connection*>&)>& body,
                           size_t ringBytes = 64 * 1024, const std::vector<strata::DoorbellWord*>& doorbells = {}) {
  auto mesh = strata::makeMemoryMesh(nranks, ringBytes, doorbells);
  std::vector<std::thread> threads;
  for (int r = 0; r < nranks; ++r) {
    threads.emplace_back([&, r] {
      std::vector<strata::Connection*> connections;
      for (auto& c : mesh[r]) connections.push_back(c.get());
      body(r, connections);
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace testing_support
