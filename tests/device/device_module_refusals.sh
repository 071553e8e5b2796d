#!/usr/bin/env bash
# When device memory is asked for and cannot be had, communicator creation fails at once with the
# reason; when the process does not use CUDA, nothing about devices changes host-memory work.
#   device_module_refusals.sh STRATA_RUN HELLO FAKE_MODULE
set -u
run=$1 hello=$2 fake=$3
status=0
fail() { echo "FAIL: $*"; status=1; }

expect_refusal() {  # expect_refusal WHAT NEEDLE ENV...
  local what=$1 needle=$2
  shift 2
  out=$(env "$@" STRATA_TIMEOUT_MS=20000 timeout 60 "$run" -n 1 "$hello" 2>&1); rc=$?
  [[ $rc -ne 0 && $rc -lt 124 ]] || fail "$what: exit $rc"
  echo "$out" | grep -q -- "$needle" || fail "$what: no '$needle' in: $out"
  echo "$what: $(echo "$out" | grep -o -- "$needle" | head -1)"
}

expect_refusal "no such module" "was not found" STRATA_DEVICE_MODULE=/no/such/module.so
expect_refusal "module without devices" "finds no usable device: STRATA_FAKE_DEVICES=0" STRATA_DEVICE_MODULE="$fake" STRATA_FAKE_DEVICES=0
expect_refusal "not a module" "is not a Strata device module" STRATA_DEVICE_MODULE=libc.so.6
expect_refusal "bad STRATA_CUDA" "STRATA_CUDA" STRATA_CUDA=yes
# STRATA_CUDA=1 on this machine: the CUDA module finds no driver, or a build without CUDA has none.
expect_refusal "STRATA_CUDA=1 without a GPU" "finds no usable device\|was not found" STRATA_CUDA=1

# STRATA_CUDA=0 wins over a module; the default (auto) in a process without the CUDA driver
# loads nothing. Both run host memory as before.
for setting in "STRATA_CUDA=0 STRATA_DEVICE_MODULE=$fake" "STRATA_CUDA=auto"; do
  out=$(env $setting STRATA_DEBUG=INFO STRATA_DEBUG_SUBSYS=INIT timeout 60 "$run" -n 2 "$hello" 2>&1) || fail "$setting: hello failed: $out"
  echo "$out" | grep -q "host buffers only" || fail "$setting: INFO does not say host buffers only"
done
exit $status
