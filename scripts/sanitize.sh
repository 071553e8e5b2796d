#!/usr/bin/env bash
# Sanitizer runs that `make test` adds after the main suite:
#   ASan+UBSan: every unit test, and the multi-process tests on shm and tcp (4 and 3 ranks),
#               the MoE exchange (shm 3, tcp 4), the dead-peer tests and the C example;
#   TSan:       the unit tests that run ranks as threads (executor, transports, host streams, API).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs" >/dev/null
(cd build-asan && ctest --output-on-failure -j 2 -L unit -E 'EveryAlgorithmMovesTheRightBytes/(2|7)$|ManyRanks')
(cd build-asan && ctest --output-on-failure -R 'mp_collectives_(shm_4|tcp_3)|moe_exchange_(shm_3|tcp_4)|dead_peer|example_hello')

export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$jobs" --target test_plans test_transports test_api >/dev/null
(cd build-tsan && ctest --output-on-failure -L unit \
  -R 'MemoryTransport|ShmTransport|TcpTransport|ApiTest|ApiRanks|Handshake|BarrierCompletes|ReductionsForEveryTypeAndOp/3$')
echo "sanitize: ASan/UBSan and TSan runs are clean"
