#include "router.h"

#include <algorithm>
#include <cmath>

#include "linalg.h"

namespace trainer {

void routerForward(const RouterShape& s, const float* x, const float* wr, RouterCache& cache, std::vector<float>& stats) {
  const int E = s.experts, k = s.topK;
  cache.probs.resize(static_cast<size_t>(s.rows) * E);
  cache.topIdx.resize(static_cast<size_t>(s.rows) * k);
  cache.weights.resize(static_cast<size_t>(s.rows) * k);
  stats.assign(static_cast<size_t>(2 * E), 0.0f);
  linearForward(x, wr, nullptr, cache.probs.data(), s.rows, s.dim, E);
  std::vector<int> order(static_cast<size_t>(E));
  for (int r = 0; r < s.rows; ++r) {
    float* p = cache.probs.data() + static_cast<size_t>(r) * E;
    const float top = *std::max_element(p, p + E);
    float sum = 0;
    for (int i = 0; i < E; ++i) sum += p[i] = std::exp(p[i] - top);
    for (int i = 0; i < E; ++i) p[i] /= sum;
    // A partial selection of k out of E (E is small): the k largest, ties to the lower index.
    for (int i = 0; i < E; ++i) order[static_cast<size_t>(i)] = i;
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [p](int a, int b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
    float selected = 0;
    for (int j = 0; j < k; ++j) selected += p[order[static_cast<size_t>(j)]];
    for (int j = 0; j < k; ++j) {
      const int e = order[static_cast<size_t>(j)];
      cache.topIdx[static_cast<size_t>(r) * k + j] = e;
      cache.weights[static_cast<size_t>(r) * k + j] = p[e] / selected;
      stats[static_cast<size_t>(e)] += 1.0f;
    }
    for (int i = 0; i < E; ++i) stats[static_cast<size_t>(E + i)] += p[i];
  }
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
