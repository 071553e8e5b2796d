// The exchanges every MoE operation is built from, run on the core layer (never back through the
// public API, so they hold no caller state and work inside groups and on host streams): counts
// between every pair of ranks, and all-to-all-v moves of fixed-size rows whose plans the handle
// caches per (exchange, row size) — the row counts of an exchange are fixed by the handle.
#pragma once

#include <cstddef>
#include <map>
#include <utility>
#include <vector>

#include "common/status.h"
#include "core/call_tag.h"
#include "core/communicator.h"

namespace strata::moe {

// One MoE operation in progress: where it runs and what it is (its exchanges' call tags say so).
struct MoeRun {
  Communicator& comm;
  CallKind kind;
};

// Which of a handle's exchanges a move is (plans are cached per exchange and row size; tags name it).
using Exchange = MoeExchange;

class ExchangePlans {
 public:
  // The plan of exchange `which` with `rowBytes`-byte rows (made on first use).
  const Plan& get(const Communicator& comm, Exchange which, size_t rowBytes, const std::vector<size_t>& sendRows,
                  const std::vector<size_t>& recvRows);

 private:
  static constexpr size_t kLimit = 64;
  std::map<std::pair<int32_t, size_t>, Plan> plans_;
};

// The pairwise all-to-all-v plan moving rows[r] rows of rowBytes to (from) rank r, packed in rank order.
Plan planRowExchange(const Communicator& comm, const std::vector<size_t>& sendRows,
                     const std::vector<size_t>& recvRows, size_t rowBytes);

// Every rank tells every rank how many rows it will send it.
Status exchangeCounts(const MoeRun& run, const std::vector<size_t>& sendCounts, std::vector<size_t>* recvCounts);

// One all-to-all of fixed-size rows. `plans` null: a one-off exchange (handle creation).
Status exchangeRows(const MoeRun& run, ExchangePlans* plans, Exchange which, const std::vector<size_t>& sendRows,
                    const void* send, const std::vector<size_t>& recvRows, void* recv, size_t rowBytes);

// Ends an operation: agreement rounds, so that no rank returns success from an operation another
// rank saw mismatched (core/agreement.h).
Status finishOperation(const MoeRun& run);

}  // namespace strata::moe
