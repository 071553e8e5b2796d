// Training text: a file (--data) or the built-in generator, a deterministic stream of sentences
// over a small invented vocabulary whose next word depends on the current one (a Markov chain
// with a few likely successors per word), so a model has structure to learn and the demo needs
// no download. The last tenth of the text is held out for evaluation.
//
// Batches are a function of (seed, step, global sequence index) only: each rank takes its own
// contiguous share of the global batch, so one global batch is the same on 1, 2 or 4 ranks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model.h"

namespace trainer {

class TextData {
 public:
  // Throws with a message naming the file when it is missing, unreadable or shorter than seq + 1.
  static TextData fromFile(const std::string& path, int seq);
  static TextData generated(unsigned long long seed, size_t bytes, int seq);

  // This rank's sequences of the global batch of `step`: global sequences [first, first + count).
  Batch trainBatch(unsigned long long seed, long long step, int globalSequences, int first, int count, int seq) const;
  // Held-out sequences, the same on every call.
  Batch heldOutBatch(int first, int count, int seq) const;
  size_t size() const { return text_.size(); }
  // A hash of the whole text (checkpoints record which text a run trained on).
  uint64_t fingerprint() const;

 private:
  // `count` windows of seq + 1 bytes: inputs from startOf(i), targets one byte later.
  Batch windows(int count, int seq, const std::function<size_t(int)>& startOf) const;

  std::vector<uint8_t> text_;
  size_t trainEnd_ = 0;  // [0, trainEnd_) trains, the rest is held out
  void split(int seq);
};

}  // namespace trainer
