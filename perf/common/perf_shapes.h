// The buffer shapes and nccl-tests bandwidth factors the perf tools share, so each tool's file
// only says what is particular to its collective.
#pragma once

#include <cstddef>

namespace strata::perf::shapes {

// "count" column: the whole size, or each rank's (or each peer's) share of it.
inline size_t wholeCount(size_t bytes, size_t es, int) { return bytes / es; }
inline size_t perRankCount(size_t bytes, size_t es, int n) { return bytes / es / static_cast<size_t>(n); }

// Buffer lengths in elements for a count.
inline size_t oneBlock(size_t count, int) { return count; }
inline size_t rankBlocks(size_t count, int n) { return count * static_cast<size_t>(n); }

// S of algbw = S / t.
inline double countBytes(size_t count, size_t es, int) { return static_cast<double>(count * es); }
inline double rankBlocksBytes(size_t count, size_t es, int n) { return static_cast<double>(count * es * static_cast<size_t>(n)); }

// busbw = algbw * factor.
inline double unitFactor(int) { return 1.0; }
inline double allReduceFactor(int n) { return 2.0 * (n - 1) / n; }
inline double gatherFactor(int n) { return static_cast<double>(n - 1) / n; }

// In place for the collectives whose in-place form is send == recv.
inline void sameBuffer(char* buffer, size_t, size_t, int, int, const void** send, void** recv) {
  *send = buffer;
  *recv = buffer;
}

}  // namespace strata::perf::shapes
