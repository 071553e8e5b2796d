// The mixture-of-experts layer on Strata's public MoE API: route locally, build a handle over the
// EP group (strataMoeHandleCreate), dispatch each token's row once to every rank hosting one of
// its experts, run the local experts there (weights applied on the expert's rank), and combine
// the per-rank sums back into token order. Backward runs the same routes the other way
// (strataMoeCombineBackward, then strataMoeDispatchBackward, which also returns the router
// weights' gradients). --naive-moe swaps the exchange for naive_exchange.h's. The router's statistics are summed over
// the world so the load-balancing loss is the global batch's.
#pragma once

#include <strata/strata.h>
#include <strata/strata_moe.h>

#include <memory>
#include <vector>

#include "comm_clock.h"
#include "experts.h"
#include "naive_exchange.h"
#include "parallel.h"
#include "router.h"

namespace trainer {

struct MoeShape {
  int rows = 0, dim = 0, experts = 0, topK = 0, expertHidden = 0;
  float auxWeight = 0;
  double globalTokens = 0;
  bool naive = false;  // --naive-moe: one row per (token, expert) pair through strataAllToAllv
};

class MoeLayer {
 public:
  // y [rows x dim] = Σ_j weight_j · expert_j(x). Keeps what backward needs (the handle included)
  // until backward. The router's statistics are summed over the world on `statsStream`: only
  // the aux loss and backward need them, so forward does not wait for them.
  void forward(const MoeShape& s, const Groups& groups, const float* x, const float* wr,
               const std::vector<ExpertWeights>& experts, float* y, strataStream_t statsStream, CommClock& clock);
  // Once statsStream is synchronised: the aux loss (and the gradient coefficients backward uses).
  double auxLossFromStats(const MoeShape& s);
  // dx (overwrites) from dy; accumulates dWr and the local experts' gradients.
  void backward(const MoeShape& s, const float* x, const float* wr, const std::vector<ExpertWeights>& experts,
                const float* dy, float* dx, float* dWr, const std::vector<ExpertGrads>& expertGrads, CommClock& clock);

  // Tokens each local expert received in the last forward (expert load).
  const std::vector<size_t>& expertLoad() const { return load_; }

 private:
  // Routes the tokens (the handle) and dispatches x: recvX_, recvIds_, recvWeights_.
  void dispatch(const MoeShape& s, const float* x, CommClock& clock);

  struct HandleDestroyer {
    void operator()(strataMoeHandle_t h) const { strataMoeHandleDestroy(h); }
  };
  std::unique_ptr<strataMoeHandle, HandleDestroyer> handle_;  // from forward until backward ends
  strataComm_t ep_ = nullptr;
  RouterCache router_;
  std::vector<float> stats_, coefficients_;
  int received_ = 0;
  std::vector<float> recvX_, recvWeights_, expertOut_;
  std::vector<int32_t> recvIds_;
  ExpertsCache experts_;
  std::vector<size_t> load_;
  NaiveExchange naive_;
};

}  // namespace trainer
