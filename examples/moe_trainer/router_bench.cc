// The router's selection (softmax + top-k over the experts, for every token of a step) against
// a plain full sort of each token's scores, on the reference shape: 4096 tokens x 64
// experts x top-2 (and top-8). Routing is on every step's critical path.
//   router_bench [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "router.h"

namespace {

std::vector<float> logits(int tokens, int experts) {
  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(tokens) * experts);
  for (float& x : v) x = normal(gen);
  return v;
}

void routerSelect(benchmark::State& state) {
  const int tokens = 4096, experts = 64, k = static_cast<int>(state.range(0));
  const std::vector<float> scores = logits(tokens, experts);
  trainer::RouterCache cache;
  std::vector<float> stats;
  for (auto _ : state) {
    cache.probs = scores;
    trainer::selectTopK(tokens, experts, k, cache, stats);
    benchmark::DoNotOptimize(cache.weights.data());
  }
  state.SetItemsProcessed(state.iterations() * tokens);
}

// The same outputs from softmax and a full sort of each token's experts.
void fullSort(benchmark::State& state) {
  const int tokens = 4096, experts = 64, k = static_cast<int>(state.range(0));
  const std::vector<float> scores = logits(tokens, experts);
  std::vector<float> probs;
  std::vector<int64_t> topIdx(static_cast<size_t>(tokens) * k);
  std::vector<float> weights(topIdx.size());
  std::vector<int> order(static_cast<size_t>(experts));
  for (auto _ : state) {
    probs = scores;
    for (int r = 0; r < tokens; ++r) {
      float* p = probs.data() + static_cast<size_t>(r) * experts;
      const float top = *std::max_element(p, p + experts);
      float sum = 0;
      for (int i = 0; i < experts; ++i) sum += p[i] = std::exp(p[i] - top);
      for (int i = 0; i < experts; ++i) p[i] /= sum;
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(), [p](int a, int b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
      float selected = 0;
      for (int j = 0; j < k; ++j) selected += p[order[static_cast<size_t>(j)]];
      for (int j = 0; j < k; ++j) {
        topIdx[static_cast<size_t>(r) * k + j] = order[static_cast<size_t>(j)];
        weights[static_cast<size_t>(r) * k + j] = p[order[static_cast<size_t>(j)]] / selected;
      }
    }
    benchmark::DoNotOptimize(weights.data());
  }
  state.SetItemsProcessed(state.iterations() * tokens);
}

BENCHMARK(routerSelect)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK(fullSort)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
