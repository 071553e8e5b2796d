// Formats errno for error messages ("Connection refused (errno 111)").
#pragma once

#include <cstring>
#include <string>

namespace strata {

inline std::string errnoText(int err) {
  return std::string(std::strerror(err)) + " (errno " + std::to_string(err) + ")";
}

}  // namespace strata
