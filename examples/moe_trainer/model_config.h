// The model's shape: a byte-level language model of `blocks` blocks, each causal multi-head
// self-attention followed by a dense MLP and a mixture-of-experts layer in parallel:
//   x = norm1(x + attn(x)); x = norm2(x + mlp(x) + moe(x))
#pragma once

#include <string>

namespace trainer {

struct ModelConfig {
  int vocab = 256;  // bytes
  int seq = 64;
  int dim = 64;
  int heads = 4;
  int blocks = 2;
  int mlpHidden = 128;
  int experts = 8;
  int topK = 2;
  int expertHidden = 64;
  float auxWeight = 0.01f;

  // An empty string, or what is wrong (e.g. "--heads 3 does not divide --dim 64").
  std::string problem(int epSize) const;
  bool operator==(const ModelConfig&) const = default;
};

}  // namespace trainer
