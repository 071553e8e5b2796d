// libFuzzer target: every message that reaches a rank or the bootstrap root from the network
// before a job is formed — the hello, an allgather blob header, the allgathered peer information,
// and the shared-memory handover datagram. The first byte picks the message; the rest is XORed
// over a valid one (so the fuzzer mutates around real messages). Each must be accepted or refused
// with an error, never crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "src/core/peer_info.h"
#include "src/core/wire.h"
#include "transports/shm/descriptor_exchange.h"

namespace {

template <typename T>
T overlay(T valid, const uint8_t* data, size_t size) {
  auto* bytes = reinterpret_cast<uint8_t*>(&valid);
  for (size_t i = 0; i < size && i < sizeof(T); ++i) bytes[i] ^= data[i];
  return valid;
}

strata::Secret jobSecret() {
  strata::Secret s{};
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(0xa0 + i);
  return s;
}

void hello(const uint8_t* data, size_t size) {
  strata::WireHello h = overlay(strata::makeHello(strata::HelloKind::Bootstrap, jobSecret(), 1, 4, 0), data, size);
  for (int nranks : {0, 4}) {
    for (auto kind : {strata::HelloKind::Bootstrap, strata::HelloKind::DataStream, strata::HelloKind::BootstrapRing}) {
      if (strata::helloIsValid(h, kind, jobSecret(), nranks, 2)) {
        // Accepted: then it is in range, as the root and the acceptor index with it.
        if (h.rank < 0 || h.rank >= h.nranks || h.nranks > strata::kMaxRanks || h.stream < 0 || h.stream >= 2) __builtin_trap();
      }
    }
  }
}

void blobHeader(const uint8_t* data, size_t size) {
  strata::WireBlobHeader valid{strata::kWireMagic, strata::kWireVersion, 0, 1000};
  auto length = strata::checkBlobHeader(overlay(valid, data, size), strata::kMaxBootstrapBlob);
  if (length.ok() && length.value() > strata::kMaxBootstrapBlob) __builtin_trap();
  if (!length.ok() && length.status().code() != strataRemoteError) __builtin_trap();
}

void peerInfos(const uint8_t* data, size_t size) {
  // For 1..4 ranks; the input, cut or zero-padded to the size the ranks' entries take (so the
  // decoder's checks of each field are reached), and once as it is (the size check itself).
  const int nranks = 1 + (size > 0 ? data[0] % 4 : 0);
  std::vector<std::byte> all(reinterpret_cast<const std::byte*>(data), reinterpret_cast<const std::byte*>(data) + size);
  (void)strata::decodePeerInfos(all.data(), all.size(), nranks, 0);
  all.resize(strata::peerInfoWireBytes() * static_cast<size_t>(nranks));
  auto peers = strata::decodePeerInfos(all.data(), all.size(), nranks, nranks - 1);
  if (peers.ok() && peers.value().size() != static_cast<size_t>(nranks)) __builtin_trap();
  if (!peers.ok()) {
    auto code = peers.status().code();
    if (code != strataRemoteError && code != strataInvalidUsage) __builtin_trap();
  }
}

void handover(const uint8_t* data, size_t size) {
  strata::Secret secret = jobSecret();
  std::vector<strata::DescriptorExchange::Peer> peers = {{0, 1}, {2, 3}};
  int from = strata::DescriptorExchange::senderOf(data, size, secret.data(), peers);
  if (from < -1 || from >= static_cast<int>(peers.size())) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t kind = data[0];
  ++data;
  --size;
  switch (kind % 4) {
    case 0: hello(data, size); break;
    case 1: blobHeader(data, size); break;
    case 2: peerInfos(data, size); break;
    default: handover(data, size); break;
  }
  return 0;
}
