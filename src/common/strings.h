// Small string helpers shared by the parsers of environment values and files.
#pragma once

#include <string>
#include <vector>

namespace strata {

// "a,b,,c" -> {"a", "b", "", "c"}; "" -> {""}. Empty parts are kept: callers decide what they mean.
inline std::vector<std::string> splitString(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string::npos) end = text.size();
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

}  // namespace strata
