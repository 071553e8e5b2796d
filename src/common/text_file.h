// Reading the small text files users point Strata at (topology.conf, cost files, hwloc XML):
// the whole file, or an error naming the path and what is wrong with it. A directory, a device
// that never ends (/dev/zero) or a file far larger than any such input is refused instead of
// being read into memory.
#pragma once

#include <cstddef>
#include <string>

#include "src/common/status.h"

namespace strata {

constexpr size_t kMaxTextFileBytes = size_t{16} << 20;

// `what` names the input in messages ("topology file", "cost file (STRATA_COST_FILE)").
Result<std::string> readTextFile(const std::string& path, const std::string& what, size_t maxBytes = kMaxTextFileBytes);

}  // namespace strata
