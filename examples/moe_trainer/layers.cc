#include "layers.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace trainer {

namespace {
constexpr float kLayerNormEps = 1e-5f;
constexpr float kGeluScale = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kGeluCubic = 0.044715f;
}  // namespace

void layerNormForward(const float* x, const float* gamma, const float* beta, float* y, int rows, int dim,
                      LayerNormCache& cache) {
  cache.mean.resize(static_cast<size_t>(rows));
  cache.rstd.resize(static_cast<size_t>(rows));
  for (int r = 0; r < rows; ++r) {
    const float* in = x + static_cast<size_t>(r) * dim;
    float* out = y + static_cast<size_t>(r) * dim;
    double sum = 0;
    for (int i = 0; i < dim; ++i) sum += in[i];
    const float mean = static_cast<float>(sum / dim);
    double squares = 0;
    for (int i = 0; i < dim; ++i) squares += static_cast<double>(in[i] - mean) * (in[i] - mean);
    const float rstd = 1.0f / std::sqrt(static_cast<float>(squares / dim) + kLayerNormEps);
    for (int i = 0; i < dim; ++i) out[i] = (in[i] - mean) * rstd * gamma[i] + beta[i];
    cache.mean[static_cast<size_t>(r)] = mean;
    cache.rstd[static_cast<size_t>(r)] = rstd;
  }
}

void layerNormBackward(const float* x, const float* gamma, const float* dy, float* dx, float* dgamma, float* dbeta,
                       int rows, int dim, const LayerNormCache& cache) {
  for (int r = 0; r < rows; ++r) {
    const float* in = x + static_cast<size_t>(r) * dim;
    const float* g = dy + static_cast<size_t>(r) * dim;
    float* out = dx + static_cast<size_t>(r) * dim;
    const float mean = cache.mean[static_cast<size_t>(r)], rstd = cache.rstd[static_cast<size_t>(r)];
    // With xhat = (x - mean)·rstd and gx = dy·gamma: dx = rstd·(gx - mean(gx) - xhat·mean(gx·xhat)).
    double sumG = 0, sumGX = 0;
    for (int i = 0; i < dim; ++i) {
      const float xhat = (in[i] - mean) * rstd;
      const float gx = g[i] * gamma[i];
      sumG += gx;
      sumGX += static_cast<double>(gx) * xhat;
      dgamma[i] += g[i] * xhat;
      dbeta[i] += g[i];
    }
    const float meanG = static_cast<float>(sumG / dim), meanGX = static_cast<float>(sumGX / dim);
    for (int i = 0; i < dim; ++i) {
      const float xhat = (in[i] - mean) * rstd;
      out[i] = rstd * (g[i] * gamma[i] - meanG - xhat * meanGX);
    }
  }
}

void geluForward(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + std::tanh(kGeluScale * (v + kGeluCubic * v * v * v)));
  }
}

void geluBackward(const float* x, const float* dy, float* dx, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float t = std::tanh(kGeluScale * (v + kGeluCubic * v * v * v));
    const float dInner = kGeluScale * (1.0f + 3.0f * kGeluCubic * v * v);
    dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * dInner);
  }
}

void embeddingForward(const uint8_t* ids, const float* tokenTable, const float* positionTable, float* x, int rows,
                      int seq, int dim) {
  for (int r = 0; r < rows; ++r) {
    const float* token = tokenTable + static_cast<size_t>(ids[r]) * dim;
    const float* position = positionTable + static_cast<size_t>(r % seq) * dim;
    float* out = x + static_cast<size_t>(r) * dim;
    for (int i = 0; i < dim; ++i) out[i] = token[i] + position[i];
  }
}

void embeddingBackward(const uint8_t* ids, const float* dx, float* dTokenTable, float* dPositionTable, int rows,
                       int seq, int dim) {
  for (int r = 0; r < rows; ++r) {
    const float* g = dx + static_cast<size_t>(r) * dim;
    float* token = dTokenTable + static_cast<size_t>(ids[r]) * dim;
    float* position = dPositionTable + static_cast<size_t>(r % seq) * dim;
    for (int i = 0; i < dim; ++i) {
      token[i] += g[i];
      position[i] += g[i];
    }
  }
}

double crossEntropyForwardBackward(const float* logits, const uint8_t* targets, float* dlogits, int rows, int vocab,
                                   float scale) {
  double loss = 0;
  for (int r = 0; r < rows; ++r) {
    const float* in = logits + static_cast<size_t>(r) * vocab;
    float* g = dlogits + static_cast<size_t>(r) * vocab;
    const float top = *std::max_element(in, in + vocab);
    double sum = 0;
    for (int i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(in[i] - top));
    const double logSum = std::log(sum) + top;
    loss += logSum - in[targets[r]];
    for (int i = 0; i < vocab; ++i) g[i] = static_cast<float>(std::exp(in[i] - logSum)) * scale;
    g[targets[r]] -= scale;
  }
  return loss;
}

}  // namespace trainer
