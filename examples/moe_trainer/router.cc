#include "router.h"

#include <algorithm>
#include <cmath>

#include "linalg.h"

namespace trainer {

void selectTopK(int rows, int E, int k, RouterCache& cache, std::vector<float>& stats) {
  cache.topIdx.resize(static_cast<size_t>(rows) * k);
  cache.weights.resize(static_cast<size_t>(rows) * k);
  stats.assign(static_cast<size_t>(2 * E), 0.0f);
  for (int r = 0; r < rows; ++r) {
    float* p = cache.probs.data() + static_cast<size_t>(r) * E;
    const float top = *std::max_element(p, p + E);
    float sum = 0;
    for (int i = 0; i < E; ++i) sum += p[i] = std::exp(p[i] - top);
    const float inverse = 1.0f / sum;
    for (int i = 0; i < E; ++i) p[i] *= inverse;
    // best[0..k) sorted by probability, descending; scanning in index order with a strict
    // comparison keeps the lower index first among equals.
    int64_t* best = cache.topIdx.data() + static_cast<size_t>(r) * k;
    int found = 0;
    for (int i = 0; i < E; ++i) {
      if (found == k && p[i] <= p[best[k - 1]]) continue;
      int at = found < k ? found++ : k - 1;
      while (at > 0 && p[i] > p[best[at - 1]]) {
        best[at] = best[at - 1];
        --at;
      }
      best[at] = i;
    }
    float selected = 0;
    for (int j = 0; j < k; ++j) selected += p[best[j]];
    float* weights = cache.weights.data() + static_cast<size_t>(r) * k;
    for (int j = 0; j < k; ++j) {
      weights[j] = p[best[j]] / selected;
      stats[static_cast<size_t>(best[j])] += 1.0f;
    }
    for (int i = 0; i < E; ++i) stats[static_cast<size_t>(E + i)] += p[i];
  }
}

void routerForward(const RouterShape& s, const float* x, const float* wr, RouterCache& cache,
                   std::vector<float>& stats) {
  cache.probs.resize(static_cast<size_t>(s.rows) * s.experts);
  linearForward(x, wr, nullptr, cache.probs.data(), s.rows, s.dim, s.experts);
  selectTopK(s.rows, s.experts, s.topK, cache, stats);
}

double auxLoss(const std::vector<float>& globalStats, int experts, int topK, double globalTokens, float alpha,
               std::vector<float>& coefficients) {
  coefficients.resize(static_cast<size_t>(experts));
  double loss = 0;
  for (int i = 0; i < experts; ++i) {
    const double f = globalStats[static_cast<size_t>(i)] / (globalTokens * topK);
    const double P = globalStats[static_cast<size_t>(experts + i)] / globalTokens;
    loss += f * P;
    coefficients[static_cast<size_t>(i)] = static_cast<float>(alpha * experts * f / globalTokens);
  }
  return alpha * experts * loss;
}

void routerBackward(const RouterShape& s, const float* x, const float* wr, const float* dWeights,
                    const std::vector<float>& coefficients, const RouterCache& cache, float* dx, float* dWr) {
  const int E = s.experts, k = s.topK;
  std::vector<float> dLogits(static_cast<size_t>(s.rows) * E);
  std::vector<float> dp(static_cast<size_t>(E));
  for (int r = 0; r < s.rows; ++r) {
    const float* p = cache.probs.data() + static_cast<size_t>(r) * E;
    const int64_t* idx = cache.topIdx.data() + static_cast<size_t>(r) * k;
    const float* g = cache.weights.data() + static_cast<size_t>(r) * k;
    const float* dg = dWeights + static_cast<size_t>(r) * k;
    // g_j = p_j / S over the selected experts: dp_j = (dg_j - Σ_l g_l·dg_l) / S.
    float selected = 0, weighted = 0;
    for (int j = 0; j < k; ++j) {
      selected += p[idx[j]];
      weighted += g[j] * dg[j];
    }
    for (int i = 0; i < E; ++i) dp[static_cast<size_t>(i)] = coefficients[static_cast<size_t>(i)];
    for (int j = 0; j < k; ++j) dp[static_cast<size_t>(idx[j])] += (dg[j] - weighted) / selected;
    float dot = 0;
    for (int i = 0; i < E; ++i) dot += p[i] * dp[static_cast<size_t>(i)];
    float* dl = dLogits.data() + static_cast<size_t>(r) * E;
    for (int i = 0; i < E; ++i) dl[i] = p[i] * (dp[static_cast<size_t>(i)] - dot);
  }
  linearBackward(x, wr, dLogits.data(), dx, dWr, nullptr, s.rows, s.dim, E, true);
}

}  // namespace trainer
