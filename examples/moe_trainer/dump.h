// What the PyTorch reference test reads (tests/trainer/reference_check.py): the model's shape,
// its initial weights, one batch, and the loss and gradients the trainer computed for it.
#pragma once

#include <string>

#include "model.h"

namespace trainer {

// Writes DIR/manifest.txt (shape, losses, one line per tensor: name, region, offset, rows,
// cols), DIR/{dense,expert}.bin (weights), DIR/{dense,expert}_grad.bin, DIR/{inputs,targets}.bin.
void writeDump(const std::string& dir, Model& model, const Batch& batch, const StepLosses& losses, double globalTokens,
               const std::vector<float>& denseBefore, const std::vector<float>& expertBefore);

}  // namespace trainer
