#!/usr/bin/env bash
# perf/compare/ab with one build as both sides, two short rounds: a row per collective, size and
# program, with a median, a min and a max each.
#   compare_ab_table.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
table=$("$1/perf/compare/ab" "$2" "$2" -c all_reduce,broadcast -b 8 -e 128 -f 16 -i 20 -w 2 -r 2)
echo "$table"
rows=$(grep -cE '^(all_reduce|broadcast) +(8|128) +(before|after) +[0-9.]+ +[0-9.]+ +[0-9.]+$' <<< "$table")
[[ $rows -eq 8 ]] || { echo "expected 8 rows of before/after, found $rows"; exit 1; }
echo "ab ok"
