#!/usr/bin/env python3
"""The table of perf/trainer's scripts: lines 'NAME RANKS key value key value ...' (one per
launch) -> median (min-max) over the launches of tokens/s, step ms and comm ms per (NAME, RANKS).
  table.py RESULTS_FILE
"""
import collections
import statistics
import sys

runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    f = line.split()
    runs[(f[0], int(f[1]))].append({f[i]: float(f[i + 1]) for i in range(2, len(f), 2)})


def cell(key, field):
    values = [r[field] for r in runs[key]]
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


print(f"# median (min-max) over {max(len(v) for v in runs.values())} launches; "
      "comm = time per step blocked on communication")
print(f"{'who':<22} {'ranks':>5} {'tokens/s':>24} {'step ms':>22} {'comm ms':>22}")
for who, ranks in sorted(runs, key=lambda k: (k[1], k[0])):
    key = (who, ranks)
    print(f"{who:<22} {ranks:>5} {cell(key, 'tokens_per_s'):>24} {cell(key, 'step_ms'):>22} {cell(key, 'comm_ms'):>22}")
