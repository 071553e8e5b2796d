// Google Benchmark: reduction kernels in GB/s (bytes of the two inputs and the output), next to
// memcpy of the same size (bytes read and written), for every dtype and op.
//   build/bin/reduce_kernels_bench --benchmark_filter='sum/float|memcpy'
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "src/common/datatype.h"
#include "src/reduce/reduce.h"

namespace {

void benchReduce(benchmark::State& state, strataDataType_t dtype, strataRedOp_t op) {
  size_t bytes = static_cast<size_t>(state.range(0));
  size_t es = strata::dataTypeSize(dtype);
  size_t count = bytes / es;
  std::vector<unsigned char> a(bytes, 1), b(bytes, 1), out(bytes);
  for (auto _ : state) {
    strata::reduceBuffers(out.data(), a.data(), b.data(), count, dtype, op);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(3 * count * es));
  state.SetLabel(strata::reduceKernelVariant());
}

void benchMemcpy(benchmark::State& state) {
  size_t bytes = static_cast<size_t>(state.range(0));
  std::vector<unsigned char> a(bytes, 1), out(bytes);
  for (auto _ : state) {
    std::memcpy(out.data(), a.data(), bytes);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(2 * bytes));
}

void registerAll() {
  const strataDataType_t types[] = {strataInt8,   strataUint8,   strataInt32,    strataUint32,
                                    strataInt64,  strataUint64,  strataFloat16,  strataFloat32,
                                    strataFloat64, strataBfloat16, strataFloat8e4m3, strataFloat8e5m2};
  const strataRedOp_t ops[] = {strataSum, strataProd, strataMax, strataMin, strataAvg};
  for (strataRedOp_t op : ops) {
    for (strataDataType_t t : types) {
      std::string name = std::string("reduce_") + strata::redOpName(op) + "/" + strata::dataTypeName(t);
      benchmark::RegisterBenchmark(name.c_str(), benchReduce, t, op)->Arg(256 << 10)->Arg(16 << 20);
    }
  }
  benchmark::RegisterBenchmark("memcpy", benchMemcpy)->Arg(256 << 10)->Arg(16 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  registerAll();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
