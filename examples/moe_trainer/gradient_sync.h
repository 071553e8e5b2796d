// Data-parallel gradient all-reduce in buckets, overlapped with backward: dense gradients over
// the world, expert gradients over the DP group. Backward reports how far the gradients are
// final (Model's GradientsReady); every bucket of `bucketBytes` wholly inside that prefix is
// queued on a Strata host stream right away, so it travels while backward goes on. finish()
// queues the rest and waits for the stream.
#pragma once

#include <strata/strata.h>

#include <vector>

#include "comm_clock.h"
#include "parallel.h"

namespace trainer {

class GradientSync {
 public:
  // `overlap` false: everything is sent at finish() (the comparison the README reports).
  GradientSync(const Groups& groups, size_t bucketBytes, bool overlap);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  void begin(std::vector<float>& dense, std::vector<float>& expert);
  // The stream the buckets travel on (the router statistics and the step's totals travel on it too).
  strataStream_t stream() const { return stream_; }
  void ready(size_t dense, size_t expert);
  void finish(CommClock& clock);

 private:
  struct Region {
    std::vector<float>* grads = nullptr;
    strataComm_t comm = nullptr;
    int commSize = 1;
    size_t sent = 0;  // entries queued so far
  };
  void send(Region& r, size_t upTo, bool all);

  size_t bucketElements_;
  bool overlap_;
  strataStream_t stream_ = nullptr;
  Region dense_, expert_;
};

}  // namespace trainer
