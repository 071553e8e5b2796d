// Google Benchmark: where a small call's time goes when nobody has to be waited for. A
// one-rank communicator runs the whole public call path (argument checks, handle lookup, plan
// cache, call tag, executor, the copy) with no peer to wait on; the layers below it are timed
// alone, so the differences are the per-call cost of each layer:
//   build/bin/call_path_bench
//   public call          strataAllReduce / strataBroadcast / strataSend+Recv to self, 8 B
//   communicator call    Communicator::runCollective (no API checks, no handle lookup)
//   frame                encode + decode + check of one message frame (every message pays it)
// Waiting for peers (flag round trips, cache-line transfers) is what the 2-rank perf tools add.
#include <benchmark/benchmark.h>
#include <strata/strata.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "src/core/call_tag.h"
#include "src/core/communicator.h"

namespace {

// A one-rank communicator for the whole run: made once, never destroyed (the process ends).
strataComm_t publicComm() {
  static strataComm_t comm = [] {
    strataUniqueId id;
    strataComm_t c = nullptr;
    if (strataGetUniqueId(&id) != strataSuccess || strataCommInitRank(&c, 1, id, 0) != strataSuccess) std::abort();
    return c;
  }();
  return comm;
}

void publicAllReduce(benchmark::State& state) {
  strataComm_t comm = publicComm();
  float in[2] = {1, 2}, out[2] = {};
  for (auto _ : state) {
    if (strataAllReduce(in, out, 2, strataFloat32, strataSum, comm, nullptr) != strataSuccess) state.SkipWithError("failed");
    benchmark::DoNotOptimize(out);
  }
}

void publicBroadcast(benchmark::State& state) {
  strataComm_t comm = publicComm();
  float in[2] = {1, 2}, out[2] = {};
  for (auto _ : state) {
    if (strataBroadcast(in, out, 2, strataFloat32, 0, comm, nullptr) != strataSuccess) state.SkipWithError("failed");
    benchmark::DoNotOptimize(out);
  }
}

void publicSendRecvToSelf(benchmark::State& state) {
  strataComm_t comm = publicComm();
  float in[2] = {1, 2}, out[2] = {};
  for (auto _ : state) {
    strataGroupStart();
    strataSend(in, 2, strataFloat32, 0, comm, nullptr);
    strataRecv(out, 2, strataFloat32, 0, comm, nullptr);
    if (strataGroupEnd() != strataSuccess) state.SkipWithError("failed");
    benchmark::DoNotOptimize(out);
  }
}

void communicatorAllReduce(benchmark::State& state) {
  static std::unique_ptr<strata::Communicator> comm = [] {
    strataUniqueId id;
    if (strataGetUniqueId(&id) != strataSuccess) std::abort();
    auto created = strata::Communicator::create(id, 1, 0, nullptr);
    if (!created.ok()) std::abort();
    return std::move(created.value());
  }();
  float in[2] = {1, 2}, out[2] = {};
  strata::CollectiveCall call;
  call.shape.kind = strata::CollectiveKind::AllReduce;
  call.shape.count = 2;
  call.shape.elementSize = sizeof(float);
  call.send = in;
  call.recv = out;
  call.dtype = strataFloat32;
  call.op = strataSum;
  for (auto _ : state) {
    if (!comm->runCollective(call).isOk()) state.SkipWithError("failed");
    benchmark::DoNotOptimize(out);
  }
}

void frameRoundTrip(benchmark::State& state) {
  strata::CallTag tag;
  tag.sequence = 12345;
  strata::Frame sent{tag, strata::FrameRole::Data, 8};
  std::byte wire[strata::kFrameHeaderBytes];
  for (auto _ : state) {
    strata::encodeFrame(sent, wire);
    benchmark::ClobberMemory();
    strata::Frame received;
    bool ok = strata::decodeFrame(wire, &received) && strata::checkFrame(sent, received, 1, 0).isOk();
    benchmark::DoNotOptimize(ok);
  }
}

}  // namespace

BENCHMARK(publicAllReduce);
BENCHMARK(publicBroadcast);
BENCHMARK(publicSendRecvToSelf);
BENCHMARK(communicatorAllReduce);
BENCHMARK(frameRoundTrip);
BENCHMARK_MAIN();
