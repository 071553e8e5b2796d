#!/usr/bin/env python3
"""One line from a moe_trainer --csv file: the median step time, tokens/s and communication time
per step over steps 4.. (the first steps connect and allocate).
  csv_summary.py FILE  ->  step_ms X tokens_per_s Y comm_ms Z
"""
import csv
import statistics
import sys

rows = [r for r in csv.DictReader(open(sys.argv[1])) if int(r["step"]) >= 4]
step = statistics.median(float(r["seconds"]) for r in rows)
comm = statistics.median(float(r["comm_seconds"]) for r in rows)
tokens = float(rows[0]["tokens_per_second"]) * float(rows[0]["seconds"])
print(f"step_ms {1e3 * step:.2f} tokens_per_s {tokens / step:.0f} comm_ms {1e3 * comm:.2f}")
