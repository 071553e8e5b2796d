#include "model.h"

#include <algorithm>

#include "linalg.h"

namespace trainer {

Model::Model(const ModelConfig& config, const Groups& groups, bool naiveMoe)
    : config_(config),
      groups_(groups),
      layout_(ParamLayout::make(config, groups.epRank, groups.epSize)),
      naiveMoe_(naiveMoe) {
  dense_.assign(layout_.denseCount, 0.0f);
  expert_.assign(layout_.expertCount, 0.0f);
  denseGrad_.assign(layout_.denseCount, 0.0f);
  expertGrad_.assign(layout_.expertCount, 0.0f);
  blocks_.resize(static_cast<size_t>(config.blocks));
}

namespace {

std::vector<ExpertWeights> expertWeights(const BlockOffsets& o, const float* base) {
  std::vector<ExpertWeights> w;
  for (const auto& e : o.experts) w.push_back({base + e.w1, base + e.b1, base + e.w2, base + e.b2});
  return w;
}

std::vector<ExpertGrads> expertGrads(const BlockOffsets& o, float* base) {
  std::vector<ExpertGrads> g;
  for (const auto& e : o.experts) g.push_back({base + e.w1, base + e.b1, base + e.w2, base + e.b2});
  return g;
}

void add(float* y, const float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] += x[i];
}

}  // namespace

void Model::blockForward(int b, const float* x, float* y, double globalTokens, strataStream_t stream,
                         CommClock& clock) {
  const ModelConfig& c = config_;
  const BlockOffsets& o = layout_.blocks[static_cast<size_t>(b)];
  BlockCache& cache = blocks_[static_cast<size_t>(b)];
  const float* w = dense_.data();
  const size_t n = static_cast<size_t>(rows_) * c.dim;
  cache.input.assign(x, x + n);
  cache.attnOut.resize(n);
  attentionForward({sequences_, c.seq, c.dim, c.heads}, {w + o.qkv, w + o.qkvBias, w + o.attnOut, w + o.attnOutBias}, x,
                   cache.attnOut.data(), cache.attention);
  cache.residual1 = cache.input;
  add(cache.residual1.data(), cache.attnOut.data(), n);
  cache.normed1.resize(n);
  layerNormForward(cache.residual1.data(), w + o.ln1Gamma, w + o.ln1Beta, cache.normed1.data(), rows_, c.dim,
                   cache.norm1);

  cache.mlpPre.resize(static_cast<size_t>(rows_) * c.mlpHidden);
  cache.mlpAct.resize(cache.mlpPre.size());
  cache.mlpOut.resize(n);
  linearForward(cache.normed1.data(), w + o.mlpW1, w + o.mlpB1, cache.mlpPre.data(), rows_, c.dim, c.mlpHidden);
  geluForward(cache.mlpPre.data(), cache.mlpAct.data(), cache.mlpAct.size());
  linearForward(cache.mlpAct.data(), w + o.mlpW2, w + o.mlpB2, cache.mlpOut.data(), rows_, c.mlpHidden, c.dim);

  cache.moeOut.resize(n);
  const MoeShape moe{rows_, c.dim, c.experts, c.topK, c.expertHidden, c.auxWeight, globalTokens, naiveMoe_};
  cache.moe.forward(moe, groups_, cache.normed1.data(), w + o.router, expertWeights(o, expert_.data()),
                    cache.moeOut.data(), stream, clock);

  cache.residual2 = cache.normed1;
  add(cache.residual2.data(), cache.mlpOut.data(), n);
  add(cache.residual2.data(), cache.moeOut.data(), n);
  layerNormForward(cache.residual2.data(), w + o.ln2Gamma, w + o.ln2Beta, y, rows_, c.dim, cache.norm2);
}

void Model::blockBackward(int b, const float* dy, float* dx, CommClock& clock) {
  const ModelConfig& c = config_;
  const BlockOffsets& o = layout_.blocks[static_cast<size_t>(b)];
  BlockCache& cache = blocks_[static_cast<size_t>(b)];
  const float* w = dense_.data();
  float* g = denseGrad_.data();
  const size_t n = static_cast<size_t>(rows_) * c.dim;
  std::vector<float> dResidual2(n);
  layerNormBackward(cache.residual2.data(), w + o.ln2Gamma, dy, dResidual2.data(), g + o.ln2Gamma, g + o.ln2Beta, rows_,
                    c.dim, cache.norm2);
  // normed1 feeds the residual, the MLP and the MoE layer: its gradient is the sum of the three.
  std::vector<float> dNormed1(n);
  const MoeShape moe{rows_, c.dim, c.experts, c.topK, c.expertHidden, c.auxWeight, 0, naiveMoe_};
  cache.moe.backward(moe, cache.normed1.data(), w + o.router, expertWeights(o, expert_.data()), dResidual2.data(),
                     dNormed1.data(), g + o.router, expertGrads(o, expertGrad_.data()), clock);
  add(dNormed1.data(), dResidual2.data(), n);
  std::vector<float> dAct(cache.mlpAct.size());
  linearBackward(cache.mlpAct.data(), w + o.mlpW2, dResidual2.data(), dAct.data(), g + o.mlpW2, g + o.mlpB2, rows_,
                 c.mlpHidden, c.dim, false);
  geluBackward(cache.mlpPre.data(), dAct.data(), dAct.data(), dAct.size());
  linearBackward(cache.normed1.data(), w + o.mlpW1, dAct.data(), dNormed1.data(), g + o.mlpW1, g + o.mlpB1, rows_,
                 c.dim, c.mlpHidden, true);

  std::vector<float> dResidual1(n);
  layerNormBackward(cache.residual1.data(), w + o.ln1Gamma, dNormed1.data(), dResidual1.data(), g + o.ln1Gamma,
                    g + o.ln1Beta, rows_, c.dim, cache.norm1);
  AttentionGrads attention{g + o.qkv, g + o.qkvBias, g + o.attnOut, g + o.attnOutBias};
  attentionBackward({sequences_, c.seq, c.dim, c.heads}, {w + o.qkv, w + o.qkvBias, w + o.attnOut, w + o.attnOutBias},
                    cache.input.data(), dResidual1.data(), dx, attention, cache.attention);
  add(dx, dResidual1.data(), n);
}

