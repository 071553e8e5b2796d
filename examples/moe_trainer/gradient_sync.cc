#include "gradient_sync.h"

#include <algorithm>

namespace trainer {

GradientSync::GradientSync(const Groups& groups, size_t bucketBytes, bool overlap)
    : bucketElements_(std::max<size_t>(1, bucketBytes / sizeof(float))), overlap_(overlap) {
  dense_.comm = groups.world;
  dense_.commSize = groups.size;
  expert_.comm = groups.dp;
  expert_.commSize = groups.dpSize;
  check(strataStreamCreate(&stream_), nullptr, "strataStreamCreate");
}

GradientSync::~GradientSync() {
  if (stream_) {
    strataStreamSynchronize(stream_);
    strataStreamDestroy(stream_);
  }
}

void GradientSync::begin(std::vector<float>& dense, std::vector<float>& expert) {
  dense_.grads = &dense;
  dense_.sent = 0;
  expert_.grads = &expert;
  expert_.sent = 0;
}

void GradientSync::send(Region& r, size_t upTo, bool all) {
  if (r.commSize == 1) {
    r.sent = upTo;  // nothing to sum
    return;
  }
  while (r.sent < upTo) {
    const size_t count = std::min(bucketElements_, upTo - r.sent);
    if (count < bucketElements_ && !all) return;  // a partial bucket waits for more gradients
    float* data = r.grads->data() + r.sent;
    check(strataAllReduce(data, data, count, strataFloat, strataSum, r.comm, stream_), r.comm,
          "strataAllReduce (gradient bucket)");
    r.sent += count;
  }
}

void GradientSync::ready(size_t dense, size_t expert) {
  if (!overlap_) return;
  send(dense_, dense, false);
  send(expert_, expert, false);
}

void GradientSync::finish(CommClock& clock) {
  send(dense_, dense_.grads->size(), true);
  send(expert_, expert_.grads->size(), true);
  CommClock::Scope timed(clock);
  // A bucket's failure surfaces here; its text is this thread's last error (comm NULL).
  check(strataStreamSynchronize(stream_), nullptr, "strataStreamSynchronize (gradient buckets)");
}

}  // namespace trainer
