#include "src/moe/token_rows.h"

#include <algorithm>
#include <cstring>

#include "src/common/datatype.h"
#include "src/moe/moe_rows.h"
#include "src/reduce/reduce.h"

namespace strata::moe {

void TokenRows::reset(size_t tokens) {
  tokens_ = tokens;
  arrivals_.clear();
}

void TokenRows::sumInto(strataDataType_t dtype, size_t hidden, void* out) {
  first_.assign(tokens_ + 1, 0);
  for (const Arrival& a : arrivals_) ++first_[a.token + 1];
  for (size_t t = 0; t < tokens_; ++t) first_[t + 1] += first_[t];
  rows_.resize(arrivals_.size());
  next_.assign(first_.begin(), first_.end() - 1);
  for (const Arrival& a : arrivals_) rows_[next_[a.token]++] = a.row;
  const size_t rowBytes = hidden * dataTypeSize(dtype);
  acc_.resize(hidden);
  for (size_t t = 0; t < tokens_; ++t) {
    unsigned char* dst = static_cast<unsigned char*>(out) + t * rowBytes;
    const size_t count = first_[t + 1] - first_[t];
    if (count == 1) {
      std::memcpy(dst, rows_[first_[t]], rowBytes);
      continue;
    }
    if (count == 2) {
      // The vectorised kernel sums in float32 and rounds once, as the loop below would.
      reduceBuffers(dst, rows_[first_[t]], rows_[first_[t] + 1], hidden, dtype, strataSum);
      continue;
    }
    std::fill(acc_.begin(), acc_.end(), 0.0f);
    for (size_t i = first_[t]; i < first_[t + 1]; ++i) accumulateRow(dtype, rows_[i], hidden, acc_.data());
    storeRow(dtype, acc_.data(), hidden, dst);
  }
}

}  // namespace strata::moe
