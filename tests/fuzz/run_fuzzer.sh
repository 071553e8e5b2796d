#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS, seeded with the kept corpus (read-only: new finds go to a
# scratch directory), and reports executions; a crash, leak, timeout or out-of-memory fails it
# and leaves the input in the working directory.
#   run_fuzzer.sh FUZZER SECONDS CORPUS_DIR...
set -u
fuzzer=$1 seconds=$2
shift 2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=4096 -print_final_stats=1 \
  "$scratch" "$@" 2>&1 | tee "$scratch/log" | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==ERROR|SUMMARY|INFO: Seed)"
status=${PIPESTATUS[0]}
[[ $status -eq 0 ]] || { tail -40 "$scratch/log"; echo "FAIL: $(basename "$fuzzer") exited with $status"; }
exit "$status"
