// The rows that come back for each token (combine, dispatch's backward), summed per token once
// they are all in: one pass over the output, each token's sum in a cache-resident row (a whole
// [tokens x hidden] float32 accumulator would triple the memory traffic), a lone row copied as
// it is, a pair through the vectorised reduction kernel. Its buffers are kept between
// operations (a handle owns one), so a steady run allocates nothing.
#pragma once

#include <strata/strata.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace strata::moe {

class TokenRows {
 public:
  // Forgets the rows of the previous operation; `tokens` tokens from now on.
  void reset(size_t tokens);
  void add(uint32_t token, const unsigned char* row) { arrivals_.push_back({token, row}); }
  // out[t] = the sum of token t's rows (rows of `hidden` elements of dtype), in the order added.
  void sumInto(strataDataType_t dtype, size_t hidden, void* out);

 private:
  struct Arrival {
    uint32_t token;
    const unsigned char* row;
  };
  size_t tokens_ = 0;
  std::vector<Arrival> arrivals_;
  std::vector<size_t> first_;  // token t's rows are rows_[first_[t] .. first_[t + 1])
  std::vector<size_t> next_;
  std::vector<const unsigned char*> rows_;
  std::vector<float> acc_;
};

}  // namespace strata::moe
