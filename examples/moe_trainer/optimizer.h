// AdamW (decoupled weight decay, on matrices and embeddings only), the learning-rate schedule
// (linear warm-up, then cosine decay to a tenth of the peak), and gradient-norm clipping.
#pragma once

#include <vector>

#include "params.h"

namespace trainer {

struct OptimizerConfig {
  float lr = 3e-3f;
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;
  float weightDecay = 0.1f;
  float clipNorm = 1.0f;  // 0: no clipping
  int warmupSteps = 20;
  int totalSteps = 300;
};

// The learning rate of step `step` (0-based).
float learningRate(const OptimizerConfig& c, int step);

class AdamW {
 public:
  AdamW(const OptimizerConfig& config, const std::vector<ParamTensor>& tensors, size_t count);

  // One update of `params` from `grads` (already scaled by the clipping factor `gradScale`).
  void update(std::vector<float>& params, const std::vector<float>& grads, float lr, float gradScale);

  // The moments and the number of updates made: what a checkpoint keeps.
  std::vector<float>& firstMoment() { return m_; }
  std::vector<float>& secondMoment() { return v_; }
  long long& updates() { return t_; }
  const OptimizerConfig& config() const { return config_; }

 private:
  OptimizerConfig config_;
  std::vector<char> decay_;  // per element: 1 where weight decay applies
  std::vector<float> m_, v_;
  long long t_ = 0;
};

// The factor that brings a gradient of this norm down to the clipping norm (1 when below it).
float clipScale(const OptimizerConfig& c, double norm);

}  // namespace trainer
