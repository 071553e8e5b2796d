#include "tcp/tcp_connection.h"

#include <sys/socket.h>

#include <cerrno>

#include "common/errno_text.h"

namespace strata {

TcpConnection::TcpConnection(std::vector<Socket> streams, size_t splitBytes)
    : streams_(std::move(streams)), splitBytes_(splitBytes) {}

int TcpConnection::streamsFor(const TransferRequest& request) const {
  return request.bytes >= splitBytes_ ? static_cast<int>(streams_.size()) : 1;
}

void TcpConnection::streamRange(const TransferRequest& request, int stream, size_t* begin,
                                size_t* end) const {
  size_t parts = static_cast<size_t>(streamsFor(request));
  *begin = request.bytes * static_cast<size_t>(stream) / parts;
  *end = request.bytes * static_cast<size_t>(stream + 1) / parts;
}

Status TcpConnection::progressSend(TransferRequest& request) {
  int parts = streamsFor(request);
  for (int s = 0; s < parts; ++s) {
    size_t begin;
    size_t end;
    streamRange(request, s, &begin, &end);
    size_t& sent = request.streamDone[s];
    while (begin + sent < end) {
      ssize_t n = ::send(streams_[s].fd(), request.data + begin + sent, end - begin - sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        request.done += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
      return remoteError("tcp send failed: " + errnoText(errno));
    }
  }
  return Status::ok();
}

Status TcpConnection::progressRecv(TransferRequest& request) {
  int parts = streamsFor(request);
  for (int s = 0; s < parts; ++s) {
    size_t begin;
    size_t end;
    streamRange(request, s, &begin, &end);
    size_t& received = request.streamDone[s];
    while (begin + received < end) {
      ssize_t n = ::recv(streams_[s].fd(), request.data + begin + received,
                         end - begin - received, MSG_DONTWAIT);
      if (n > 0) {
        received += static_cast<size_t>(n);
        request.done += static_cast<size_t>(n);
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
    request.contiguous = begin + request.streamDone[s];
    if (begin + request.streamDone[s] < end) break;
  }
  return Status::ok();
}

void TcpConnection::close() {
  for (auto& s : streams_) {
    if (s.valid()) ::shutdown(s.fd(), SHUT_RDWR);
  }
}

}  // namespace strata
