#include "naive_exchange.h"

#include <algorithm>
#include <cstring>

#include "parallel.h"

namespace trainer {

void NaiveExchange::exchange(const std::vector<float>& send, size_t sendWidth, std::vector<float>& recv,
                             size_t recvWidth, bool reverse, CommClock& clock) {
  const std::vector<size_t>& out = reverse ? recvRows_ : sendRows_;
  const std::vector<size_t>& in = reverse ? sendRows_ : recvRows_;
  const size_t peers = out.size();
  for (auto* v : {&sendCounts_, &sendDispls_, &recvCounts_, &recvDispls_}) v->assign(peers, 0);
  size_t sent = 0, received = 0;
  for (size_t p = 0; p < peers; ++p) {
    sendCounts_[p] = out[p] * sendWidth;
    sendDispls_[p] = sent;
    sent += sendCounts_[p];
    recvCounts_[p] = in[p] * recvWidth;
    recvDispls_[p] = received;
    received += recvCounts_[p];
  }
  recv.resize(received);
  CommClock::Scope timed(clock);
  check(strataAllToAllv(send.data(), sendCounts_.data(), sendDispls_.data(), recv.data(), recvCounts_.data(),
                        recvDispls_.data(), strataFloat, ep_, nullptr),
        ep_, "strataAllToAllv (naive MoE exchange)");
}

void NaiveExchange::forward(strataComm_t ep, int epSize, int rows, int dim, int experts, int topK, int expertHidden,
                            const float* x, const RouterCache& router, const std::vector<ExpertWeights>& weights,
                            float* y, std::vector<size_t>& load, CommClock& clock) {
  ep_ = ep;
  rows_ = rows;
  dim_ = dim;
  topK_ = topK;
  expertHidden_ = expertHidden;
  const int perRank = experts / epSize;
  sendRows_.assign(static_cast<size_t>(epSize), 0);
  for (int64_t e : router.topIdx) ++sendRows_[static_cast<size_t>(e / perRank)];
  // Pairs by destination rank, then token and slot.
  pairToken_.clear();
  pairSlot_.clear();
  for (int dest = 0; dest < epSize; ++dest) {
    for (int t = 0; t < rows; ++t) {
      for (int j = 0; j < topK; ++j) {
        if (router.topIdx[static_cast<size_t>(t) * topK + j] / perRank != dest) continue;
        pairToken_.push_back(t);
        pairSlot_.push_back(j);
      }
    }
  }
  // Row counts first (an all-to-all of one count per peer), then the rows: x, weight, local id.
  recvRows_.assign(static_cast<size_t>(epSize), 0);
  {
    CommClock::Scope timed(clock);
    check(strataAllToAll(sendRows_.data(), recvRows_.data(), 1, strataUint64, ep_, nullptr), ep_,
          "strataAllToAll (naive MoE counts)");
  }
  const size_t width = static_cast<size_t>(dim) + 2;
  std::vector<float> send(pairToken_.size() * width), recv;
  for (size_t p = 0; p < pairToken_.size(); ++p) {
    const size_t slot = static_cast<size_t>(pairToken_[p]) * topK + static_cast<size_t>(pairSlot_[p]);
    std::memcpy(&send[p * width], x + static_cast<size_t>(pairToken_[p]) * dim, sizeof(float) * dim);
    send[p * width + dim] = router.weights[slot];
    send[p * width + dim + 1] = static_cast<float>(router.topIdx[slot] % perRank);
  }
  exchange(send, width, recv, width, false, clock);
  const size_t received = recv.size() / width;
  recvX_.resize(received * dim);
  recvWeights_.resize(received);
  recvIds_.resize(received);
  load.assign(weights.size(), 0);
  for (size_t r = 0; r < received; ++r) {
    std::memcpy(&recvX_[r * dim], &recv[r * width], sizeof(float) * dim);
    recvWeights_[r] = recv[r * width + dim];
    recvIds_[r] = static_cast<int32_t>(recv[r * width + dim + 1]);
    ++load[static_cast<size_t>(recvIds_[r])];
  }
  std::vector<float> out(received * dim), back;
  expertsForward({dim, expertHidden, 1}, weights, recvX_.data(), recvIds_.data(), recvWeights_.data(),
                 static_cast<int>(received), out.data(), cache_);
  exchange(out, static_cast<size_t>(dim), back, static_cast<size_t>(dim), true, clock);
  std::fill(y, y + static_cast<size_t>(rows) * dim, 0.0f);
  for (size_t p = 0; p < pairToken_.size(); ++p) {
    float* row = y + static_cast<size_t>(pairToken_[p]) * dim;
    for (int c = 0; c < dim; ++c) row[c] += back[p * dim + static_cast<size_t>(c)];
  }
}

void NaiveExchange::backward(const std::vector<ExpertWeights>& weights, const std::vector<ExpertGrads>& grads,
                             const float* dy, float* dx, float* dWeights, CommClock& clock) {
  const int dim = dim_;
  std::vector<float> send(pairToken_.size() * dim), gradOut;
  for (size_t p = 0; p < pairToken_.size(); ++p) {
    std::memcpy(&send[p * dim], dy + static_cast<size_t>(pairToken_[p]) * dim, sizeof(float) * dim);
  }
  exchange(send, static_cast<size_t>(dim), gradOut, static_cast<size_t>(dim), false, clock);
  const size_t received = recvIds_.size();
  std::vector<float> gradX(received * dim), gradW(received);
  expertsBackward({dim, expertHidden_, 1}, weights, gradOut.data(), recvWeights_.data(), static_cast<int>(received),
                  cache_, grads, gradX.data(), gradW.data());
  const size_t width = static_cast<size_t>(dim) + 1;
  std::vector<float> reply(received * width), back;
  for (size_t r = 0; r < received; ++r) {
    std::memcpy(&reply[r * width], &gradX[r * dim], sizeof(float) * dim);
    reply[r * width + dim] = gradW[r];
  }
  exchange(reply, width, back, width, true, clock);
  std::fill(dx, dx + static_cast<size_t>(rows_) * dim, 0.0f);
  std::fill(dWeights, dWeights + static_cast<size_t>(rows_) * topK_, 0.0f);
  for (size_t p = 0; p < pairToken_.size(); ++p) {
    float* row = dx + static_cast<size_t>(pairToken_[p]) * dim;
    for (int c = 0; c < dim; ++c) row[c] += back[p * width + static_cast<size_t>(c)];
    dWeights[static_cast<size_t>(pairToken_[p]) * topK_ + pairSlot_[p]] = back[p * width + dim];
  }
}

}  // namespace trainer
