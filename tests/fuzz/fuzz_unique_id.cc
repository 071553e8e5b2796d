// libFuzzer target: a strataUniqueId (128 bytes from the caller, possibly garbage) and the
// STRATA_UNIQUE_ID text launchers pass. Decoding either must succeed or fail with
// strataInvalidArgument; a decoded id must encode back to one that decodes alike.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "src/core/unique_id.h"

namespace {

void checkDecoded(const strataUniqueId& id) {
  auto contents = strata::decodeUniqueId(id);
  if (!contents.ok()) {
    if (contents.status().code() != strataInvalidArgument) __builtin_trap();
    return;
  }
  auto again = strata::decodeUniqueId(strata::encodeUniqueId(contents.value()));
  if (!again.ok() || again.value().secret != contents.value().secret ||
      again.value().root.toString() != contents.value().root.toString()) {
    __builtin_trap();
  }
  auto hex = strata::uniqueIdFromHex(strata::uniqueIdToHex(id));
  if (!hex.ok()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // As the binary id (a valid id XORed with the input, so small inputs stay near valid ones).
  strata::UniqueIdContents valid;
  valid.root = strata::resolveAddress("127.0.0.1", 29500).value();
  for (size_t i = 0; i < valid.secret.size(); ++i) valid.secret[i] = static_cast<uint8_t>(i * 37);
  strataUniqueId id = strata::encodeUniqueId(valid);
  for (size_t i = 0; i < size && i < sizeof(id.internal); ++i) id.internal[i] = static_cast<char>(id.internal[i] ^ data[i]);
  checkDecoded(id);
  // As STRATA_UNIQUE_ID text.
  auto fromText = strata::uniqueIdFromHex(std::string(reinterpret_cast<const char*>(data), size));
  if (!fromText.ok()) {
    if (fromText.status().code() != strataInvalidArgument) __builtin_trap();
    return 0;
  }
  checkDecoded(fromText.value());
  return 0;
}
