// Element-wise and per-row layers, each forward beside its backward: layer norm, GELU (tanh
// form), token + position embeddings, and the output's softmax cross-entropy. Rows are tokens,
// row-major float32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace trainer {

// y = (x - mean) / sqrt(var + eps) · gamma + beta per row of `dim`; keeps each row's mean and
// 1/std for backward.
struct LayerNormCache {
  std::vector<float> mean, rstd;
};
void layerNormForward(const float* x, const float* gamma, const float* beta, float* y, int rows, int dim,
                      LayerNormCache& cache);
// dx = (overwrites) the input gradient; dgamma, dbeta accumulate.
void layerNormBackward(const float* x, const float* gamma, const float* dy, float* dx, float* dgamma, float* dbeta,
                       int rows, int dim, const LayerNormCache& cache);

// GELU, tanh approximation (PyTorch's gelu(approximate="tanh")).
void geluForward(const float* x, float* y, size_t n);
// dx = dy · gelu'(x) (overwrites).
void geluBackward(const float* x, const float* dy, float* dx, size_t n);

// x[t] = tokenTable[ids[t]] + positionTable[t % seq].
void embeddingForward(const uint8_t* ids, const float* tokenTable, const float* positionTable, float* x, int rows,
                      int seq, int dim);
void embeddingBackward(const uint8_t* ids, const float* dx, float* dTokenTable, float* dPositionTable, int rows,
                       int seq, int dim);

// Softmax cross-entropy of logits [rows x vocab] against targets; returns the summed loss of the
// rows and writes dlogits = (softmax - onehot) · scale (scale = 1 / tokens of the global batch).
double crossEntropyForwardBackward(const float* logits, const uint8_t* targets, float* dlogits, int rows, int vocab,
                                   float scale);

}  // namespace trainer
