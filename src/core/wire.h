// Messages on bootstrap and data sockets. Every message starts with magic and version, lengths are
// checked against limits before use, and a connection that sends anything else is dropped.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "src/core/unique_id.h"

namespace strata {

constexpr uint32_t kWireMagic = 0x53545241;  // "STRA"
constexpr uint16_t kWireVersion = 1;

// Bootstrap: a rank registering with the root; DataStream: a tcp stream between ranks;
// BootstrapRing: a rank joining its successor in the bootstrap ring.
enum class HelloKind : uint16_t { Bootstrap = 1, DataStream = 2, BootstrapRing = 3 };

// The first bytes on every connection: who is calling and proof they belong to the job.
struct WireHello {
  uint32_t magic;
  uint16_t version;
  uint16_t kind;
  uint8_t secret[16];
  int32_t rank;
  int32_t nranks;
  int32_t stream;
  uint32_t reserved;
};
static_assert(sizeof(WireHello) == 40, "wire layout");

inline WireHello makeHello(HelloKind kind, const Secret& secret, int rank, int nranks, int stream) {
  WireHello h{};
  h.magic = kWireMagic;
  h.version = kWireVersion;
  h.kind = static_cast<uint16_t>(kind);
  std::memcpy(h.secret, secret.data(), 16);
  h.rank = rank;
  h.nranks = nranks;
  h.stream = stream;
  return h;
}

// The most ranks a job may have (a hello claiming more is garbage).
constexpr int32_t kMaxRanks = 1 << 24;

// A hello is acceptable when it is ours, of the expected kind, and its ranks are in range.
inline bool helloIsValid(const WireHello& h, HelloKind kind, const Secret& secret, int nranks, int streams) {
  if (h.magic != kWireMagic || h.version != kWireVersion || h.kind != static_cast<uint16_t>(kind)) return false;
  if (!secretsEqual(h.secret, secret.data())) return false;
  if (h.nranks <= 0 || h.nranks > kMaxRanks || (nranks > 0 && h.nranks != nranks)) return false;
  if (h.rank < 0 || h.rank >= h.nranks) return false;
  return h.stream >= 0 && h.stream < streams;
}

// Header of one bootstrap allgather contribution or answer.
struct WireBlobHeader {
  uint32_t magic;
  uint16_t version;
  uint16_t reserved;
  uint64_t length;
};
static_assert(sizeof(WireBlobHeader) == 16, "wire layout");
constexpr uint64_t kMaxBootstrapBlob = 1 << 20;  // per rank

// The payload length a blob header announces, once its magic, version and length are checked.
inline Result<uint64_t> checkBlobHeader(const WireBlobHeader& header, uint64_t maxBytes) {
  if (header.magic != kWireMagic || header.version != kWireVersion) {
    return remoteError("bootstrap message has a bad magic/version (not a Strata peer, or another version)");
  }
  if (header.length > maxBytes) {
    return remoteError("bootstrap message of " + std::to_string(header.length) + " bytes exceeds the limit of " +
                       std::to_string(maxBytes));
  }
  return header.length;
}

}  // namespace strata
