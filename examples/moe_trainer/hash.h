// FNV-1a, 64-bit: the one hash the trainer uses (checkpoint checksums, the training text's
// fingerprint, per-tensor initialisation streams). Stable across platforms and runs.
#pragma once

#include <cstddef>
#include <cstdint>

namespace trainer {

constexpr uint64_t kFnvOffsetBasis = 1469598103934665603ull;

inline uint64_t fnv1a(const void* data, size_t bytes, uint64_t h = kFnvOffsetBasis) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

}  // namespace trainer
