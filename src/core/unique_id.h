// What strataUniqueId holds: magic, version, the bootstrap root's address and a random 128-bit
// secret that every bootstrap and data connection must present. Also the hex form that launchers
// pass through the environment (STRATA_UNIQUE_ID).
#pragma once

#include <strata/strata.h>

#include <array>
#include <cstdint>
#include <string>

#include "src/common/status.h"
#include "transports/tcp/socket.h"

namespace strata {

using Secret = std::array<uint8_t, 16>;

struct UniqueIdContents {
  SocketAddress root;
  Secret secret{};
};

strataUniqueId encodeUniqueId(const UniqueIdContents& contents);
Result<UniqueIdContents> decodeUniqueId(const strataUniqueId& id);

std::string uniqueIdToHex(const strataUniqueId& id);
Result<strataUniqueId> uniqueIdFromHex(const std::string& hex);

Result<Secret> randomSecret();
// A secret derived from text both sides know (torchrun-style launches have no channel for a
// random one). Documented as weaker than a random secret.
Secret secretFromText(const std::string& text);

bool secretsEqual(const uint8_t* a, const uint8_t* b);  // constant time

}  // namespace strata
