// Window row exchanges (src/moe/window_exchange.h) run by the real executor on thread ranks over
// in-memory windows, against a reference of where every row must land: random row counts (zeros,
// an idle rank, skew), rows of 8 to 200 bytes, windows from one row per chunk to everything in
// one, packed and scattered (gathered) send layouts, the reversed direction, own rows left in
// place, and several exchanges in a row on the same windows (their sequence numbers).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "src/common/params.h"
#include "src/core/executor.h"
#include "src/moe/window_exchange.h"
#include "transports/memory/peer_windows.h"
#include "thread_ranks.h"

namespace {

using Matrix = std::vector<std::vector<size_t>>;

struct Case {
  int nranks;
  size_t rowBytes;
  size_t halfBytes;
  bool reversed;
  bool copySelf;
  bool scattered;  // send rows lie every other row slot in the send buffer, in reverse order
  bool singleCopy;  // rows read straight from the senders' buffers (thread ranks: this process)
};

// Rows rank `from` sends rank `to` in this case's direction.
size_t rowsBetween(const Matrix& m, const Case& c, int from, int to) {
  return c.reversed ? m[static_cast<size_t>(to)][static_cast<size_t>(from)] : m[static_cast<size_t>(from)][static_cast<size_t>(to)];
}

// Packed block starts of a rank's rows to (or from) every rank.
std::vector<size_t> starts(const Matrix& m, const Case& c, int rank, bool sending) {
  std::vector<size_t> at(static_cast<size_t>(c.nranks) + 1, 0);
  for (int r = 0; r < c.nranks; ++r) {
    const size_t rows = sending ? rowsBetween(m, c, rank, r) : rowsBetween(m, c, r, rank);
    at[static_cast<size_t>(r) + 1] = at[static_cast<size_t>(r)] + rows;
  }
  return at;
}

// The byte every row carries: its sender, receiver, index and position in the row.
uint8_t rowByte(int from, int to, size_t i, size_t b) {
  return static_cast<uint8_t>(from * 37 + to * 11 + i * 5 + b * 3 + 1);
}

void runExchanges(const Case& c, const std::vector<Matrix>& matrices) {
  const int n = c.nranks;
  auto doorbells = strata::makeMemoryDoorbells(n);
  std::vector<strata::DoorbellWord*> bells;
  for (auto& bell : *doorbells) bells.push_back(&bell);
  auto windows = strata::makeMemoryWindows(n, c.halfBytes, bells);
  if (c.singleCopy) {
    for (auto& w : windows) {
      ASSERT_TRUE(w->canReadDirectly(0, getpid())) << "this process cannot read itself with process_vm_readv";
      w->enableSingleCopy(std::vector<pid_t>(static_cast<size_t>(n), getpid()));
    }
  }
  std::vector<uint64_t> sequences(static_cast<size_t>(n), 0);
  std::mutex failureMutex;
  std::string failure;
  auto fail = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(failureMutex);
    if (failure.empty()) failure = what;
  };
  testing_support::runThreadRanks(n, [&](int r, std::vector<strata::Connection*>& connections) {
    for (size_t x = 0; x < matrices.size(); ++x) {
      const Matrix& m = matrices[x];
      const std::vector<size_t> sendAt = starts(m, c, r, true), recvAt = starts(m, c, r, false);
      const size_t sendRows = sendAt.back(), recvRows = recvAt.back();
      // Scattered: row k of the packed order lies at slot 2 * (sendRows - 1 - k) + 1.
      auto offsetIn = [&](int sender, int dest, size_t i) {
        const std::vector<size_t> at = starts(m, c, sender, true);
        const size_t k = at[static_cast<size_t>(dest)] + i;
        return (c.scattered ? 2 * (at.back() - 1 - k) + 1 : k) * c.rowBytes;
      };
      auto sendOffset = [&](int dest, size_t i) { return offsetIn(r, dest, i); };
      auto recvOffset = [&](int source, size_t i) { return (recvAt[static_cast<size_t>(source)] + i) * c.rowBytes; };
      std::vector<std::byte> send((c.scattered ? 2 * sendRows : sendRows) * c.rowBytes + 1);
      std::vector<std::byte> recv(recvRows * c.rowBytes + 1, std::byte{0xEE});
      for (int d = 0; d < n; ++d) {
        for (size_t i = 0; i < rowsBetween(m, c, r, d); ++i) {
          for (size_t b = 0; b < c.rowBytes; ++b) send[sendOffset(d, i) + b] = std::byte{rowByte(r, d, i, b)};
        }
      }
      strata::moe::WindowExchange exchange;
      exchange.rank = r;
      exchange.rows = &m;
      exchange.reversed = c.reversed;
      exchange.rowBytes = c.rowBytes;
      exchange.halfBytes = c.halfBytes;
      exchange.copySelf = c.copySelf;
      const strata::Plan plan = c.singleCopy ? strata::moe::planSingleCopyRowExchange(exchange, offsetIn, recvOffset)
                                             : strata::moe::planWindowRowExchange(exchange, sendOffset, recvOffset);
      std::vector<std::byte> staging;
      std::atomic<bool> abortFlag{false};
      strata::WaitPolicy waitPolicy;
      strata::ExecutionContext context;
      context.rank = r;
      context.connections = connections;
      context.buffers = {send.data(), recv.data(), nullptr};
      context.dtype = strataUint8;
      context.op = strataSum;
      context.timeoutMs = 20000;
      context.abortFlag = &abortFlag;
      context.staging = &staging;
      context.windows = windows[static_cast<size_t>(r)].get();
      context.windowSequence = &sequences[static_cast<size_t>(r)];
      context.doorbell = bells[static_cast<size_t>(r)];
      context.waitPolicy = &waitPolicy;
      strata::Status st = strata::executePlan(plan, context);
      if (!st.isOk()) return fail("rank " + std::to_string(r) + ": " + st.message());
      for (int s = 0; s < n; ++s) {
        const bool untouched = s == r && !c.copySelf;
        for (size_t i = 0; i < rowsBetween(m, c, s, r); ++i) {
          for (size_t b = 0; b < c.rowBytes; ++b) {
            const auto got = static_cast<uint8_t>(recv[recvOffset(s, i) + b]);
            const uint8_t want = untouched ? 0xEE : rowByte(s, r, i, b);
            if (got != want) {
              return fail("exchange " + std::to_string(x) + ": rank " + std::to_string(r) + " row " + std::to_string(i) +
                          " from rank " + std::to_string(s) + " byte " + std::to_string(b) + ": got " +
                          std::to_string(got) + ", want " + std::to_string(want));
            }
          }
        }
      }
      if (static_cast<uint8_t>(recv.back()) != 0xEE) return fail("rank " + std::to_string(r) + ": wrote past its rows");
    }
  }, 64 * 1024, bells);
  ASSERT_EQ(failure, "");
  for (int r = 1; r < n; ++r) EXPECT_EQ(sequences[static_cast<size_t>(r)], sequences[0]) << "ranks' window sequences";
}

