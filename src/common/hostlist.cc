#include "common/hostlist.h"

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
Status expandBracket(const std::string& expression, size_t at, const std::string& inside, std::vector<std::string>& out) {
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
    if (hi - lo >= kMaxHostlistNames || out.size() + (hi - lo + 1) > kMaxHostlistNames) {
      return malformed(expression, at, "range '" + item + "' expands to too many names");
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

// One name with any number of bracket groups, e.g. "rack[1-2]-gpu[1-4]".
Status expandName(const std::string& expression, size_t offset, const std::string& name, std::vector<std::string>& out) {
  std::vector<std::string> partial = {""};
  size_t i = 0;
  while (i < name.size()) {
    if (name[i] == ']') return malformed(expression, offset + i, "']' without '['");
    if (name[i] != '[') {
      size_t next = name.find_first_of("[]", i);
      if (next == std::string::npos) next = name.size();
      for (std::string& p : partial) p += name.substr(i, next - i);
      i = next;
      continue;
    }
    size_t close = name.find(']', i);
    if (close == std::string::npos) return malformed(expression, offset + i, "'[' without ']'");
    std::string inside = name.substr(i + 1, close - i - 1);
    if (inside.find('[') != std::string::npos) return malformed(expression, offset + i, "nested '['");
    std::vector<std::string> numbers;
    STRATA_RETURN_IF_ERROR(expandBracket(expression, offset + i, inside, numbers));
    if (partial.size() * numbers.size() > kMaxHostlistNames) {
      return malformed(expression, offset + i, "expands to too many names");
    }
    std::vector<std::string> next;
    next.reserve(partial.size() * numbers.size());
    for (const std::string& p : partial) {
      for (const std::string& n : numbers) next.push_back(p + n);
    }
    partial = std::move(next);
    i = close + 1;
  }
  if (out.size() + partial.size() > kMaxHostlistNames) return malformed(expression, offset, "expands to too many names");
  out.insert(out.end(), partial.begin(), partial.end());
  return Status::ok();
}

}  // namespace

Result<std::vector<std::string>> expandHostlist(const std::string& expression) {
  std::vector<std::string> names;
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
    STRATA_RETURN_IF_ERROR(expandName(expression, start, expression.substr(start, i - start), names));
    start = i + 1;
  }
  if (depth != 0) return malformed(expression, expression.size() - 1, "'[' without ']'");
  return names;
}

}  // namespace strata
