#include "moe_layer.h"

namespace trainer {

void MoeLayer::forward(const MoeShape& s, const Groups& groups, const float* x, const float* wr,
                       const std::vector<ExpertWeights>& experts, float* y, strataStream_t statsStream,
                       CommClock& clock) {
  handle_.reset();
  ep_ = groups.ep;
  routerForward({s.rows, s.dim, s.experts, s.topK}, x, wr, router_, stats_);
  if (groups.size > 1) {
    check(
        strataAllReduce(stats_.data(), stats_.data(), stats_.size(), strataFloat, strataSum, groups.world, statsStream),
        groups.world, "strataAllReduce (router statistics)");
  }

  if (s.naive) {
    naive_.forward(ep_, groups.epSize, s.rows, s.dim, s.experts, s.topK, s.expertHidden, x, router_, experts, y, load_,
                   clock);
    return;
  }
  dispatch(s, x, clock);
  expertOut_.resize(static_cast<size_t>(received_) * s.dim);
  expertsForward({s.dim, s.expertHidden, s.topK}, experts, recvX_.data(), recvIds_.data(), recvWeights_.data(),
                 received_, expertOut_.data(), experts_);
  CommClock::Scope timed(clock);
  check(
      strataMoeCombine(handle_.get(), expertOut_.data(), static_cast<size_t>(s.dim), strataFloat, nullptr, y, nullptr),
      ep_, "strataMoeCombine");
}

void MoeLayer::dispatch(const MoeShape& s, const float* x, CommClock& clock) {
  CommClock::Scope timed(clock);
  strataMoeConfig config = STRATA_MOE_CONFIG_INIT;  // no capacity limit: every routed pair travels
  strataMoeHandle_t created = nullptr;
  check(strataMoeHandleCreate(router_.topIdx.data(), static_cast<size_t>(s.rows), s.topK, s.experts, &config, ep_,
                              &created),
        ep_, "strataMoeHandleCreate");
  handle_.reset(created);
  strataMoeHandleInfo info;
  check(strataMoeHandleGetInfo(handle_.get(), &info), ep_, "strataMoeHandleGetInfo");
  received_ = static_cast<int>(info.numRecvTokens);
  load_.resize(static_cast<size_t>(info.numLocalExperts));
  check(strataMoeHandleGetExpertCounts(handle_.get(), load_.data()), ep_, "strataMoeHandleGetExpertCounts");
  recvX_.resize(static_cast<size_t>(received_) * s.dim);
  recvIds_.resize(static_cast<size_t>(received_) * s.topK);
  recvWeights_.resize(static_cast<size_t>(received_) * s.topK);
  check(strataMoeDispatch(handle_.get(), x, nullptr, static_cast<size_t>(s.dim), strataFloat, router_.weights.data(),
                          recvX_.data(), nullptr, recvIds_.data(), recvWeights_.data(), nullptr),
        ep_, "strataMoeDispatch");
}

double MoeLayer::auxLossFromStats(const MoeShape& s) {
  return auxLoss(stats_, s.experts, s.topK, s.globalTokens, s.auxWeight, coefficients_);
}

void MoeLayer::backward(const MoeShape& s, const float* x, const float* wr, const std::vector<ExpertWeights>& experts,
                        const float* dy, float* dx, float* dWr, const std::vector<ExpertGrads>& expertGrads,
                        CommClock& clock) {
  if (s.naive) {
    std::vector<float> gradWeights(static_cast<size_t>(s.rows) * s.topK);
    naive_.backward(experts, expertGrads, dy, dx, gradWeights.data(), clock);
    routerBackward({s.rows, s.dim, s.experts, s.topK}, x, wr, gradWeights.data(), coefficients_, router_, dx, dWr);
    return;
  }
  std::vector<float> gradExpertOut(static_cast<size_t>(received_) * s.dim);
  {
    CommClock::Scope timed(clock);
    check(strataMoeCombineBackward(handle_.get(), dy, static_cast<size_t>(s.dim), strataFloat, nullptr, nullptr,
                                   gradExpertOut.data(), nullptr, nullptr),
          ep_, "strataMoeCombineBackward");
  }
  std::vector<float> gradRecvX(static_cast<size_t>(received_) * s.dim);
  std::vector<float> gradRecvWeights(static_cast<size_t>(received_) * s.topK);
  expertsBackward({s.dim, s.expertHidden, s.topK}, experts, gradExpertOut.data(), recvWeights_.data(), received_,
                  experts_, expertGrads, gradRecvX.data(), gradRecvWeights.data());
  std::vector<float> gradWeights(static_cast<size_t>(s.rows) * s.topK);
  {
    CommClock::Scope timed(clock);
    check(strataMoeDispatchBackward(handle_.get(), gradRecvX.data(), static_cast<size_t>(s.dim), strataFloat,
                                    gradRecvWeights.data(), dx, gradWeights.data(), nullptr),
          ep_, "strataMoeDispatchBackward");
  }
  routerBackward({s.rows, s.dim, s.experts, s.topK}, x, wr, gradWeights.data(), coefficients_, router_, dx, dWr);
  handle_.reset();
}

}  // namespace trainer
