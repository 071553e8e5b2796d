// Length-prefixed blobs on a bootstrap socket: a WireBlobHeader (magic, version, length) and the
// bytes. The length is checked against a limit before anything is allocated for it.
#pragma once

#include <cstdint>
#include <vector>

#include "src/core/wire.h"
#include "transports/tcp/socket.h"

namespace strata {

inline Status sendBlob(int fd, const void* data, uint64_t bytes, const Deadline& deadline) {
  const WireBlobHeader header{kWireMagic, kWireVersion, 0, bytes};
  STRATA_RETURN_IF_ERROR(sendAll(fd, &header, sizeof(header), deadline));
  return sendAll(fd, data, bytes, deadline);
}

inline Result<uint64_t> recvBlobHeader(int fd, uint64_t maxBytes, const Deadline& deadline) {
  WireBlobHeader header{};
  STRATA_RETURN_IF_ERROR(recvAll(fd, &header, sizeof(header), deadline));
  return checkBlobHeader(header, maxBytes);
}

// A blob of exactly `bytes` (a peer that announces another length is an error naming both).
inline Status recvBlobOf(int fd, void* data, uint64_t bytes, const Deadline& deadline, const char* what) {
  auto length = recvBlobHeader(fd, bytes, deadline);
  if (!length.ok()) return length.status();
  if (length.value() != bytes) {
    return remoteError(std::string(what) + ": expected " + std::to_string(bytes) + " bytes, the peer sent " +
                       std::to_string(length.value()));
  }
  return recvAll(fd, data, bytes, deadline);
}

}  // namespace strata
