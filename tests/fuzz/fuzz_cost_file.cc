// libFuzzer target: a cost file (STRATA_COST_FILE) must parse or fail with strataInvalidArgument
// naming where, never crash, hang or overflow.
#include <cstddef>
#include <cstdint>
#include <string>

#include "topology/cost_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto model = strata::CostModel::parse(text, "fuzz");
  if (!model.ok() && model.status().code() != strataInvalidArgument) __builtin_trap();
  if (model.ok() && model.value().keys().empty()) __builtin_trap();
  return 0;
}
