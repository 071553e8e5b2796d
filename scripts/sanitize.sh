#!/usr/bin/env bash
# Sanitizer runs that `make test` adds to the main suite:
#   ASan+UBSan: every unit test (the fuzz corpora replayed among them) but the plans' 4 MiB
#               cases (3 and 8 ranks; ctest names plan tests by rank count), 12 and 16 ranks
#               and the narrow-float sums, which the main build runs; the multi-process tests
#               on shm and tcp (4 and 3 ranks), the MoE exchange (shm 3, tcp 4, forwarded in
#               pieces on 2 emulated hosts), the mismatch,
#               dead-peer and silent-peer tests, the C example, the MoE trainer's parallel,
#               checkpoint and bad-input tests, and the NCCL net plugin's harness over ucx
#               (over tcp it is among the unit tests);
#   TSan:       the unit tests that run ranks as threads (executor, transports and tcp connections
#               opened on first use, window exchanges,
#               host streams, API);
#   libFuzzer:  every fuzz target (clang, ASan+UBSan) for STRATA_FUZZ_SECONDS each (default 20),
#               seeded with the corpus kept in tests/fuzz/corpus, two at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs" >/dev/null
(cd build-asan && ctest --output-on-failure -j 2 -L unit -E 'EveryAlgorithmMovesTheRightBytes/(3|8)$|ManyRanks|NarrowFloat')
(cd build-asan && TRAINER_TESTS_MPIRUN=0 ctest --output-on-failure \
  -R 'mp_collectives_(shm_4|tcp_3|fake_device_2|fake_device_staged_2)|device_semantics_2|device_peer_failures|device_module_refusals|moe_exchange_(shm_3|tcp_4|hosts_4_on_2)|dead_peer|silent_peer|call_mismatch|example_hello|trainer_(parallel_equivalence|checkpoint|bad_input)|ucx\.NetPlugin')

export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$jobs" --target test_plans test_transports test_waiting test_api strata-run mp_collectives \
  device_semantics device_peer_failures strata_fake_device >/dev/null
(cd build-tsan && ctest --output-on-failure -L unit \
  -R 'Doorbell|WaitPolicy|Waiting|WindowExchange|MemoryTransport|ShmTransport|TcpTransport|TcpOnFirstUse|ApiTest|ApiRanks|Handshake|HostStreams|BarrierCompletes|ReductionsForEveryTypeAndOp/3$|Deterministic/5$')
# The device proxy's thread, the API thread and the (fake) device streams' threads.
(cd build-tsan && ctest --output-on-failure -R 'device_semantics_2|device_peer_failures|mp_collectives_fake_device_2')

if command -v clang++ >/dev/null; then
  cmake --preset fuzz -DSTRATA_FUZZ_SECONDS="${STRATA_FUZZ_SECONDS:-20}" >/dev/null
  cmake --build --preset fuzz -j "$jobs" --target fuzz_topology_conf fuzz_cost_file fuzz_unique_id \
    fuzz_bootstrap_messages fuzz_call_frames >/dev/null
  (cd build-fuzz && ctest --output-on-failure -j 2 -L fuzz)  # one fuzzer per core
else
  echo "sanitize: clang++ not found: the libFuzzer targets did not run (install clang; the corpus replays ran)" >&2
  exit 1
fi
echo "sanitize: ASan/UBSan, TSan and libFuzzer runs are clean"
