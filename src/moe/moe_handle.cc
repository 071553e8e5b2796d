#include "moe/moe_handle.h"

#include <cstring>
#include <memory>
#include <string>

namespace strata::moe {
namespace {

Status fromResult(strataResult_t r, strataComm_t comm, const std::string& what) {
  if (r == strataSuccess) return Status::ok();
  return Status(r, what + ": " + strataGetLastError(comm));
}

size_t roundUp(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }

}  // namespace

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
  // An empty side still needs a valid pointer for the call's checks.
  static char empty;
  return fromResult(strataAllToAllv(sendAt ? send : &empty, sendCounts.data(), sendDispls.data(), recvAt ? recv : &empty,
                                    recvCounts.data(), recvDispls.data(), strataUint8, comm, nullptr),
                    comm, "exchanging token rows");
}

Result<strataMoeHandle*> createHandle(const RoutingRequest& request, const strataMoeConfig& config, strataComm_t comm,
                                      const char* function) {
  auto routed = routeTokens(request, function);
  if (!routed.ok()) return routed.status();
  auto h = std::make_unique<strataMoeHandle>();
  h->comm = comm;
  h->nranks = request.nranks;
  STRATA_RETURN_IF_ERROR(fromResult(strataCommUserRank(comm, &h->rank), comm, function));
  h->routing = std::move(routed.value());
  h->expertAlignment = config.expertAlignment;
  const Routing& r = h->routing;
  const size_t k = static_cast<size_t>(r.topK);

  // How many rows each rank sends each other rank.
  std::vector<size_t> sendRows = h->sendRows();
  h->recvFrom.assign(static_cast<size_t>(h->nranks), 0);
  STRATA_RETURN_IF_ERROR(fromResult(strataAllToAll(sendRows.data(), h->recvFrom.data(), 1, strataUint64, comm, nullptr),
                                    comm, std::string(function) + ": exchanging row counts"));
  for (size_t c : h->recvFrom) h->numRecv += c;

  // Each routed row's expert ids, as local ids on its destination.
  size_t totalSend = 0;
  for (size_t c : sendRows) totalSend += c;
  std::vector<int32_t> ids;
  ids.reserve(totalSend * k);
  for (int dest = 0; dest < h->nranks; ++dest) {
    for (uint32_t t : r.tokensTo[static_cast<size_t>(dest)]) {
      for (int j = 0; j < r.topK; ++j) ids.push_back(r.localIdOn(dest, t, j));
    }
  }
  h->recvLocalIds.assign(h->numRecv * k, -1);
  STRATA_RETURN_IF_ERROR(exchangeRows(comm, sendRows, ids.data(), h->recvFrom, h->recvLocalIds.data(), k * sizeof(int32_t))
                             .withContext(std::string(function) + ": "));
  h->recvPerExpert.assign(static_cast<size_t>(r.localExperts), 0);
  for (int32_t id : h->recvLocalIds) {
    if (id >= 0 && id < r.localExperts) ++h->recvPerExpert[static_cast<size_t>(id)];
  }
  for (size_t& c : h->recvPerExpert) c = roundUp(c, static_cast<size_t>(h->expertAlignment));
  return h.release();
}

}  // namespace strata::moe

std::vector<size_t> strataMoeHandle::sendRows() const {
  std::vector<size_t> rows;
  for (const auto& tokens : routing.tokensTo) rows.push_back(tokens.size());
  return rows;
}
