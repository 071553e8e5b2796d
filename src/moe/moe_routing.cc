#include "src/moe/moe_routing.h"

#include <cmath>
#include <string>

namespace strata::moe {

constexpr int kMaxTopK = 64;

size_t expertCapacity(size_t numTokens, int topK, int numExperts, float factor) {
  double share = static_cast<double>(numTokens) * topK / numExperts * static_cast<double>(factor);
  return static_cast<size_t>(std::ceil(share));
}

Result<Routing> routeTokens(const RoutingRequest& q, const char* function) {
  std::string fn(function);
  if (q.topK < 1 || q.topK > kMaxTopK) {
    return invalidArgument(fn + ": topK " + std::to_string(q.topK) + " is out of range (1.." + std::to_string(kMaxTopK) + ")");
  }
  if (q.numExperts < 1) return invalidArgument(fn + ": numExperts must be positive (got " + std::to_string(q.numExperts) + ")");
  if (q.numExperts % q.nranks != 0) {
    return invalidArgument(fn + ": " + std::to_string(q.numExperts) + " experts do not split evenly over " +
                           std::to_string(q.nranks) + " ranks (numExperts must be a multiple of the rank count)");
  }
  if (q.numTokens > 0 && q.topkIdx == nullptr) return invalidArgument(fn + ": topkIdx is NULL with " + std::to_string(q.numTokens) + " tokens");
  if (q.numTokens > INT32_MAX) return invalidArgument(fn + ": more than 2^31-1 tokens on one rank");
  if (!(q.capacityFactor >= 0) || std::isinf(q.capacityFactor)) {
    return invalidArgument(fn + ": capacityFactor must be 0 (unlimited) or a positive finite number");
  }
  Routing r;
  r.numTokens = q.numTokens;
  r.topK = q.topK;
  r.numExperts = q.numExperts;
  r.nranks = q.nranks;
  r.localExperts = q.numExperts / q.nranks;
  r.experts.assign(q.numTokens * static_cast<size_t>(q.topK), -1);
  r.tokensTo.assign(static_cast<size_t>(q.nranks), {});
  r.pairsPerExpert.assign(static_cast<size_t>(q.numExperts), 0);
  const size_t capacity = q.capacityFactor > 0 ? expertCapacity(q.numTokens, q.topK, q.numExperts, q.capacityFactor) : SIZE_MAX;
  std::vector<int64_t> lastTokenOnRank(static_cast<size_t>(q.nranks), -1);
  for (size_t t = 0; t < q.numTokens; ++t) {
    for (int j = 0; j < q.topK; ++j) {
      size_t slot = t * static_cast<size_t>(q.topK) + static_cast<size_t>(j);
      int64_t e = q.topkIdx[slot];
      if (e == -1) continue;
      if (e < -1 || e >= q.numExperts) {
        return invalidArgument(fn + ": topkIdx[" + std::to_string(t) + "][" + std::to_string(j) + "] = " + std::to_string(e) +
                               " is not an expert (0.." + std::to_string(q.numExperts - 1) + ", or -1)");
      }
      for (int earlier = 0; earlier < j; ++earlier) {
        if (q.topkIdx[t * static_cast<size_t>(q.topK) + static_cast<size_t>(earlier)] == e) {
          return invalidArgument(fn + ": token " + std::to_string(t) + " names expert " + std::to_string(e) + " twice");
        }
      }
      size_t& load = r.pairsPerExpert[static_cast<size_t>(e)];
      if (load >= capacity) {
        ++r.droppedPairs;
        continue;
      }
      ++load;
      r.experts[slot] = static_cast<int32_t>(e);
      int rank = r.rankOfExpert(static_cast<int>(e));
      if (lastTokenOnRank[static_cast<size_t>(rank)] != static_cast<int64_t>(t)) {
        lastTokenOnRank[static_cast<size_t>(rank)] = static_cast<int64_t>(t);
        r.tokensTo[static_cast<size_t>(rank)].push_back(static_cast<uint32_t>(t));
      }
    }
  }
  return r;
}

}  // namespace strata::moe
