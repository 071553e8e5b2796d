#include "moe/moe_handle.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "moe/moe_forwarding.h"

namespace strata::moe {
namespace {

size_t roundUp(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }

// Direct routes: every rank sends its rows straight to their destinations.
Status exchangeDirectLayout(strataMoeHandle& h, const char* function) {
  const Routing& r = h.routing;
  const size_t k = static_cast<size_t>(r.topK);
  const std::vector<size_t>& sendRows = h.sendRows;
  h.recvFrom.assign(static_cast<size_t>(h.nranks), 0);
  STRATA_RETURN_IF_ERROR(exchangeCounts(h.comm, sendRows, &h.recvFrom).withContext(std::string(function) + ": "));
  h.numRecv = 0;
  for (size_t c : h.recvFrom) h.numRecv += c;
  // Each routed row's expert ids, as local ids on its destination.
  std::vector<int32_t> ids;
  for (int dest = 0; dest < h.nranks; ++dest) {
    for (uint32_t t : r.tokensTo[static_cast<size_t>(dest)]) {
      for (int j = 0; j < r.topK; ++j) ids.push_back(r.localIdOn(dest, t, j));
    }
  }
  h.recvLocalIds.assign(h.numRecv * k, -1);
  return exchangeRows(h.comm, sendRows, ids.data(), h.recvFrom, h.recvLocalIds.data(), k * sizeof(int32_t))
      .withContext(std::string(function) + ": ");
}

}  // namespace

Status exchangeCounts(strataComm_t comm, const std::vector<size_t>& sendCounts, std::vector<size_t>* recvCounts) {
  recvCounts->assign(sendCounts.size(), 0);
  std::vector<uint64_t> send(sendCounts.begin(), sendCounts.end()), recv(sendCounts.size());
  strataResult_t r = strataAllToAll(send.data(), recv.data(), 1, strataUint64, comm, nullptr);
  if (r != strataSuccess) return Status(r, std::string("exchanging row counts: ") + strataGetLastError(comm));
  for (size_t i = 0; i < recv.size(); ++i) (*recvCounts)[i] = static_cast<size_t>(recv[i]);
  return Status::ok();
}

Status exchangeRows(strataComm_t comm, const std::vector<size_t>& sendRows, const void* send,
                    const std::vector<size_t>& recvRows, void* recv, size_t rowBytes) {
  size_t n = sendRows.size();
  std::vector<size_t> sendCounts(n), sendDispls(n), recvCounts(n), recvDispls(n);
  size_t sendAt = 0, recvAt = 0;
  for (size_t r = 0; r < n; ++r) {
    sendCounts[r] = sendRows[r] * rowBytes;
    sendDispls[r] = sendAt;
    sendAt += sendCounts[r];
    recvCounts[r] = recvRows[r] * rowBytes;
    recvDispls[r] = recvAt;
    recvAt += recvCounts[r];
  }
  // An empty side still needs a valid pointer for the call's checks (distinct ones: equal
  // pointers would mean in place).
  static char emptySend, emptyRecv;
  strataResult_t r = strataAllToAllv(sendAt ? send : &emptySend, sendCounts.data(), sendDispls.data(), recvAt ? recv : &emptyRecv,
                                     recvCounts.data(), recvDispls.data(), strataUint8, comm, nullptr);
  if (r != strataSuccess) return Status(r, std::string("exchanging token rows: ") + strataGetLastError(comm));
  return Status::ok();
}

Result<strataMoeHandle*> createHandle(const RoutingRequest& request, const HandleOptions& options, strataComm_t comm,
                                      const char* function) {
  auto routed = routeTokens(request, function);
  if (!routed.ok()) return routed.status();
  auto h = std::make_unique<strataMoeHandle>();
  h->comm = comm;
  h->nranks = request.nranks;
  if (strataCommUserRank(comm, &h->rank) != strataSuccess) return invalidUsage(std::string(function) + ": comm has no rank");
  h->routing = std::move(routed.value());
  for (const auto& tokens : h->routing.tokensTo) h->sendRows.push_back(tokens.size());
  h->expertAlignment = options.expertAlignment;
  h->hostOfRank = options.hostOfRank;
  if (options.hierarchical) {
    STRATA_RETURN_IF_ERROR(buildForwarding(*h, options.ranksOfHost).withContext(std::string(function) + ": "));
  } else {
    STRATA_RETURN_IF_ERROR(exchangeDirectLayout(*h, function));
  }
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
