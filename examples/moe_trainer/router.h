// The MoE router: logits = x·Wr (no bias), softmax over the E experts, the top-k experts of each
// token (ties to the lower index) with their probabilities renormalised to sum to 1, and the
// load-balancing loss α·E·Σᵢ fᵢ·Pᵢ (fᵢ: share of the (token, slot) pairs routed to expert i,
// Pᵢ: mean router probability of expert i, both over the global batch; fᵢ is a constant for the
// gradient, as in Switch Transformer).
#pragma once

#include <cstdint>
#include <vector>

namespace trainer {

struct RouterShape {
  int rows = 0, dim = 0, experts = 0, topK = 0;
};

struct RouterCache {
  std::vector<float> probs;     // [rows x experts]
  std::vector<int64_t> topIdx;  // [rows x topK] global expert ids
  std::vector<float> weights;   // [rows x topK] renormalised
};

// Softmax over each row of `probs` (logits in, probabilities out, in place), the top-k experts
// of each row into cache.topIdx/weights, and the row's stats (see routerForward). One pass over
// the experts per row, keeping the k best in a small sorted list (k is at most 64, --topk): no
// sort of all E.
void selectTopK(int rows, int experts, int topK, RouterCache& cache, std::vector<float>& stats);

// Routes the rows; `stats` gets this rank's [experts] pair counts then [experts] probability
// sums, to be summed over the global batch before auxLoss.
void routerForward(const RouterShape& s, const float* x, const float* wr, RouterCache& cache,
                   std::vector<float>& stats);

// The load-balancing loss from global stats, and each expert's gradient coefficient
// dLoss/dP(token, i) = α·E·fᵢ / globalTokens (into `coefficients`).
double auxLoss(const std::vector<float>& globalStats, int experts, int topK, double globalTokens, float alpha,
               std::vector<float>& coefficients);

// From the gradient of the renormalised weights (dWeights [rows x topK]) and the aux
// coefficients: accumulates dWr and adds to dx.
void routerBackward(const RouterShape& s, const float* x, const float* wr, const float* dWeights,
                    const std::vector<float>& coefficients, const RouterCache& cache, float* dx, float* dWr);

}  // namespace trainer
