// Where every weight lives: two flat float32 arrays per rank — the dense weights (on every rank,
// all-reduced over the world) and this rank's experts (all-reduced over its DP group) — with a
// named entry per tensor. Within each array the tensors are laid out in the order backward
// finishes them (output head, last block ... first block, embeddings), so the gradients that are
// final form a growing prefix and a bucket can be sent as soon as backward passes its end.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "model_config.h"

namespace trainer {

struct ParamTensor {
  std::string name;  // e.g. "block1.attn.qkv", "block0.expert5.w1" (global expert id)
  size_t offset = 0, count = 0;
  int rows = 1, cols = 1;
  bool decay = false;  // matrices (and embeddings) take weight decay; biases and norms do not
  enum class Init { Normal, Zeros, Ones } init = Init::Normal;
  float initStd = 0.02f;
};

// Offsets of one block's tensors; each local expert as {w1, b1, w2, b2}.
struct BlockOffsets {
  size_t qkv, qkvBias, attnOut, attnOutBias, ln1Gamma, ln1Beta, mlpW1, mlpB1, mlpW2, mlpB2, router, ln2Gamma, ln2Beta;
  struct Expert {
    size_t w1, b1, w2, b2;
  };
  std::vector<Expert> experts;
  size_t denseEnd = 0, expertEnd = 0;  // where this block's tensors end in each array (backward order)
};

struct ParamLayout {
  std::vector<ParamTensor> dense, expert;
  size_t denseCount = 0, expertCount = 0;
  size_t headW = 0, headB = 0, positions = 0, tokens = 0;
  std::vector<BlockOffsets> blocks;
  int firstExpert = 0, localExperts = 0;  // this rank's experts: [firstExpert, firstExpert + localExperts)

  static ParamLayout make(const ModelConfig& c, int epRank, int epSize);
};

// Fills the weights, each tensor from its own seeded stream (by name), so an expert starts the
// same whichever rank holds it and a run's weights do not depend on the rank count.
void initializeParams(const ParamLayout& layout, unsigned long long seed, std::vector<float>& dense,
                      std::vector<float>& expert);

}  // namespace trainer
