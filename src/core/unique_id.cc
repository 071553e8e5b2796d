#include "src/core/unique_id.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include "src/common/errno_text.h"

namespace strata {
namespace {

constexpr uint32_t kUniqueIdMagic = 0x53544944;  // "STID"
constexpr uint32_t kUniqueIdVersion = 1;

struct PackedUniqueId {
  uint32_t magic;
  uint32_t version;
  uint8_t secret[16];
  uint8_t root[SocketAddress::kPackedBytes];
};
static_assert(sizeof(PackedUniqueId) <= STRATA_UNIQUE_ID_BYTES, "unique id must fit in 128 bytes");

}  // namespace

strataUniqueId encodeUniqueId(const UniqueIdContents& contents) {
  strataUniqueId id;
  std::memset(&id, 0, sizeof(id));
  PackedUniqueId packed{};
  packed.magic = kUniqueIdMagic;
  packed.version = kUniqueIdVersion;
  std::memcpy(packed.secret, contents.secret.data(), 16);
  contents.root.pack(packed.root);
  std::memcpy(id.internal, &packed, sizeof(packed));
  return id;
}

Result<UniqueIdContents> decodeUniqueId(const strataUniqueId& id) {
  PackedUniqueId packed;
  std::memcpy(&packed, id.internal, sizeof(packed));
  if (packed.magic != kUniqueIdMagic) {
    return invalidArgument("commId is not a strataUniqueId made by strataGetUniqueId (bad magic)");
  }
  if (packed.version != kUniqueIdVersion) {
    return invalidArgument("commId has version " + std::to_string(packed.version) + ", this library speaks " +
                           std::to_string(kUniqueIdVersion));
  }
  UniqueIdContents contents;
  std::memcpy(contents.secret.data(), packed.secret, 16);
  auto root = SocketAddress::unpack(packed.root);
  if (!root.ok()) return invalidArgument("commId holds no usable root address: " + root.status().message());
  contents.root = root.value();
  return contents;
}

std::string uniqueIdToHex(const strataUniqueId& id) {
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (size_t i = 0; i < sizeof(PackedUniqueId); ++i) {
    auto b = static_cast<uint8_t>(id.internal[i]);
    hex += digits[b >> 4];
    hex += digits[b & 15];
  }
  return hex;
}

Result<strataUniqueId> uniqueIdFromHex(const std::string& hex) {
  strataUniqueId id;
  std::memset(&id, 0, sizeof(id));
  if (hex.size() != 2 * sizeof(PackedUniqueId)) {
    return invalidArgument("STRATA_UNIQUE_ID must be " + std::to_string(2 * sizeof(PackedUniqueId)) +
                           " hex digits, got " + std::to_string(hex.size()));
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]);
    int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return invalidArgument("STRATA_UNIQUE_ID holds a non-hex character");
    id.internal[i / 2] = static_cast<char>(hi * 16 + lo);
  }
  return id;
}

Result<Secret> randomSecret() {
  Secret secret{};
  size_t got = 0;
  while (got < secret.size()) {
    ssize_t n = getrandom(secret.data() + got, secret.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return systemError("getrandom() failed: " + errnoText(errno));
    }
    got += static_cast<size_t>(n);
  }
  return secret;
}

Secret secretFromText(const std::string& text) {
  // Two independent 64-bit FNV-1a variants; not cryptographic, only a shared job token.
  uint64_t a = 0xcbf29ce484222325ull;
  uint64_t b = 0x84222325cbf29ce4ull;
  for (unsigned char c : text) {
    a = (a ^ c) * 0x100000001b3ull;
    b = (b ^ (c + 0x5bu)) * 0x100000001b3ull;
  }
  Secret s{};
  std::memcpy(s.data(), &a, 8);
  std::memcpy(s.data() + 8, &b, 8);
  return s;
}

bool secretsEqual(const uint8_t* a, const uint8_t* b) {
  uint8_t diff = 0;
  for (size_t i = 0; i < 16; ++i) diff = static_cast<uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

}  // namespace strata