StepLosses Model::forward(const Batch& batch, double globalTokens, strataStream_t stream, CommClock& clock) {
  const ModelConfig& c = config_;
  sequences_ = batch.sequences;
  rows_ = batch.sequences * c.seq;
  const size_t n = static_cast<size_t>(rows_) * c.dim;
  StepLosses losses;
  embedded_.resize(n);
  embeddingForward(batch.inputs.data(), dense_.data() + layout_.tokens, dense_.data() + layout_.positions,
                   embedded_.data(), rows_, c.seq, c.dim);
  std::vector<float> x = embedded_, next(n);
  for (int b = 0; b < c.blocks; ++b) {
    blockForward(b, x.data(), next.data(), globalTokens, stream, clock);
    std::swap(x, next);
  }
  finalOut_ = x;
  logits_.resize(static_cast<size_t>(rows_) * c.vocab);
  linearForward(finalOut_.data(), dense_.data() + layout_.headW, dense_.data() + layout_.headB, logits_.data(), rows_,
                c.dim, c.vocab);
  // logits_ becomes the loss's gradient in place (scaled to the global batch's mean).
  losses.crossEntropySum = crossEntropyForwardBackward(logits_.data(), batch.targets.data(), logits_.data(), rows_,
                                                       c.vocab, static_cast<float>(1.0 / globalTokens));
  {
    CommClock::Scope timed(clock);
    check(strataStreamSynchronize(stream), nullptr, "strataStreamSynchronize (router statistics)");
  }
  for (int b = 0; b < c.blocks; ++b) {
    const MoeShape moe{rows_, c.dim, c.experts, c.topK, c.expertHidden, c.auxWeight, globalTokens, naiveMoe_};
    losses.aux += blocks_[static_cast<size_t>(b)].moe.auxLossFromStats(moe);
  }
  return losses;
}

double Model::evaluate(const Batch& batch, double globalTokens, strataStream_t stream) {
  CommClock unused;
  return forward(batch, globalTokens, stream, unused).crossEntropySum;
}

StepLosses Model::step(const Batch& batch, double globalTokens, strataStream_t stream, const GradientsReady& ready,
                       CommClock& clock) {
  const ModelConfig& c = config_;
  std::fill(denseGrad_.begin(), denseGrad_.end(), 0.0f);
  std::fill(expertGrad_.begin(), expertGrad_.end(), 0.0f);
  const StepLosses losses = forward(batch, globalTokens, stream, clock);
  const size_t n = static_cast<size_t>(rows_) * c.dim;
  const std::vector<float>& dLogits = logits_;
  std::vector<float> dx(n), dPrevious(n);
  linearBackward(finalOut_.data(), dense_.data() + layout_.headW, dLogits.data(), dx.data(),
                 denseGrad_.data() + layout_.headW, denseGrad_.data() + layout_.headB, rows_, c.dim, c.vocab, false);
  for (int b = c.blocks - 1; b >= 0; --b) {
    blockBackward(b, dx.data(), dPrevious.data(), clock);
    std::swap(dx, dPrevious);
    if (ready) ready(layout_.blocks[static_cast<size_t>(b)].denseEnd, layout_.blocks[static_cast<size_t>(b)].expertEnd);
  }
  embeddingBackward(batch.inputs.data(), dx.data(), denseGrad_.data() + layout_.tokens,
                    denseGrad_.data() + layout_.positions, rows_, c.seq, c.dim);
  if (ready) ready(layout_.denseCount, layout_.expertCount);
  return losses;
}

std::vector<size_t> Model::expertLoad() const {
  std::vector<size_t> load(static_cast<size_t>(layout_.localExperts), 0);
  for (const BlockCache& cache : blocks_) {
    const std::vector<size_t>& blockLoad = cache.moe.expertLoad();
    for (size_t e = 0; e < blockLoad.size() && e < load.size(); ++e) load[e] += blockLoad[e];
  }
  return load;
}

}  // namespace trainer
