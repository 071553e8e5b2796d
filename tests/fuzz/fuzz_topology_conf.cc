// libFuzzer target: topology.conf text (and the hostlists inside it) must parse or fail with
// strataInvalidArgument, never crash, hang or overflow. Built with clang when it is installed.
#include <cstddef>
#include <cstdint>
#include <string>

#include "topology/cluster_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto tree = strata::parseSwitchTree(text, "fuzz");
  if (!tree.ok() && tree.status().code() != strataInvalidArgument) __builtin_trap();
  return 0;
}
