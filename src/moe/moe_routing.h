// Where a rank's tokens go: the top-k expert ids checked, the capacity factor applied, and for
// every destination rank the tokens (each once, in token order) that have an expert there.
// Pure computation, no communication: the handle and the layout call build on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "src/common/status.h"

namespace strata::moe {

struct RoutingRequest {
  const int64_t* topkIdx = nullptr;  // [numTokens x topK], -1 = none
  size_t numTokens = 0;
  int topK = 0;
  int numExperts = 0;
  int nranks = 1;
  float capacityFactor = 0;  // 0: unlimited
};

struct Routing {
  size_t numTokens = 0;
  int topK = 0;
  int numExperts = 0;
  int nranks = 1;
  int localExperts = 0;
  // [numTokens x topK]: the global expert id, or -1 (none, or dropped by capacity).
  std::vector<int32_t> experts;
  size_t droppedPairs = 0;
  // tokensTo[r]: tokens with at least one expert on rank r, ascending.
  std::vector<std::vector<uint32_t>> tokensTo;
  // (token, expert) pairs per expert.
  std::vector<size_t> pairsPerExpert;

  int rankOfExpert(int expert) const { return expert / localExperts; }
  // The id slot j of token t has on rank r: its local id there, or -1.
  int32_t localIdOn(int rank, size_t token, int slot) const {
    int32_t e = experts[token * static_cast<size_t>(topK) + static_cast<size_t>(slot)];
    return e >= 0 && rankOfExpert(e) == rank ? e % localExperts : -1;
  }
};

// Checks the request (expert ids in range, experts divisible by ranks, sizes) and routes it.
// `function` names the API call in error messages.
Result<Routing> routeTokens(const RoutingRequest& request, const char* function);

// Each expert's capacity for one rank's tokens: ceil(tokens * k / experts * factor).
size_t expertCapacity(size_t numTokens, int topK, int numExperts, float factor);

}  // namespace strata::moe
