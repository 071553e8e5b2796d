// The whole model's forward and backward on one rank's batch: embeddings, the blocks
// (attention, then the dense MLP and the MoE layer in parallel, post-norm), the output head and
// softmax cross-entropy. Gradients are of the global batch's mean loss (each rank's tokens
// scaled by 1 / global tokens), so summing them over ranks gives the full gradient.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "attention.h"
#include "comm_clock.h"
#include "layers.h"
#include "model_config.h"
#include "moe_layer.h"
#include "parallel.h"
#include "params.h"

namespace trainer {

struct Batch {
  int sequences = 0;
  std::vector<uint8_t> inputs, targets;  // [sequences x seq]
};

struct StepLosses {
  double crossEntropySum = 0;  // this rank's tokens, summed
  double aux = 0;              // load-balancing loss of all blocks (global batch)
};

// Called during backward whenever more gradients are final: the first `dense` entries of the
// dense gradients and the first `expert` entries of the expert gradients.
using GradientsReady = std::function<void(size_t dense, size_t expert)>;

class Model {
 public:
  // naiveMoe: the MoE exchange through strataAllToAllv, one row per (token, expert) pair.
  Model(const ModelConfig& config, const Groups& groups, bool naiveMoe = false);

  const ModelConfig& config() const { return config_; }
  const ParamLayout& layout() const { return layout_; }
  std::vector<float>& dense() { return dense_; }
  std::vector<float>& expert() { return expert_; }
  std::vector<float>& denseGrad() { return denseGrad_; }
  const std::vector<float>& denseGrad() const { return denseGrad_; }
  std::vector<float>& expertGrad() { return expertGrad_; }
  const std::vector<float>& expertGrad() const { return expertGrad_; }

  // Forward and backward of one batch; gradients are zeroed first, then written. The router
  // statistics travel on `stream` (the gradient buckets' stream, idle until backward).
  StepLosses step(const Batch& batch, double globalTokens, strataStream_t stream, const GradientsReady& ready,
                  CommClock& clock);

  // The summed cross-entropy of this rank's share of a batch, without backward (collective, as a
  // step is: the EP group's exchanges and the world's router statistics).
  double evaluate(const Batch& batch, double globalTokens, strataStream_t stream);

  // Tokens per local expert in the last step, summed over blocks.
  std::vector<size_t> expertLoad() const;

 private:
  struct BlockCache {
    std::vector<float> input, attnOut, residual1, normed1, mlpPre, mlpAct, mlpOut, moeOut, residual2;
    AttentionCache attention;
    LayerNormCache norm1, norm2;
    MoeLayer moe;
  };

  StepLosses forward(const Batch& batch, double globalTokens, strataStream_t stream, CommClock& clock);
  void blockForward(int b, const float* x, float* y, double globalTokens, strataStream_t stream, CommClock& clock);
  void blockBackward(int b, const float* dy, float* dx, CommClock& clock);

  ModelConfig config_;
  const Groups& groups_;
  ParamLayout layout_;
  std::vector<float> dense_, expert_, denseGrad_, expertGrad_;
  bool naiveMoe_ = false;
  int rows_ = 0, sequences_ = 0;
  std::vector<BlockCache> blocks_;
  std::vector<float> embedded_, finalOut_, logits_;
};

}  // namespace trainer
