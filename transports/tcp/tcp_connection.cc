#include "transports/tcp/tcp_connection.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>

#include <cerrno>

#include "src/common/errno_text.h"

namespace strata {

TcpConnection::TcpConnection(std::vector<Socket> streams, size_t splitBytes)
    : streams_(std::move(streams)), splitBytes_(splitBytes) {
  // STRATA_SOCKET_NSTREAMS is checked to 1..16 where it is read; the progress arrays hold 16.
  if (streams_.size() > static_cast<size_t>(kMaxStreamsPerPeer)) streams_.resize(kMaxStreamsPerPeer);
}

int TcpConnection::streamsFor(const TransferRequest& request) const {
  return request.bytes >= splitBytes_ ? static_cast<int>(streams_.size()) : 1;
}

void TcpConnection::streamRange(const TransferRequest& request, int stream, size_t* begin,
                                size_t* end) const {
  size_t parts = static_cast<size_t>(streamsFor(request));
  *begin = request.bytes * static_cast<size_t>(stream) / parts;
  *end = request.bytes * static_cast<size_t>(stream + 1) / parts;
}

TcpConnection::StreamProgress& TcpConnection::progressOf(StreamProgress& progress, const TransferRequest& request) {
  if (request.done == 0) progress.fill(0);
  return progress;
}

Status TcpConnection::progressSend(TransferRequest& request) {
  StreamProgress& streamSent = progressOf(sent_, request);
  int parts = streamsFor(request);
  for (int s = 0; s < parts; ++s) {
    size_t begin;
    size_t end;
    streamRange(request, s, &begin, &end);
    size_t& sent = streamSent[s];
    while (begin + sent < end || (s == 0 && !request.frameComplete())) {
      // Stream 0 sends what is left of the frame and of its part in one call.
      iovec pieces[2];
      int count = 0;
      if (s == 0 && !request.frameComplete()) {
        pieces[count++] = {request.frame + request.frameDone, request.frameBytes - request.frameDone};
      }
      if (begin + sent < end) pieces[count++] = {request.data + begin + sent, end - begin - sent};
      msghdr message{};
      message.msg_iov = pieces;
      message.msg_iovlen = static_cast<size_t>(count);
      ssize_t n = ::sendmsg(streams_[s].fd(), &message, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        size_t moved = static_cast<size_t>(n);
        if (s == 0 && !request.frameComplete()) {
          size_t framePart = std::min(moved, request.frameBytes - request.frameDone);
          request.frameDone += framePart;
          moved -= framePart;
        }
        sent += moved;
        request.done += moved;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
      return remoteError("tcp send failed: " + errnoText(errno));
    }
  }
  return Status::ok();
}

Status TcpConnection::progressFrame(TransferRequest& request) {
  while (!request.frameComplete()) {
    ssize_t n = ::recv(streams_[0].fd(), request.frame + request.frameDone, request.frameBytes - request.frameDone,
                       MSG_DONTWAIT);
    if (n > 0) {
      request.frameDone += static_cast<size_t>(n);
      receiving_ = true;
      continue;
    }
    if (n == 0) return remoteError("peer closed the tcp connection");
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
    return remoteError("tcp receive failed: " + errnoText(errno));
  }
  if (request.frameComplete() && request.bytes == 0) receiving_ = false;  // a header-only message is whole
  return Status::ok();
}

Status TcpConnection::progressRecv(TransferRequest& request) {
  if (!request.frameComplete()) return progressFrame(request);
  if (request.frameBytes > 0 && !request.frameAccepted) return Status::ok();
  StreamProgress& streamReceived = progressOf(received_, request);
  int parts = streamsFor(request);
  for (int s = 0; s < parts; ++s) {
    size_t begin;
    size_t end;
    streamRange(request, s, &begin, &end);
    size_t& received = streamReceived[s];
    while (begin + received < end) {
      ssize_t n = ::recv(streams_[s].fd(), request.data + begin + received,
                         end - begin - received, MSG_DONTWAIT);
      if (n > 0) {
        received += static_cast<size_t>(n);
        request.done += static_cast<size_t>(n);
        receiving_ = true;
        continue;
      }
      if (n == 0) return remoteError("peer closed the tcp connection");
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
      return remoteError("tcp receive failed: " + errnoText(errno));
    }
  }
  // The gap-free prefix: whole parts in stream order, then the first unfinished part's progress.
  request.contiguous = 0;
  for (int s = 0; s < parts; ++s) {
    size_t begin;
    size_t end;
    streamRange(request, s, &begin, &end);
    request.contiguous = begin + streamReceived[s];
    if (begin + streamReceived[s] < end) break;
  }
  if (request.complete()) receiving_ = false;
  return Status::ok();
}

bool TcpConnection::peekFrame(std::byte* out) {
  if (receiving_) return false;
  ssize_t n = ::recv(streams_[0].fd(), out, kFrameHeaderBytes, MSG_PEEK | MSG_DONTWAIT);
  return n == static_cast<ssize_t>(kFrameHeaderBytes);
}

void TcpConnection::close() {
  for (auto& s : streams_) {
    if (s.valid()) ::shutdown(s.fd(), SHUT_RDWR);
  }
}

}  // namespace strata
