#include "src/moe/moe_handle.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "src/moe/moe_forwarding.h"

namespace strata::moe {
namespace {

size_t roundUp(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }

// FNV-1a over the counts, never 0 (0 marks a tag without routes).
uint32_t fingerprint(const std::vector<uint64_t>& counts) {
  uint32_t hash = 2166136261u;
  for (uint64_t c : counts) {
    for (int byte = 0; byte < 8; ++byte) hash = (hash ^ static_cast<uint8_t>(c >> (8 * byte))) * 16777619u;
  }
  return hash == 0 ? 1 : hash;
}

// With peer-memory windows (every rank on one host), each rank lays out every sender's rows in
// the windows (moe/window_exchange.h): every rank learns every rank's sendRows.
Status shareSendRows(const MoeRun& run, strataMoeHandle& h) {
  const size_t halfBytes = run.comm.windowHalfBytes();
  const auto n = static_cast<size_t>(h.nranks);
  if (halfBytes == 0 || n < 2) return Status::ok();
  std::vector<uint64_t> send(n * n), all(n * n);
  for (size_t r = 0; r < n; ++r) std::copy(h.sendRows.begin(), h.sendRows.end(), send.begin() + static_cast<ptrdiff_t>(r * n));
  const std::vector<size_t> one(n, 1);
  STRATA_RETURN_IF_ERROR(exchangeRows(run, nullptr, Exchange::Setup, one, send.data(), one, all.data(), n * sizeof(uint64_t)));
  h.rowsBetween.assign(n, std::vector<size_t>(n));
  for (size_t s = 0; s < n; ++s) {
    for (size_t d = 0; d < n; ++d) h.rowsBetween[s][d] = all[s * n + d];
    if (h.rowsBetween[s][static_cast<size_t>(h.rank)] != h.recvFrom[s]) {
      return internalError("rank " + std::to_string(s) + " announced " + std::to_string(h.recvFrom[s]) + " rows for rank " +
                           std::to_string(h.rank) + " and then " + std::to_string(h.rowsBetween[s][static_cast<size_t>(h.rank)]));
    }
  }
  h.windowHalfBytes = halfBytes;
  h.routesFingerprint = fingerprint(all);
  if (!run.comm.singleCopyReads()) return Status::ok();
  // Every rank takes this exchange (the choice is agreed at init): which of each sender's tokens
  // come here, so that a receiver knows where their rows lie in the sender's input.
  std::vector<uint32_t> tokens;
  for (const auto& to : h.routing.tokensTo) tokens.insert(tokens.end(), to.begin(), to.end());
  h.tokensFrom.assign(h.numRecv, 0);
  STRATA_RETURN_IF_ERROR(exchangeRows(run, nullptr, Exchange::Setup, h.sendRows, tokens.data(), h.recvFrom,
                                      h.tokensFrom.data(), sizeof(uint32_t)));
  h.singleCopy = true;
  return Status::ok();
}

// Direct routes: every rank sends its rows straight to their destinations.
Status exchangeDirectLayout(const MoeRun& run, strataMoeHandle& h, const char* function) {
  const Routing& r = h.routing;
  const size_t k = static_cast<size_t>(r.topK);
  const std::vector<size_t>& sendRows = h.sendRows;
  h.recvFrom.assign(static_cast<size_t>(h.nranks), 0);
  STRATA_RETURN_IF_ERROR(exchangeCounts(run, sendRows, &h.recvFrom).withContext(std::string(function) + ": "));
  h.numRecv = 0;
  for (size_t c : h.recvFrom) h.numRecv += c;
  STRATA_RETURN_IF_ERROR(shareSendRows(run, h).withContext(std::string(function) + ": "));
  // Each routed row's expert ids, as local ids on its destination.
  std::vector<int32_t> ids;
  for (int dest = 0; dest < h.nranks; ++dest) {
    for (uint32_t t : r.tokensTo[static_cast<size_t>(dest)]) {
      for (int j = 0; j < r.topK; ++j) ids.push_back(r.localIdOn(dest, t, j));
    }
  }
  h.recvLocalIds.assign(h.numRecv * k, -1);
  return exchangeRows(run, nullptr, Exchange::Setup, sendRows, ids.data(), h.recvFrom, h.recvLocalIds.data(),
                      k * sizeof(int32_t))
      .withContext(std::string(function) + ": ");
}

}  // namespace

Result<strataMoeHandle*> createHandle(const RoutingRequest& request, const HandleOptions& options, strataComm_t handle,
                                      const std::shared_ptr<Communicator>& comm, const char* function) {
  auto routed = routeTokens(request, function);
  if (!routed.ok()) return routed.status();
  auto h = std::make_unique<strataMoeHandle>();
  h->comm = handle;
  h->core = comm;
  h->nranks = request.nranks;
  h->rank = comm->rank();
  h->routing = std::move(routed.value());
  for (const auto& tokens : h->routing.tokensTo) h->sendRows.push_back(tokens.size());
  h->expertAlignment = options.expertAlignment;
  h->hostOfRank = options.hostOfRank;
  MoeRun run{*comm, CallKind::MoeHandleCreate};
  if (options.hierarchical) {
    STRATA_RETURN_IF_ERROR(buildForwarding(run, *h, options.ranksOfHost).withContext(std::string(function) + ": "));
  } else {
    STRATA_RETURN_IF_ERROR(exchangeDirectLayout(run, *h, function));
  }
  STRATA_RETURN_IF_ERROR(finishOperation(run).withContext(std::string(function) + ": "));
  const Routing& r = h->routing;
  h->recvPerExpert.assign(static_cast<size_t>(r.localExperts), 0);
  for (int32_t id : h->recvLocalIds) {
    if (id >= 0 && id < r.localExperts) ++h->recvPerExpert[static_cast<size_t>(id)];
  }
  for (size_t& c : h->recvPerExpert) c = roundUp(c, static_cast<size_t>(h->expertAlignment));
  return h.release();
}

}  // namespace strata::moe


size_t strataMoeHandle::rowsToOtherHosts() const {
  const int myHost = hostOfRank[static_cast<size_t>(rank)];
  size_t rows = 0;
  for (size_t r = 0; r < static_cast<size_t>(nranks); ++r) {
    if (hostOfRank[r] == myHost) continue;
    rows += forwarding ? forwarding->tokensToForwarder[r].size() : routing.tokensTo[r].size();
  }
  return rows;
}

unsigned char* strataMoeHandle::stage(Stage which, size_t bytes) const {
  std::vector<unsigned char>& buffer = staging[which];
  if (buffer.size() < bytes) buffer.resize(bytes);
  return buffer.data();
}

float* strataMoeHandle::zeroedSums(Sums which, size_t count) const {
  sumBuffers[which].assign(count, 0.0f);  // keeps its capacity: no allocation once grown
  return sumBuffers[which].data();
}