// Random counts 0..maxRows, one idle rank (sends and receives nothing) when there are 3 or more.
Matrix randomCounts(int n, size_t maxRows, std::mt19937& random) {
  Matrix m(static_cast<size_t>(n), std::vector<size_t>(static_cast<size_t>(n)));
  std::uniform_int_distribution<size_t> rows(0, maxRows);
  for (auto& row : m) {
    for (size_t& v : row) v = rows(random) % 4 == 0 ? 0 : rows(random);
  }
  if (n >= 3) {
    for (size_t r = 0; r < static_cast<size_t>(n); ++r) m[1][r] = m[r][1] = 0;
  }
  return m;
}

class WindowExchangeTest : public ::testing::TestWithParam<int> {};

TEST_P(WindowExchangeTest, EveryRowLandsWhereTheReferenceSays) {
  const int n = GetParam();
  std::mt19937 random(static_cast<unsigned>(n) * 7919u);
  for (size_t rowBytes : {size_t{8}, size_t{24}, size_t{200}}) {
    for (size_t rowsPerChunk : {size_t{1}, size_t{3}, size_t{1000}}) {
      const size_t halfBytes = (rowBytes * rowsPerChunk + 63) / 64 * 64;
      for (int variant = 0; variant < 8; ++variant) {
        const Case c{n, rowBytes, halfBytes, variant % 4 == 1, variant % 4 != 2, variant % 4 == 3, variant >= 4};
        std::vector<Matrix> matrices = {randomCounts(n, 9, random), randomCounts(n, 2, random),
                                        Matrix(static_cast<size_t>(n), std::vector<size_t>(static_cast<size_t>(n), 0))};
        // All rows from one rank (skew).
        Matrix skewed(static_cast<size_t>(n), std::vector<size_t>(static_cast<size_t>(n), 0));
        for (size_t d = 0; d < static_cast<size_t>(n); ++d) skewed[0][d] = 13;
        matrices.push_back(skewed);
        SCOPED_TRACE("rows of " + std::to_string(rowBytes) + " bytes, " + std::to_string(halfBytes) +
                     "-byte halves, variant " + std::to_string(variant));
        runExchanges(c, matrices);
        if (HasFatalFailure()) return;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ranks, WindowExchangeTest, ::testing::Range(1, 9));

TEST(WindowHalves, AreLargerOnlyWhereRanksOutnumberCores) {
  EXPECT_EQ(strata::PeerWindows::defaultHalfBytes(2, 2), size_t{512} << 10);
  EXPECT_EQ(strata::PeerWindows::defaultHalfBytes(8, 64), size_t{512} << 10);
  EXPECT_EQ(strata::PeerWindows::defaultHalfBytes(4, 2), size_t{2} << 20);
  EXPECT_EQ(strata::PeerWindows::defaultHalfBytes(3, 2), size_t{2} << 20);
  EXPECT_EQ(strata::PeerWindows::defaultHalfBytes(64, 0), size_t{512} << 10);  // cores unknown
}

TEST(WindowHalves, AnExplicitSizeIsTold) {
  unsetenv("STRATA_WINDOW_BYTES");
  auto unset = strata::Params::fromEnvironment();
  ASSERT_TRUE(unset.ok());
  EXPECT_FALSE(unset.value().windowBytesSet);
  setenv("STRATA_WINDOW_BYTES", "524288", 1);
  auto set = strata::Params::fromEnvironment();
  unsetenv("STRATA_WINDOW_BYTES");
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set.value().windowBytesSet);
  EXPECT_EQ(set.value().windowBytes, 524288);
}

}  // namespace
