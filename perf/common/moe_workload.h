// The synthetic MoE workload moe_dispatch_perf and its Open MPI peer share, so both move exactly
// the same tokens: per rank `tokens` rows routed to `topk` distinct experts out of `experts`,
// uniformly at random (seeded by rank) or skewed (half of the tokens pick expert 0 first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace strata::perf {

struct MoeWorkload {
  size_t tokens = 4096;
  size_t hidden = 2048;
  int experts = 64;
  int topk = 8;
  std::string routing = "random";  // random | skewed
  uint64_t seed = 1;
};

inline uint64_t moeMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// topk_idx [tokens x topk] of `rank`: distinct experts per token.
inline std::vector<int64_t> moeRouting(const MoeWorkload& w, int rank) {
  std::vector<int64_t> idx(w.tokens * static_cast<size_t>(w.topk));
  for (size_t t = 0; t < w.tokens; ++t) {
    uint64_t state = moeMix(w.seed * 1000003ull + static_cast<uint64_t>(rank) * 7919ull + t);
    std::vector<bool> used(static_cast<size_t>(w.experts), false);
    for (int j = 0; j < w.topk; ++j) {
      int e;
      if (j == 0 && w.routing == "skewed" && (state & 1)) {
        e = 0;
      } else {
        do {
          state = moeMix(state);
          e = static_cast<int>(state % static_cast<uint64_t>(w.experts));
        } while (used[static_cast<size_t>(e)]);
      }
      used[static_cast<size_t>(e)] = true;
      idx[t * static_cast<size_t>(w.topk) + static_cast<size_t>(j)] = e;
    }
  }
  return idx;
}

}  // namespace strata::perf
