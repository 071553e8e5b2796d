// One MoE routing, agreed by every rank: what this rank sends where (its Routing) and what it
// receives (rows per source rank, each row's local expert ids, in source-rank then token order).
// Built collectively by createHandle. With hierarchical forwarding (several hosts), rows reach a
// remote host once, at a forwarder there, which passes them on to that host's destinations; the
// receive layout is the same either way. src/moe/moe_route.cc moves rows along the handle.
#pragma once

#include <strata/strata.h>
#include <strata/strata_moe.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "src/common/status.h"
#include "src/moe/moe_routing.h"
#include "src/moe/row_exchange.h"
#include "src/moe/token_rows.h"

namespace strata::moe {

// A row held by a forwarder: token `token` of rank `source`, with its k global expert ids.
struct HeldToken {
  int source = 0;
  uint32_t token = 0;
  size_t expertsAt = 0;  // index of its k expert ids in Forwarding::heldExperts
};

// What a rank passes on inside its host: its own token, or a held one.
struct ForwardItem {
  int64_t held = -1;  // index into Forwarding::held, or -1 for this rank's own token
  uint32_t token = 0;
};

struct Forwarding {
  // Hop 1, across hosts: this rank's tokens for each forwarder rank (ascending), and how many
  // rows each source sends this rank to forward.
  std::vector<std::vector<uint32_t>> tokensToForwarder;
  std::vector<size_t> hop1Rows;  // tokensToForwarder's sizes
  std::vector<size_t> heldFrom;
  std::vector<HeldToken> held;  // in hop-1 receive order
  std::vector<int32_t> heldExperts;
  // Hop 2, inside the host: what this rank passes to each rank of its host, and how many rows it
  // gets from each; finalIndex[i]: where hop-2 receive row i goes in the receive layout.
  std::vector<std::vector<ForwardItem>> itemsTo;
  std::vector<size_t> hop2Rows;  // itemsTo's sizes
  std::vector<size_t> hop2From;
  std::vector<size_t> finalIndex;

  // Pipelining (moe/forwarded_route.h): hop-1 blocks travel in kChunks pieces, rows
  // [chunkBegin(c, m), chunkBegin(c + 1, m)) of a block of m rows in piece c, and hop 2 passes on
  // piece c's held tokens while piece c + 1 crosses between hosts (and the reverse on the way
  // back). itemsTo lists each destination's items by piece (own tokens in piece 0);
  // hop2Pieces[d][c] / hop2FromPieces[s][c]: items to d / from s in piece c.
  static constexpr size_t kChunks = 4;
  static size_t chunkBegin(size_t c, size_t rows, size_t chunks) { return c * rows / chunks; }
  std::vector<uint8_t> heldChunk;  // each held token's piece
  std::vector<std::vector<size_t>> hop2Pieces, hop2FromPieces;
  size_t maxHop1Rows = 0;  // the most hop-1 rows any rank sends (the same on every rank)
};

}  // namespace strata::moe

struct strataMoeHandle {
  strataComm_t comm = nullptr;  // the handle it was made with, checked live on every call
  // The communicator itself: a call runs only when this is still the one behind `comm` (a
  // destroyed communicator's handle address may be reused by a new one).
  std::weak_ptr<strata::Communicator> core;
  int rank = 0;
  int nranks = 1;
  strata::moe::Routing routing;
  int expertAlignment = 1;
  std::vector<size_t> recvFrom;          // rows received from each source rank
  size_t numRecv = 0;
  std::vector<int32_t> recvLocalIds;     // [numRecv x topK]: local expert id or -1
  std::vector<size_t> recvPerExpert;     // received pairs per local expert, rounded to alignment
  std::vector<int> hostOfRank;           // from the communicator's hierarchy
  std::unique_ptr<strata::moe::Forwarding> forwarding;  // null: direct (flat) dispatch

  // Staging buffers kept between operations (one operation at a time per handle, as for a
  // communicator): fresh ones would be page-faulted and zeroed on every call.
  enum Stage { kSend, kRecv, kOut, kPacked, kStages };
  unsigned char* stage(Stage which, size_t bytes) const;
  mutable std::vector<unsigned char> staging[kStages];
  // Plans of the row exchanges, per (exchange, row size): an exchange's row counts never change.
  mutable strata::moe::ExchangePlans plans;

  // Rows this rank sends to each rank directly (tokensTo's sizes, fixed when the handle is made).
  std::vector<size_t> sendRows;
  // Every rank's sendRows (rowsBetween[s][d]) when the direct exchanges go through the peer-memory
  // windows (every rank on one host; moe/window_exchange.h); empty when they go through FIFOs.
  std::vector<std::vector<size_t>> rowsBetween;
  size_t windowHalfBytes = 0;
  uint32_t routesFingerprint = 0;  // of rowsBetween, in the window exchanges' call tags
  // With single-copy reads (every rank may read every other's memory): the tokens each rank
  // sends this one, in the receive layout (sender by sender, in the sender's tokensTo order), so
  // that rows are read straight from the senders' token-ordered inputs.
  bool singleCopy = false;
  std::vector<uint32_t> tokensFrom;
  // Working memory of the sums, kept between operations like the staging buffers: each token's
  // returned rows; float32 sums of rows held at a forwarder, of weight gradients, of one row.
  mutable strata::moe::TokenRows returned;
  enum Sums { kHeldSums, kWeightSums, kRowSum, kSumBuffers };
  float* zeroedSums(Sums which, size_t count) const;
  mutable std::vector<float> sumBuffers[kSumBuffers];
  // Rows this rank's dispatch sends across hosts (to forwarders, or straight to remote ranks).
  size_t rowsToOtherHosts() const;
};

namespace strata::moe {

struct HandleOptions {
  int expertAlignment = 1;
  bool hierarchical = false;
  std::vector<int> hostOfRank;
  std::vector<std::vector<int>> ranksOfHost;  // each host's ranks, in ring order
};

// Collective: routes, then exchanges row counts and expert ids (and builds the forwarding).
Result<strataMoeHandle*> createHandle(const RoutingRequest& request, const HandleOptions& options, strataComm_t handle,
                                      const std::shared_ptr<Communicator>& comm, const char* function);

inline size_t totalRows(const std::vector<size_t>& rows) {
  size_t sum = 0;
  for (size_t r : rows) sum += r;
  return sum;
}

// Rows before rank `upTo` in a per-rank row count vector: where that rank's rows start.
inline size_t rowsBefore(const std::vector<size_t>& rows, size_t upTo) {
  size_t sum = 0;
  for (size_t r = 0; r < upTo; ++r) sum += rows[r];
  return sum;
}

}  // namespace strata::moe
