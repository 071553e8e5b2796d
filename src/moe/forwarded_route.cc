#include "src/moe/forwarded_route.h"

#include <cstring>

#include "src/common/datatype.h"
#include "src/moe/moe_rows.h"

namespace strata::moe {
namespace {

// Which rows of each block move in each piece.
class Pieces {
 public:
  // Pipelined from STRATA_MOE_PIPELINE_BYTES in the longest hop 1 (the same on every rank):
  // below, each step's round of messages costs more than the overlap gains.
  Pieces(const Communicator& comm, const Forwarding& f, size_t rowBytes)
      : f_(f),
        count_(rowBytes * f.maxHop1Rows >= static_cast<size_t>(comm.params().moePipelineBytes) ? Forwarding::kChunks
                                                                                                : 1) {}
  size_t count() const { return count_; }
  // Rows of a hop-1 block of m rows before piece c.
  size_t hop1Before(size_t c, size_t m) const { return Forwarding::chunkBegin(c, m, count_); }
  // Hop-2 items of rank r's block (pieces: hop2Pieces or hop2FromPieces) before piece c.
  size_t hop2Before(const std::vector<std::vector<size_t>>& pieces, size_t r, size_t c) const {
    size_t sum = 0;
    const size_t through = count_ == 1 ? (c == 0 ? 0 : Forwarding::kChunks) : c;
    for (size_t i = 0; i < through; ++i) sum += pieces[r][i];
    return sum;
  }
  // The piece a held token travels in.
  size_t ofHeld(size_t held) const { return count_ == 1 ? 0 : f_.heldChunk[held]; }

