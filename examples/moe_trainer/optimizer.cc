#include "optimizer.h"

#include <algorithm>
#include <cmath>

namespace trainer {

float learningRate(const OptimizerConfig& c, int step) {
  if (step < c.warmupSteps) return c.lr * static_cast<float>(step + 1) / static_cast<float>(c.warmupSteps);
  const int decaySteps = std::max(1, c.totalSteps - c.warmupSteps);
  const double progress = std::min(1.0, static_cast<double>(step - c.warmupSteps) / decaySteps);
  const double floor = 0.1 * c.lr;
  return static_cast<float>(floor + (c.lr - floor) * 0.5 * (1.0 + std::cos(M_PI * progress)));
}

AdamW::AdamW(const OptimizerConfig& config, const std::vector<ParamTensor>& tensors, size_t count)
    : config_(config), decay_(count, 0), m_(count, 0.0f), v_(count, 0.0f) {
  for (const ParamTensor& t : tensors) {
    if (t.decay)
      std::fill(decay_.begin() + static_cast<long>(t.offset), decay_.begin() + static_cast<long>(t.offset + t.count),
                1);
  }
}

void AdamW::update(std::vector<float>& params, const std::vector<float>& grads, float lr, float gradScale) {
  ++t_;
  const double correction1 = 1.0 - std::pow(config_.beta1, static_cast<double>(t_));
  const double correction2 = 1.0 - std::pow(config_.beta2, static_cast<double>(t_));
  const float stepSize = static_cast<float>(lr / correction1);
  const float rootCorrection2 = static_cast<float>(std::sqrt(correction2));
  for (size_t i = 0; i < params.size(); ++i) {
    const float g = grads[i] * gradScale;
    m_[i] = config_.beta1 * m_[i] + (1.0f - config_.beta1) * g;
    v_[i] = config_.beta2 * v_[i] + (1.0f - config_.beta2) * g * g;
    if (decay_[i]) params[i] -= lr * config_.weightDecay * params[i];
    params[i] -= stepSize * m_[i] / (std::sqrt(v_[i]) / rootCorrection2 + config_.eps);
  }
}

float clipScale(const OptimizerConfig& c, double norm) {
  if (c.clipNorm <= 0 || norm <= c.clipNorm) return 1.0f;
  return static_cast<float>(c.clipNorm / (norm + 1e-6));
}

}  // namespace trainer
