// A rank's local experts applied to the rows dispatch brought it: each expert is a two-layer MLP
// with GELU, run as one matrix product per expert over the rows routed to it (grouped GEMM);
// each row's outputs are weighted by its router weights and summed here, on the expert's rank,
// so combine only adds the per-rank sums.
#pragma once

#include <cstdint>
#include <vector>

namespace trainer {

struct ExpertShape {
  int dim = 0, hidden = 0, topK = 0;
};
struct ExpertWeights {
  const float *w1, *b1, *w2, *b2;
};
struct ExpertGrads {
  float *w1, *b1, *w2, *b2;
};

struct ExpertsCache {
  struct Group {
    std::vector<int> row, slot;            // the received rows (and their top-k slots) of this expert
    std::vector<float> in, pre, act, out;  // gathered input, pre-GELU, post-GELU, output
  };
  std::vector<Group> groups;  // one per local expert
};

// out [rows x dim] = Σ over a row's slots with a local expert of weight · expert(row).
void expertsForward(const ExpertShape& s, const std::vector<ExpertWeights>& w, const float* x, const int32_t* localIds,
                    const float* weights, int rows, float* out, ExpertsCache& cache);

// From dOut [rows x dim]: accumulates the experts' gradients, writes dx [rows x dim] and
// dWeights [rows x topK] (0 for slots without a local expert).
void expertsBackward(const ExpertShape& s, const std::vector<ExpertWeights>& w, const float* dOut, const float* weights,
                     int rows, const ExpertsCache& cache, const std::vector<ExpertGrads>& g, float* dx,
                     float* dWeights);

}  // namespace trainer
