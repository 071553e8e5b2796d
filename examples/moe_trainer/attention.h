// Causal multi-head self-attention over a batch of sequences: one fused q/k/v projection
// [dim x 3·dim], scaled dot-product attention per (sequence, head) with a causal mask, and the
// output projection. Forward keeps q/k/v, the attention probabilities and the heads' outputs.
#pragma once

#include <vector>

namespace trainer {

struct AttentionShape {
  int sequences = 0, seq = 0, dim = 0, heads = 0;
  int rows() const { return sequences * seq; }
  int headDim() const { return dim / heads; }
};

struct AttentionWeights {
  const float *qkv, *qkvBias, *out, *outBias;
};
struct AttentionGrads {
  float *qkv, *qkvBias, *out, *outBias;
};

struct AttentionCache {
  std::vector<float> qkv;    // [rows x 3·dim]
  std::vector<float> probs;  // [sequences x heads x seq x seq]
  std::vector<float> heads;  // [rows x dim], the heads' outputs side by side
};

// y [rows x dim] = attention(x).
void attentionForward(const AttentionShape& s, const AttentionWeights& w, const float* x, float* y,
                      AttentionCache& cache);

// Accumulates the weights' gradients and writes dx (overwrites) from dy.
void attentionBackward(const AttentionShape& s, const AttentionWeights& w, const float* x, const float* dy, float* dx,
                       AttentionGrads& g, const AttentionCache& cache);

}  // namespace trainer
