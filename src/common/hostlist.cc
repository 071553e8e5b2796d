#include "src/common/hostlist.h"

#include <cctype>
#include <cstdint>

namespace strata {
namespace {

Status malformed(const std::string& expression, size_t at, const std::string& what) {
  return invalidArgument("hostlist '" + expression + "': " + what + " at character " + std::to_string(at + 1));
}

bool allDigits(const std::string& s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// "01-16,20" -> {"01", ..., "16", "20"}.
Status expandBracket(const std::string& expression, size_t at, const std::string& inside, const HostlistLimits& limits,
                     std::vector<std::string>& out) {
  size_t start = 0;
  while (start <= inside.size()) {
    size_t comma = inside.find(',', start);
    if (comma == std::string::npos) comma = inside.size();
    std::string item = inside.substr(start, comma - start);
    size_t dash = item.find('-');
    std::string low = item.substr(0, dash);
    std::string high = dash == std::string::npos ? low : item.substr(dash + 1);
    if (!allDigits(low) || !allDigits(high)) {
      return malformed(expression, at, "'" + item + "' in brackets is not a number or a range like 01-16");
    }
    uint64_t lo = std::stoull(low), hi = std::stoull(high);
    if (hi < lo) return malformed(expression, at, "range '" + item + "' runs backwards");
    if (hi - lo >= limits.names || out.size() + (hi - lo + 1) > limits.names) {
      return malformed(expression, at, "range '" + item + "' expands to more than " + std::to_string(limits.names) + " names");
    }
    for (uint64_t v = lo; v <= hi; ++v) {
      std::string digits = std::to_string(v);
      if (digits.size() < low.size()) digits.insert(0, low.size() - digits.size(), '0');
      out.push_back(digits);
    }
    start = comma + 1;
  }
  return Status::ok();
}

// One name with any number of bracket groups, e.g. "rack[1-2]-gpu[1-4]". `budget` holds what the
// expression may still produce; every product is sized before it is built.
Status expandName(const std::string& expression, size_t offset, const std::string& name, HostlistLimits& budget,
                  std::vector<std::string>& out) {
  std::vector<std::string> partial = {""};
  size_t partialBytes = 0;  // characters over all of `partial`
  size_t i = 0;
  while (i < name.size()) {
    if (name[i] == ']') return malformed(expression, offset + i, "']' without '['");
    if (name[i] != '[') {
      size_t next = name.find_first_of("[]", i);
      if (next == std::string::npos) next = name.size();
      const size_t grow = (next - i) * partial.size();
      if (partialBytes + grow > budget.bytes) return malformed(expression, offset + i, "expands to too many characters");
      for (std::string& p : partial) p += name.substr(i, next - i);
      partialBytes += grow;
      i = next;
      continue;
    }
    size_t close = name.find(']', i);
    if (close == std::string::npos) return malformed(expression, offset + i, "'[' without ']'");
    std::string inside = name.substr(i + 1, close - i - 1);
    if (inside.find('[') != std::string::npos) return malformed(expression, offset + i, "nested '['");
    std::vector<std::string> numbers;
    STRATA_RETURN_IF_ERROR(expandBracket(expression, offset + i, inside, budget, numbers));
    size_t numberBytes = 0;
    for (const std::string& n : numbers) numberBytes += n.size();
    // The product's size, before building it: |partial| x |numbers| names of these lengths.
    if (partial.size() > budget.names / numbers.size()) {
      return malformed(expression, offset + i, "expands to more than " + std::to_string(budget.names) + " names");
    }
    const size_t bytes = partialBytes * numbers.size() + numberBytes * partial.size();
    if (bytes > budget.bytes) return malformed(expression, offset + i, "expands to too many characters");
    std::vector<std::string> next;
    next.reserve(partial.size() * numbers.size());
    for (const std::string& p : partial) {
      for (const std::string& n : numbers) next.push_back(p + n);
    }
    partial = std::move(next);
    partialBytes = bytes;
    i = close + 1;
  }
  if (partial.size() > budget.names || partialBytes > budget.bytes) {
    return malformed(expression, offset, "expands to more than the limit of " + std::to_string(budget.names) + " names");
  }
  budget.names -= partial.size();
  budget.bytes -= partialBytes;
  out.insert(out.end(), partial.begin(), partial.end());
  return Status::ok();
}

}  // namespace

Result<std::vector<std::string>> expandHostlist(const std::string& expression, const HostlistLimits& limits) {
  std::vector<std::string> names;
  HostlistLimits budget = limits;
  size_t start = 0;
  int depth = 0;
  for (size_t i = 0; i <= expression.size(); ++i) {
    char c = i < expression.size() ? expression[i] : ',';
    if (std::isspace(static_cast<unsigned char>(c))) return malformed(expression, i, "white space");
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (depth < 0) return malformed(expression, i, "']' without '['");
    if (depth > 1) return malformed(expression, i, "nested '['");
    if (c != ',' || depth > 0) continue;
    if (i == start) return malformed(expression, i, "empty name");
    STRATA_RETURN_IF_ERROR(expandName(expression, start, expression.substr(start, i - start), budget, names));
    start = i + 1;
  }
  if (depth != 0) return malformed(expression, expression.size() - 1, "'[' without ']'");
  return names;
}

}  // namespace strata
