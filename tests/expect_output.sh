#!/usr/bin/env bash
# Runs a test command and judges it by its exit status AND its output: it must exit 0 (or, with
# --fails, exit non-zero but not by a signal) and print a line matching REGEX. Replaces ctest's
# PASS_REGULAR_EXPRESSION, which ignores the exit status (so a sanitizer report at exit, or a
# crash after the expected line, would pass).
#   expect_output.sh [--fails] REGEX -- COMMAND [ARGS...]
set -u
want_failure=0
if [[ ${1:-} == --fails ]]; then want_failure=1; shift; fi
regex=$1
shift
[[ ${1:-} == -- ]] && shift
output=$("$@" 2>&1)
status=$?
printf '%s\n' "$output"
if ((want_failure)); then
  if ((status == 0 || status > 128)); then echo "expect_output: expected a clean failure, got exit status $status"; exit 1; fi
elif ((status != 0)); then
  echo "expect_output: exit status $status"; exit 1
fi
printf '%s\n' "$output" | grep -Eq -- "$regex" || { echo "expect_output: no line matches: $regex"; exit 1; }
exit 0
