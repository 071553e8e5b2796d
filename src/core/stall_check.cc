// What a stalled wait looks at (executor.h): dead peers, peers in another call, abort, deadline.
#include <string>

#include "src/core/executor.h"

namespace strata {
namespace {

// A peer whose next frame, or whose window tag, shows it is in another call than ours.
Status probeForMismatch(const ExecutionContext& c) {
  const int nranks = static_cast<int>(c.connections.size());
  std::byte frameBytes[kFrameHeaderBytes];
  for (int peer = 0; peer < nranks; ++peer) {
    Connection* connection = c.connections[peer];
    if (connection == nullptr || !connection->peekFrame(frameBytes)) continue;
    Frame frame;
    if (!decodeFrame(frameBytes, &frame)) {
      return invalidUsage("rank " + std::to_string(peer) + " sent bytes that are not a Strata message while rank " +
                          std::to_string(c.rank) + " is in " + c.call.describe() +
                          "; the two ranks' calls went out of step earlier");
    }
    STRATA_RETURN_IF_ERROR(checkPeekedFrame(c.call, frame, peer, c.rank));
  }
  if (c.windows == nullptr) return Status::ok();
  for (int peer = 0; peer < c.windows->nranks(); ++peer) {
    if (peer == c.rank) continue;
    std::byte tag[kWindowTagBytes];
    Frame published;
    if (!c.windows->readLatestTag(peer, tag) || !decodeFrame(tag, &published)) continue;
    STRATA_RETURN_IF_ERROR(checkWindowTag(c.call, published.tag, peer, c.rank));
  }
  return Status::ok();
}

}  // namespace

Status checkStalledWait(const ExecutionContext& c, const Deadline& deadline, FunctionRef<std::string()> where,
                        const std::vector<int>& watched, FunctionRef<std::string()> waitingFor, int suspect) {
  auto checkPeer = [&](int peer) -> Status {
    Connection* connection = c.connections[peer];
    if (connection == nullptr) return Status::ok();
    Status st = connection->checkPeer();
    if (st.isOk()) return st;
    return {st.code(), "rank " + std::to_string(peer) + " failed while rank " + std::to_string(c.rank) +
                           " was waiting to " + waitingFor() + " in " + where() + ": " + st.message()};
  };
  if (watched.empty()) {
    for (int peer = 0; peer < static_cast<int>(c.connections.size()); ++peer) STRATA_RETURN_IF_ERROR(checkPeer(peer));
  } else {
    for (int peer : watched) STRATA_RETURN_IF_ERROR(checkPeer(peer));
  }
  Status mismatch = probeForMismatch(c);
  if (!mismatch.isOk()) return mismatch.withContext("while waiting to " + waitingFor() + " in " + where() + ": ");
  if (c.abortFlag != nullptr && c.abortFlag->load(std::memory_order_relaxed)) {
    return {strataRemoteError, "communicator was aborted while waiting to " + waitingFor() + " in " + where()};
  }
  if (deadline.expired()) {
    std::string who = suspect >= 0 ? "rank " + std::to_string(suspect) + " is" : "every rank is";
    return timeoutError("timed out after " + std::to_string(deadline.timeoutMs()) + " ms (STRATA_TIMEOUT_MS) in " +
                        where() + " waiting to " + waitingFor() + "; check that " + who +
                        " alive and issued the same call");
  }
  return Status::ok();
}

}  // namespace strata
