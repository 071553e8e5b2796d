// The MoE exchange done the naive way, for comparison (--naive-moe): one row per (token, expert)
// pair through strataAllToAllv, each row carrying its weight and local expert id, and one row per
// pair back; a token with two experts on one rank travels twice. What Strata's dispatch/combine
// saves over this is what the README's trainer table reports.
#pragma once

#include <strata/strata.h>

#include <cstdint>
#include <vector>

#include "comm_clock.h"
#include "experts.h"
#include "router.h"

namespace trainer {

class NaiveExchange {
 public:
  // y [rows x dim] from the routed rows; `load` gets the rows each local expert received.
  void forward(strataComm_t ep, int epSize, int rows, int dim, int experts, int topK, int expertHidden, const float* x,
               const RouterCache& router, const std::vector<ExpertWeights>& weights, float* y,
               std::vector<size_t>& load, CommClock& clock);
  // dx (overwrites) and dWeights [rows x topK] from dy; accumulates the experts' gradients.
  void backward(const std::vector<ExpertWeights>& weights, const std::vector<ExpertGrads>& grads, const float* dy,
                float* dx, float* dWeights, CommClock& clock);

 private:
  void exchange(const std::vector<float>& send, size_t sendWidth, std::vector<float>& recv, size_t recvWidth,
                bool reverse, CommClock& clock);

  strataComm_t ep_ = nullptr;
  int rows_ = 0, dim_ = 0, topK_ = 0, expertHidden_ = 0;
  std::vector<int> pairToken_, pairSlot_;                                  // the pairs this rank sends, by destination
  std::vector<size_t> sendRows_, recvRows_;                                // rows per peer
  std::vector<size_t> sendCounts_, sendDispls_, recvCounts_, recvDispls_;  // strataAllToAllv's arguments
  std::vector<float> recvX_, recvWeights_;
  std::vector<int32_t> recvIds_;
  ExpertsCache cache_;
};

}  // namespace trainer
