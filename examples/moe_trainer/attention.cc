#include "attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "linalg.h"

namespace trainer {

void attentionForward(const AttentionShape& s, const AttentionWeights& w, const float* x, float* y,
                      AttentionCache& cache) {
  const int rows = s.rows(), dim = s.dim, hd = s.headDim(), T = s.seq, ld = 3 * dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  cache.qkv.resize(static_cast<size_t>(rows) * ld);
  cache.probs.resize(static_cast<size_t>(s.sequences) * s.heads * T * T);
  cache.heads.resize(static_cast<size_t>(rows) * dim);
  linearForward(x, w.qkv, w.qkvBias, cache.qkv.data(), rows, dim, ld);
  for (int b = 0; b < s.sequences; ++b) {
    for (int h = 0; h < s.heads; ++h) {
      const float* q = cache.qkv.data() + static_cast<size_t>(b) * T * ld + h * hd;
      const float* k = q + dim;
      const float* v = q + 2 * dim;
      float* p = cache.probs.data() + (static_cast<size_t>(b) * s.heads + h) * T * T;
      gemm(Transpose::No, Transpose::Yes, T, T, hd, scale, q, ld, k, ld, 0.0f, p, T);
      for (int i = 0; i < T; ++i) {
        float* row = p + static_cast<size_t>(i) * T;
        const float top = *std::max_element(row, row + i + 1);
        float sum = 0;
        for (int j = 0; j <= i; ++j) sum += row[j] = std::exp(row[j] - top);
        for (int j = 0; j <= i; ++j) row[j] /= sum;
        std::fill(row + i + 1, row + T, 0.0f);  // causal: a token sees itself and the past
      }
      float* o = cache.heads.data() + static_cast<size_t>(b) * T * dim + h * hd;
      gemm(Transpose::No, Transpose::No, T, hd, T, 1.0f, p, T, v, ld, 0.0f, o, dim);
    }
  }
  linearForward(cache.heads.data(), w.out, w.outBias, y, rows, dim, dim);
}

void attentionBackward(const AttentionShape& s, const AttentionWeights& w, const float* x, const float* dy, float* dx,
                       AttentionGrads& g, const AttentionCache& cache) {
  const int rows = s.rows(), dim = s.dim, hd = s.headDim(), T = s.seq, ld = 3 * dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  std::vector<float> dHeads(static_cast<size_t>(rows) * dim);
  linearBackward(cache.heads.data(), w.out, dy, dHeads.data(), g.out, g.outBias, rows, dim, dim, false);
  std::vector<float> dqkv(static_cast<size_t>(rows) * ld);
  std::vector<float> dp(static_cast<size_t>(T) * T);
  for (int b = 0; b < s.sequences; ++b) {
    for (int h = 0; h < s.heads; ++h) {
      const size_t base = static_cast<size_t>(b) * T * ld + h * hd;
      const float* q = cache.qkv.data() + base;
      const float* k = q + dim;
      const float* v = q + 2 * dim;
      float* dq = dqkv.data() + base;
      float* dk = dq + dim;
      float* dv = dq + 2 * dim;
      const float* p = cache.probs.data() + (static_cast<size_t>(b) * s.heads + h) * T * T;
      const float* dO = dHeads.data() + static_cast<size_t>(b) * T * dim + h * hd;
      gemm(Transpose::No, Transpose::Yes, T, T, hd, 1.0f, dO, dim, v, ld, 0.0f, dp.data(), T);
      gemm(Transpose::Yes, Transpose::No, T, hd, T, 1.0f, p, T, dO, dim, 0.0f, dv, ld);
      // Softmax backward, row by row: dS = P ⊙ (dP - Σ_j dP·P); masked entries have P = 0.
      for (int i = 0; i < T; ++i) {
        const float* prow = p + static_cast<size_t>(i) * T;
        float* drow = dp.data() + static_cast<size_t>(i) * T;
        float dot = 0;
        for (int j = 0; j <= i; ++j) dot += drow[j] * prow[j];
        for (int j = 0; j < T; ++j) drow[j] = prow[j] * (drow[j] - dot);
      }
      gemm(Transpose::No, Transpose::No, T, hd, T, scale, dp.data(), T, k, ld, 0.0f, dq, ld);
      gemm(Transpose::Yes, Transpose::No, T, hd, T, scale, dp.data(), T, q, ld, 0.0f, dk, ld);
    }
  }
  linearBackward(x, w.qkv, dqkv.data(), dx, g.qkv, g.qkvBias, rows, dim, ld, false);
}

}  // namespace trainer
