// Runs a body on N thread ranks, each with its own communicator made through the public API.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <thread>
#include <vector>

#include "strata/strata.h"

namespace testing_support {

// `destroy`: destroy each communicator after the body (false: the body ends it itself, e.g. by abort).
inline void runApiRanks(int nranks, const std::function<void(int rank, strataComm_t comm)>& body, bool destroy = true) {
  strataUniqueId id;
  ASSERT_EQ(strataGetUniqueId(&id), strataSuccess) << strataGetLastError(nullptr);
  std::vector<std::thread> threads;
  for (int r = 0; r < nranks; ++r) {
    threads.emplace_back([&, r] {
      strataComm_t comm = nullptr;
      strataResult_t result = strataCommInitRank(&comm, nranks, id, r);
      EXPECT_EQ(result, strataSuccess) << strataGetLastError(nullptr);
      if (result != strataSuccess) return;
      body(r, comm);
      if (destroy) {
        EXPECT_EQ(strataCommDestroy(comm), strataSuccess);
      }
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace testing_support
