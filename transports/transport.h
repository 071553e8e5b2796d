// The message capability every transport offers: an ordered, reliable byte stream to one peer,
// progressed without blocking. Its shape mirrors ncclNet (post, then test until done) so the NCCL
// net plugin stays a thin adapter.
//
// Ordering contract: per connection and direction, messages complete in the order they are
// progressed, and a receive of N bytes matches a send of N bytes. The executor only progresses the
// oldest unfinished message of each direction, so "head of line" is the whole protocol.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "src/common/status.h"

namespace strata {

// Bytes of the frame that may travel in front of a message (core/call_tag.h says what is in it;
// to a transport it is opaque). A multiple of 8, so payloads stay 8-byte aligned in the rings.
constexpr size_t kFrameHeaderBytes = 40;

// One message in one direction; `done` grows to `bytes`.
struct TransferRequest {
  std::byte* data = nullptr;
  size_t bytes = 0;
  size_t done = 0;
  // Bytes that have arrived without gaps from the start (a split message fills several ranges at
  // once); what a receive-and-reduce may already fold in.
  size_t contiguous = 0;
  // Framing (frameBytes = kFrameHeaderBytes; 0: an unframed message). A sender fills `frame` and
  // the transport sends it ahead of the payload. A receiver gets the frame first (progressFrame)
  // and no payload byte is taken until the caller has checked it and set `frameAccepted`.
  size_t frameBytes = 0;
  size_t frameDone = 0;
  bool frameAccepted = false;
  // The receive lands in Strata's own staging memory, not in a caller's buffer: a transport may
  // take payload bytes before the frame is accepted (a mismatched message then only spoils staging).
  bool intoStaging = false;
  std::byte frame[kFrameHeaderBytes] = {};

  bool frameComplete() const { return frameDone == frameBytes; }
  // A sender sets frameAccepted when it fills the frame: only a receiver has anything to accept.
  bool complete() const { return done == bytes && frameDone == frameBytes && (frameBytes == 0 || frameAccepted); }
};

class Connection {
 public:
  virtual ~Connection() = default;

  // Move as much of the message as possible right now. Never blocks. An error means the peer is
  // gone, closed the connection, or sent something malformed.
  virtual Status progressSend(TransferRequest& request) = 0;
  virtual Status progressRecv(TransferRequest& request) = 0;

  // Zero-copy receive for transports whose incoming bytes sit in readable memory (the rings):
  // the next readable run of the current message, at most `max` bytes, left in place until
  // consumeReceived(). A receive-and-reduce folds straight out of it. Message starts are 8-byte
  // aligned there, so an element never straddles the end of a run that continues. Transports
  // without it return false from canPeek() and the executor receives into staging instead.
  virtual bool canPeek() const { return false; }
  virtual size_t peekReceived(TransferRequest& /*request*/, const std::byte** /*data*/, size_t /*max*/) { return 0; }
  virtual void consumeReceived(TransferRequest& /*request*/, size_t /*bytes*/) {}

  // Receiver of a framed message: takes frame bytes only, never payload. progressRecv does the
  // same while the frame is incomplete, and takes no payload until the frame is accepted.
  virtual Status progressFrame(TransferRequest& request) = 0;

  // Copies the frame at the head of the incoming stream into `out` without consuming it, when
  // no message is being received and a whole frame has arrived; false otherwise. Waiters use it
  // to spot a peer that is in another call than they are.
  virtual bool peekFrame(std::byte* /*out*/) { return false; }

  // True when the peer rings this rank's doorbell (memory/doorbell.h) whenever it moves anything
  // on this connection: a waiter whose every pending transfer is on such connections may sleep
  // on its doorbell instead of polling.
  virtual bool wakesOwnerDoorbell() const { return false; }

  // True when the last progress call moved bytes that the request does not show yet: transports
  // that report a message only when it is whole (ucx) keep a waiter spinning, instead of napping,
  // while they pump its pieces.
  virtual bool movedUnseen() const { return false; }

  // A descriptor that becomes readable when this connection may move again (-1: none), for
  // transports whose progress is driven by the waiter (ucx): a waiter whose every pending
  // transfer shares one such descriptor sleeps in poll() on it instead of napping.
  virtual int wakeFd() const { return -1; }
  // Called right before such a sleep: false when events are already pending (do not sleep).
  virtual bool readyToSleep() { return false; }

  // Called by waiters that made no progress for a while: an error if the peer is known dead.
  virtual Status checkPeer() { return Status::ok(); }

  // Called when a stage that moves bytes on this connection begins. A connection opened on first
  // use takes its first step here, so every connection of a stage has started to open before any
  // of the stage's transfers can fail (a rank that fails must be able to tell each peer the stage
  // waits on).
  virtual Status prepare() { return Status::ok(); }

  // Make every current and future wait of the peer on this connection fail promptly (abort).
  virtual void close() = 0;

  // "shm", "tcp", "memory", "self": for logs and error messages.
  virtual const char* kind() const = 0;
};

}  // namespace strata
