#include "src/moe/moe_forwarding.h"

#include <algorithm>
#include <numeric>

namespace strata::moe {

namespace {

// Each held token travels on in the piece its hop-1 row came in, own tokens in piece 0; every
// destination's items are listed by piece, and every rank learns what each piece brings it and
// the longest hop 1 of any rank.
Status splitIntoPieces(const MoeRun& run, Forwarding& f) {
  constexpr size_t kChunks = Forwarding::kChunks;
  const size_t n = f.heldFrom.size();
  f.heldChunk.assign(f.held.size(), 0);
  size_t at = 0;
  for (size_t source = 0; source < n; ++source) {
    const size_t m = f.heldFrom[source];
    for (size_t c = 0; c < kChunks; ++c) {
      for (size_t j = Forwarding::chunkBegin(c, m, kChunks); j < Forwarding::chunkBegin(c + 1, m, kChunks); ++j) {
        f.heldChunk[at + j] = static_cast<uint8_t>(c);
      }
    }
    at += m;
  }
  auto pieceOf = [&](const ForwardItem& item) { return item.held < 0 ? 0 : f.heldChunk[static_cast<size_t>(item.held)]; };
  f.hop2Pieces.assign(n, std::vector<size_t>(kChunks, 0));
  for (size_t dest = 0; dest < n; ++dest) {
    std::vector<ForwardItem>& items = f.itemsTo[dest];
    std::stable_sort(items.begin(), items.end(),
                     [&](const ForwardItem& a, const ForwardItem& b) { return pieceOf(a) < pieceOf(b); });
    for (const ForwardItem& item : items) ++f.hop2Pieces[dest][pieceOf(item)];
  }
  // To every rank: its items per piece, then our hop-1 row count.
  const size_t width = kChunks + 1;
  std::vector<uint64_t> mine(n * width), theirs(n * width);
  for (size_t dest = 0; dest < n; ++dest) {
    std::copy(f.hop2Pieces[dest].begin(), f.hop2Pieces[dest].end(), mine.begin() + static_cast<ptrdiff_t>(dest * width));
    mine[dest * width + kChunks] = totalRows(f.hop1Rows);
  }
  const std::vector<size_t> one(n, 1);
  STRATA_RETURN_IF_ERROR(exchangeRows(run, nullptr, Exchange::Setup, one, mine.data(), one, theirs.data(), width * sizeof(uint64_t)));
  f.hop2FromPieces.assign(n, std::vector<size_t>(kChunks, 0));
  f.maxHop1Rows = 0;
  for (size_t source = 0; source < n; ++source) {
    std::copy_n(theirs.begin() + static_cast<ptrdiff_t>(source * width), kChunks, f.hop2FromPieces[source].begin());
    f.maxHop1Rows = std::max<size_t>(f.maxHop1Rows, theirs[source * width + kChunks]);
  }
  return Status::ok();
}

}  // namespace

Status buildForwarding(const MoeRun& run, strataMoeHandle& h, const std::vector<std::vector<int>>& ranksOfHost) {
  const Routing& r = h.routing;
  const size_t k = static_cast<size_t>(r.topK);
  const size_t n = static_cast<size_t>(h.nranks);
  auto f = std::make_unique<Forwarding>();
  const int myHost = h.hostOfRank[static_cast<size_t>(h.rank)];
  const std::vector<int>& mine = ranksOfHost[static_cast<size_t>(myHost)];
  const size_t localIndex = static_cast<size_t>(std::find(mine.begin(), mine.end(), h.rank) - mine.begin());
  auto forwarderOn = [&](int host) {
    const std::vector<int>& ranks = ranksOfHost[static_cast<size_t>(host)];
    return ranks[localIndex % ranks.size()];
  };
  f->tokensToForwarder.assign(n, {});
  f->itemsTo.assign(n, {});

  // Own tokens: once to each remote host's forwarder, once to each destination on this host.
  std::vector<int64_t> lastForHost(ranksOfHost.size(), -1), lastForRank(n, -1);
  for (size_t t = 0; t < r.numTokens; ++t) {
    for (size_t j = 0; j < k; ++j) {
      int32_t e = r.experts[t * k + j];
      if (e < 0) continue;
      int dest = r.rankOfExpert(e);
      int host = h.hostOfRank[static_cast<size_t>(dest)];
      if (host == myHost) {
        if (lastForRank[static_cast<size_t>(dest)] == static_cast<int64_t>(t)) continue;
        lastForRank[static_cast<size_t>(dest)] = static_cast<int64_t>(t);
        f->itemsTo[static_cast<size_t>(dest)].push_back({-1, static_cast<uint32_t>(t)});
      } else {
        if (lastForHost[static_cast<size_t>(host)] == static_cast<int64_t>(t)) continue;
        lastForHost[static_cast<size_t>(host)] = static_cast<int64_t>(t);
        f->tokensToForwarder[static_cast<size_t>(forwarderOn(host))].push_back(static_cast<uint32_t>(t));
      }
    }
  }

  // Hop 1 metadata: token id and its k global expert ids.
  for (const auto& tokens : f->tokensToForwarder) f->hop1Rows.push_back(tokens.size());
  const std::vector<size_t>& hop1 = f->hop1Rows;
  STRATA_RETURN_IF_ERROR(exchangeCounts(run, hop1, &f->heldFrom));
  std::vector<int32_t> meta;
  for (const auto& tokens : f->tokensToForwarder) {
    for (uint32_t t : tokens) {
      meta.push_back(static_cast<int32_t>(t));
      meta.insert(meta.end(), r.experts.begin() + static_cast<long>(t * k), r.experts.begin() + static_cast<long>((t + 1) * k));
    }
  }
  const size_t heldCount = totalRows(f->heldFrom);
  std::vector<int32_t> heldMeta(heldCount * (k + 1));
  STRATA_RETURN_IF_ERROR(exchangeRows(run, nullptr, Exchange::Setup, hop1, meta.data(), f->heldFrom, heldMeta.data(), (k + 1) * sizeof(int32_t)));
  size_t at = 0;
  for (size_t source = 0; source < n; ++source) {
    for (size_t i = 0; i < f->heldFrom[source]; ++i, ++at) {
      const int32_t* row = heldMeta.data() + at * (k + 1);
      f->held.push_back({static_cast<int>(source), static_cast<uint32_t>(row[0]), f->heldExperts.size()});
      f->heldExperts.insert(f->heldExperts.end(), row + 1, row + 1 + k);
    }
  }
  // Held tokens: to each of their destinations here.
  std::fill(lastForRank.begin(), lastForRank.end(), -1);
  for (size_t i = 0; i < f->held.size(); ++i) {
    const int32_t* experts = f->heldExperts.data() + f->held[i].expertsAt;
    for (size_t j = 0; j < k; ++j) {
      if (experts[j] < 0) continue;
      int dest = r.rankOfExpert(experts[j]);
      if (h.hostOfRank[static_cast<size_t>(dest)] != myHost) continue;  // another host's share, forwarded there
      if (lastForRank[static_cast<size_t>(dest)] == static_cast<int64_t>(i)) continue;
      lastForRank[static_cast<size_t>(dest)] = static_cast<int64_t>(i);
      f->itemsTo[static_cast<size_t>(dest)].push_back({static_cast<int64_t>(i), f->held[i].token});
    }
  }

  STRATA_RETURN_IF_ERROR(splitIntoPieces(run, *f));

  // Hop 2 metadata: source rank, token id, and the k ids as local ids on the destination.
  for (const auto& items : f->itemsTo) f->hop2Rows.push_back(items.size());
  const std::vector<size_t>& hop2 = f->hop2Rows;
  STRATA_RETURN_IF_ERROR(exchangeCounts(run, hop2, &f->hop2From));
  meta.clear();
  for (size_t dest = 0; dest < n; ++dest) {
    for (const ForwardItem& item : f->itemsTo[dest]) {
      const int32_t* experts = item.held < 0 ? r.experts.data() + static_cast<size_t>(item.token) * k
                                             : f->heldExperts.data() + f->held[static_cast<size_t>(item.held)].expertsAt;
      meta.push_back(item.held < 0 ? h.rank : f->held[static_cast<size_t>(item.held)].source);
      meta.push_back(static_cast<int32_t>(item.token));
      for (size_t j = 0; j < k; ++j) {
        bool there = experts[j] >= 0 && r.rankOfExpert(experts[j]) == static_cast<int>(dest);
        meta.push_back(there ? experts[j] % r.localExperts : -1);
      }
    }
  }
  h.numRecv = totalRows(f->hop2From);
  std::vector<int32_t> arrived(h.numRecv * (k + 2));
  STRATA_RETURN_IF_ERROR(exchangeRows(run, nullptr, Exchange::Setup, hop2, meta.data(), f->hop2From, arrived.data(), (k + 2) * sizeof(int32_t)));

  // The receive layout: by source rank, then token, as direct routes deliver.
  std::vector<size_t> order(h.numRecv);
  std::iota(order.begin(), order.end(), size_t{0});
  auto key = [&](size_t i) { return std::make_pair(arrived[i * (k + 2)], arrived[i * (k + 2) + 1]); };
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  f->finalIndex.assign(h.numRecv, 0);
  h.recvFrom.assign(n, 0);
  h.recvLocalIds.assign(h.numRecv * k, -1);
  for (size_t position = 0; position < h.numRecv; ++position) {
    size_t i = order[position];
    f->finalIndex[i] = position;
    ++h.recvFrom[static_cast<size_t>(arrived[i * (k + 2)])];
    std::copy_n(arrived.begin() + static_cast<long>(i * (k + 2) + 2), k, h.recvLocalIds.begin() + static_cast<long>(position * k));
  }
  for (size_t source = 0; source < n; ++source) {
    size_t pieces = 0;
    for (size_t c : f->hop2FromPieces[source]) pieces += c;
    if (pieces != f->hop2From[source]) {
      return internalError("rank " + std::to_string(source) + " announced " + std::to_string(f->hop2From[source]) +
                           " forwarded rows in all and " + std::to_string(pieces) + " piece by piece");
    }
  }
  h.forwarding = std::move(f);
  return Status::ok();
}

}  // namespace strata::moe