 private:
  const Forwarding& f_;
  size_t count_;
};

// Where one hop's piece lies on each side: a region of the step's staging (byte offset), its
// blocks' row counts per rank, and the rows of rank r's block before piece c.
struct HopSide {
  size_t region = 0;
  const std::vector<size_t>* blocks = nullptr;
  FunctionRef<size_t(size_t r, size_t c)> before;
};

// Adds piece c of one hop to a step's stage: blocks to and from the peers on this host
// (`insideHost`: hop 2, this rank's own block copied) or on the other hosts (hop 1). Blocks
// travel even when empty so that every pair checks the sizes it agreed on.
void addHopPiece(Stage& stage, const strataMoeHandle& h, bool insideHost, size_t c, size_t rowBytes, const HopSide& out,
                 const HopSide& in) {
  const auto n = static_cast<size_t>(h.nranks), me = static_cast<size_t>(h.rank);
  auto sameHost = [&](size_t r) { return h.hostOfRank[r] == h.hostOfRank[me]; };
  auto slice = [&](const HopSide& side, size_t r) {
    const size_t first = side.before(r, c), end = side.before(r, c + 1);
    return std::make_pair((rowsBefore(*side.blocks, r) + first) * rowBytes + side.region, (end - first) * rowBytes);
  };
  if (insideHost) {
    auto [from, bytes] = slice(out, me);
    Plan::copy(stage, {kRecvBuffer, slice(in, me).first}, {kSendBuffer, from}, bytes);
  }
  for (size_t s = 1; s < n; ++s) {
    const size_t to = (me + s) % n, from = (me + n - s) % n;
    if (sameHost(to) == insideHost) {
      auto [at, bytes] = slice(out, to);
      Plan::sendBlock(stage, static_cast<int>(to), {kSendBuffer, at}, bytes);
    }
    if (sameHost(from) == insideHost) {
      auto [at, bytes] = slice(in, from);
      Plan::recvBlock(stage, static_cast<int>(from), {kRecvBuffer, at}, bytes);
    }
  }
}

// Byte offsets of the staging regions of a forwarded move: hop-1 rows sent and held, hop-2 rows
// sent and arrived (the way back uses each the other way: see forwardedBack).
struct Regions {
  size_t hop1Out, hop1In, hop2Out, hop2In, total;
};

Regions regionsOut(const strataMoeHandle& h, size_t rowBytes) {
  const Forwarding& f = *h.forwarding;
  Regions r{};
  r.hop1In = totalRows(f.hop1Rows) * rowBytes;
  r.hop2Out = r.hop1In + f.held.size() * rowBytes;
  r.hop2In = r.hop2Out + totalRows(f.hop2Rows) * rowBytes;
  r.total = r.hop2In + h.numRecv * rowBytes;
  return r;
}

// Step p out: hop 1's piece p and hop 2's piece p - 1. Back, the mirror: hop 2's piece p returns
// the arrived rows and hop 1's piece p - 1 the held sums, through the same regions the other way.
Plan planStep(const strataMoeHandle& h, const Pieces& pieces, size_t p, size_t rowBytes, bool back) {
  const Forwarding& f = *h.forwarding;
  const Regions r = regionsOut(h, rowBytes);
  Plan plan;
  plan.algorithm = back ? "forwarded rows back" : "forwarded rows out";
  Stage& stage = plan.newStage();
  auto hop1SentRows = [&](size_t peer, size_t c) { return pieces.hop1Before(c, f.hop1Rows[peer]); };
  auto hop1HeldRows = [&](size_t peer, size_t c) { return pieces.hop1Before(c, f.heldFrom[peer]); };
  auto hop2SentRows = [&](size_t peer, size_t c) { return pieces.hop2Before(f.hop2Pieces, peer, c); };
  auto hop2ArrivedRows = [&](size_t peer, size_t c) { return pieces.hop2Before(f.hop2FromPieces, peer, c); };
  const HopSide hop1Sent{r.hop1Out, &f.hop1Rows, hop1SentRows}, hop1Held{r.hop1In, &f.heldFrom, hop1HeldRows};
  const HopSide hop2Sent{r.hop2Out, &f.hop2Rows, hop2SentRows}, hop2Arrived{r.hop2In, &f.hop2From, hop2ArrivedRows};
  if (!back) {
    if (p < pieces.count()) addHopPiece(stage, h, false, p, rowBytes, hop1Sent, hop1Held);
    if (p > 0) addHopPiece(stage, h, true, p - 1, rowBytes, hop2Sent, hop2Arrived);
  } else {
    if (p < pieces.count()) addHopPiece(stage, h, true, p, rowBytes, hop2Arrived, hop2Sent);
    if (p > 0) addHopPiece(stage, h, false, p - 1, rowBytes, hop1Held, hop1Sent);
  }
  return plan;
}

Status runStep(const MoeRun& run, const strataMoeHandle& h, Exchange which, const Pieces& pieces, size_t p,
               size_t rowBytes, unsigned char* staging) {
  const Plan& plan = h.plans.get(which, rowBytes, SendLayout::Packed, static_cast<uint32_t>(p),
                                 [&] { return planStep(h, pieces, p, rowBytes, which == Exchange::ForwardBack); });
  return runExchange(run, plan, which, rowBytes, 0, staging, staging);
}

// visit(dest, item, row) for every hop-2 item of piece p, with its row in a region laid out as
// hop 2's sends (base): the rows a forwarder packs on the way out and gets back on the way back.
void forEachItemOfPiece(const strataMoeHandle& h, const Pieces& pieces, size_t p, size_t rowBytes, unsigned char* base,
                        FunctionRef<void(size_t dest, const ForwardItem& item, unsigned char* row)> visit) {
  const Forwarding& f = *h.forwarding;
  for (size_t dest = 0; dest < static_cast<size_t>(h.nranks); ++dest) {
    const size_t first = pieces.hop2Before(f.hop2Pieces, dest, p), end = pieces.hop2Before(f.hop2Pieces, dest, p + 1);
    unsigned char* row = base + (rowsBefore(f.hop2Rows, dest) + first) * rowBytes;
    for (size_t i = first; i < end; ++i, row += rowBytes) visit(dest, f.itemsTo[dest][i], row);
  }
}

// Adds a returned row into a float32 accumulator of hidden + extra values.
void accumulate(const ReturnFormat& format, const unsigned char* row, float* acc) {
  accumulateRow(format.dtype, row, format.hidden, acc);
  const size_t xBytes = format.hidden * dataTypeSize(format.dtype);
  for (size_t e = 0; e < format.extraFloats; ++e) {
    float v;
    std::memcpy(&v, row + xBytes + e * sizeof(float), sizeof(float));
    acc[format.hidden + e] += v;
  }
}

void storeAccumulated(const ReturnFormat& format, const float* acc, unsigned char* row) {
  storeRow(format.dtype, acc, format.hidden, row);
  const size_t xBytes = format.hidden * dataTypeSize(format.dtype);
  std::memcpy(row + xBytes, acc + format.hidden, format.extraFloats * sizeof(float));
}

}  // namespace

Result<const unsigned char*> forwardedOut(const MoeRun& run, const strataMoeHandle& h, size_t rowBytes,
                                          const FillRow& fill, const AdaptRow& adapt) {
  const Forwarding& f = *h.forwarding;
  const Pieces pieces(run.comm, f, rowBytes);
  const Regions r = regionsOut(h, rowBytes);
  unsigned char* staging = h.stage(strataMoeHandle::kSend, r.total);
  // Hop 1: each token once to the forwarder on each remote host it needs.
  unsigned char* at = staging + r.hop1Out;
  for (const auto& tokens : f.tokensToForwarder) {
    for (uint32_t t : tokens) {
      fill(t, at);
      at += rowBytes;
    }
  }
  const unsigned char* held = staging + r.hop1In;
  unsigned char* hop2Out = staging + r.hop2Out;
  for (size_t p = 0; p <= pieces.count(); ++p) {
    STRATA_RETURN_IF_ERROR(runStep(run, h, Exchange::ForwardOut, pieces, p, rowBytes, staging));
    if (p == pieces.count()) break;
    // Piece p's held rows are in: its hop-2 rows (own tokens in piece 0), for the next step.
    auto pack = [&](size_t dest, const ForwardItem& item, unsigned char* row) {
      const bool own = item.held < 0;
      if (own) {
        fill(item.token, row);
      } else {
        std::memcpy(row, held + static_cast<size_t>(item.held) * rowBytes, rowBytes);
      }
      if (adapt) {
        adapt(row, static_cast<int>(dest),
              own ? expertsOf(h, item.token) : f.heldExperts.data() + f.held[static_cast<size_t>(item.held)].expertsAt);
      }
    };
    forEachItemOfPiece(h, pieces, p, rowBytes, hop2Out, pack);
  }
  const unsigned char* arrived = staging + r.hop2In;
  unsigned char* out = h.stage(strataMoeHandle::kOut, h.numRecv * rowBytes);
  for (size_t i = 0; i < h.numRecv; ++i) std::memcpy(out + f.finalIndex[i] * rowBytes, arrived + i * rowBytes, rowBytes);
  return static_cast<const unsigned char*>(out);
}

Status forwardedBack(const MoeRun& run, const strataMoeHandle& h, const ReturnFormat& format, const void* rows,
                     AddRow add) {
  const Forwarding& f = *h.forwarding;
  const size_t rowBytes = format.rowBytes();
  const Pieces pieces(run.comm, f, rowBytes);
  const Regions r = regionsOut(h, rowBytes);
  // The regions of the way out, each used the other way: hop2In holds the rows to return (in
  // the order they arrived), hop2Out what comes back to this forwarder, hop1In the held sums,
  // hop1Out what comes back for this rank's own tokens.
  unsigned char* staging = h.stage(strataMoeHandle::kRecv, r.total);
  unsigned char* toReturn = staging + r.hop2In;
  for (size_t i = 0; i < h.numRecv; ++i) {
    std::memcpy(toReturn + i * rowBytes, static_cast<const unsigned char*>(rows) + f.finalIndex[i] * rowBytes, rowBytes);
  }
  const size_t width = format.hidden + format.extraFloats;
  float* heldSums = h.zeroedSums(strataMoeHandle::kHeldSums, f.held.size() * width);
  unsigned char* returned = staging + r.hop2Out;
  unsigned char* sums = staging + r.hop1In;
  for (size_t p = 0; p <= pieces.count(); ++p) {
    STRATA_RETURN_IF_ERROR(runStep(run, h, Exchange::ForwardBack, pieces, p, rowBytes, staging));
    if (p == pieces.count()) break;
    // Piece p came back: own tokens are done, held ones summed here before crossing back.
    auto take = [&](size_t, const ForwardItem& item, unsigned char* row) {
      if (item.held < 0) {
        add(item.token, row);
      } else {
        accumulate(format, row, heldSums + static_cast<size_t>(item.held) * width);
      }
    };
    forEachItemOfPiece(h, pieces, p, rowBytes, returned, take);
    for (size_t i = 0; i < f.held.size(); ++i) {
      if (pieces.ofHeld(i) == p) storeAccumulated(format, heldSums + i * width, sums + i * rowBytes);
    }
  }
  const unsigned char* at = staging + r.hop1Out;
  for (const auto& tokens : f.tokensToForwarder) {
    for (uint32_t t : tokens) {
      add(t, at);
      at += rowBytes;
    }
  }
  return Status::ok();
}

}  // namespace strata::moe
