// The data moves of MoE expert parallelism along a handle. Dispatch sends token rows out to the
// ranks hosting their experts; "return" moves (combine, dispatch's backward) send one row per
// received token back to its source, which sums what each token gets. Arguments were checked
// by the API layer.
#pragma once

#include <strata/strata.h>

#include <cstddef>

#include "src/moe/moe_handle.h"

namespace strata::moe {

struct DispatchArgs {
  const void* x = nullptr;
  const float* xScales = nullptr;  // float8e4m3 only
  size_t hidden = 0;
  strataDataType_t dtype = strataFloat32;
  const float* topkWeights = nullptr;
  void* recvX = nullptr;
  float* recvScales = nullptr;
  int32_t* recvTopkIdx = nullptr;
  float* recvTopkWeights = nullptr;
};

struct CombineArgs {
  const void* expertOut = nullptr;
  size_t hidden = 0;
  strataDataType_t dtype = strataFloat32;
  const float* recvTopkWeights = nullptr;  // non-null: expertOut has topK slots per row, weighted
  void* out = nullptr;
};

struct DispatchBackwardArgs {
  const void* gradRecvX = nullptr;
  size_t hidden = 0;
  strataDataType_t dtype = strataFloat32;
  const float* gradRecvTopkWeights = nullptr;
  void* gradX = nullptr;
  float* gradTopkWeights = nullptr;
};

struct CombineBackwardArgs {
  const void* gradOut = nullptr;
  size_t hidden = 0;
  strataDataType_t dtype = strataFloat32;
  const float* recvTopkWeights = nullptr;
  const void* expertOut = nullptr;
  void* gradExpertOut = nullptr;
  float* gradRecvTopkWeights = nullptr;
};

// Scale floats per float8e4m3 row: one per 128 elements.
inline size_t scalesPerRow(size_t hidden) { return (hidden + 127) / 128; }

// Each runs on `comm` (the handle's communicator, checked live by the caller) and ends with
// agreement rounds (row_exchange.h).
Status dispatch(const strataMoeHandle& h, Communicator& comm, const DispatchArgs& a);
Status combine(const strataMoeHandle& h, Communicator& comm, const CombineArgs& a);
Status dispatchBackward(const strataMoeHandle& h, Communicator& comm, const DispatchBackwardArgs& a);
Status combineBackward(const strataMoeHandle& h, Communicator& comm, const CombineBackwardArgs& a);

}  // namespace strata::moe
