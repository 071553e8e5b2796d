// The exchanges every MoE operation is built from, run on the core layer (never back through the
// public API, so they hold no caller state and work inside groups and on host streams): counts
// between every pair of ranks, and all-to-all-v moves of fixed-size rows whose plans the handle
// caches per (exchange, row size) — the row counts of an exchange are fixed by the handle.
#pragma once

#include <cstddef>
#include <map>
#include <tuple>
#include <vector>

#include "src/common/status.h"
#include "src/core/call_tag.h"
#include "src/core/communicator.h"

namespace strata::moe {

// One MoE operation in progress: where it runs and what it is (its exchanges' call tags say so).
struct MoeRun {
  Communicator& comm;
  CallKind kind;
};

// Which of a handle's exchanges a move is (plans are cached per exchange and row size; tags name it).
using Exchange = MoeExchange;

// How a sender's rows lie in the send buffer of an exchange: packed in destination order, or as
// the caller's token-ordered rows (windows gather them from there; see window_exchange.h).
enum class SendLayout : uint8_t { Packed, TokenRows };

class ExchangePlans {
 public:
  // The plan of exchange `which` with `rowBytes`-byte rows laid out as `layout` (`part`: which
  // step of a pipelined exchange): make() on first use.
  // Whether it goes through windows or FIFOs follows from the handle and the row size alone, so
  // the key need not say.
  template <typename Make>
  const Plan& get(Exchange which, size_t rowBytes, SendLayout layout, uint32_t part, const Make& make) {
    const Key key{static_cast<int32_t>(which), rowBytes, layout, part};
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second;
    if (plans_.size() >= kLimit) plans_.clear();
    return plans_.emplace(key, make()).first->second;
  }

 private:
  static constexpr size_t kLimit = 64;
  using Key = std::tuple<int32_t, size_t, SendLayout, uint32_t>;
  std::map<Key, Plan> plans_;
};

// The pairwise all-to-all-v plan moving rows[r] rows of rowBytes to (from) rank r, packed in rank order.
Plan planRowExchange(const Communicator& comm, const std::vector<size_t>& sendRows,
                     const std::vector<size_t>& recvRows, size_t rowBytes);

// Every rank tells every rank how many rows it will send it.
Status exchangeCounts(const MoeRun& run, const std::vector<size_t>& sendCounts, std::vector<size_t>* recvCounts);

// Runs one exchange's plan as a call of the operation. Its tag names the exchange, the row size
// and `routes` (a fingerprint of every rank's send counts where the plan lays rows out by them,
// else 0): ranks whose rows or routes differ fail on the tag instead of reading rows at offsets
// their peers never wrote (window exchanges carry no per-message length).
Status runExchange(const MoeRun& run, const Plan& plan, Exchange which, size_t rowBytes, uint32_t routes, const void* send,
                   void* recv);

// One all-to-all of fixed-size rows packed in rank order, through the FIFOs. `plans` null: a
// one-off exchange (handle creation).
Status exchangeRows(const MoeRun& run, ExchangePlans* plans, Exchange which, const std::vector<size_t>& sendRows,
                    const void* send, const std::vector<size_t>& recvRows, void* recv, size_t rowBytes);

// Ends an operation: agreement rounds, so that no rank returns success from an operation another
// rank saw mismatched (core/agreement.h).
Status finishOperation(const MoeRun& run);

}  // namespace strata::moe
