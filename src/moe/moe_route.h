// Moving rows along a handle, directly or through forwarders, so that dispatch, combine and the
// backward passes are written once. Out: every rank builds one row per (token, destination); the
// destinations get them in the receive layout. Back: every rank returns one row per received row;
// each token's rows reach its source, summed on the way at forwarders, and `add` sees them there.
#pragma once

#include <strata/strata.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "src/common/function_ref.h"
#include "src/moe/moe_handle.h"

namespace strata::moe {

// A token's k global expert ids (-1 for none).
inline const int32_t* expertsOf(const strataMoeHandle& h, uint32_t token) {
  return h.routing.experts.data() + static_cast<size_t>(token) * static_cast<size_t>(h.routing.topK);
}

// Callbacks run only inside the call they are passed to (common/function_ref.h: no allocation).
// fill(token, row): this rank's row for one of its tokens, the same for every destination.
using FillRow = FunctionRef<void(uint32_t token, unsigned char* row)>;
// adapt(row, dest, experts): the row as destination `dest` gets it (experts: the token's k global
// expert ids, -1 for none); may be empty.
using AdaptRow = FunctionRef<void(unsigned char* row, int dest, const int32_t* experts)>;
// add(token, row): a row that came back for one of this rank's tokens.
using AddRow = FunctionRef<void(uint32_t token, const unsigned char* row)>;

// Rows in the receive layout (numRecv rows of rowBytes), in the handle's staging: valid until
// the handle's next operation.
Result<const unsigned char*> routeOut(const MoeRun& run, const strataMoeHandle& h, size_t rowBytes, const FillRow& fill,
                                      const AdaptRow& adapt);

// Rows of the caller's token-ordered array `tokenRows` (row t for token t), written to dst in the
// receive layout (numRecv rows of rowBytes): direct routes receive straight into it, and through
// the peer-memory windows they are read straight out of tokenRows.
Status routeOutInto(const MoeRun& run, const strataMoeHandle& h, size_t rowBytes, const void* tokenRows, void* dst);

// What a returned row holds: `hidden` elements of dtype, then `extraFloats` float32 values;
// forwarders add rows of one token element-wise in float32.
struct ReturnFormat {
  strataDataType_t dtype = strataFloat32;
  size_t hidden = 0;
  size_t extraFloats = 0;
  size_t rowBytes() const;
};

// rows: one per received row, in the receive layout. add(token, row) runs at the source once per
// row that comes back for its token (the token's rows are to be summed); the row pointers stay
// valid until the handle's next operation (rows this rank returns to itself: while `rows` is).
Status routeBack(const MoeRun& run, const strataMoeHandle& h, const ReturnFormat& format, const void* rows, AddRow add);

}  // namespace strata::moe
