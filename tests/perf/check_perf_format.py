#!/usr/bin/env python3
"""Strict parser of nccl-tests output, for every Strata *_perf tool.

Reads a tool's stdout and fails (exit 1, naming the line) unless it is exactly nccl-tests'
format: the header, one '#  Rank' line per rank, the two column-title lines, data rows of 13
columns whose algbw and busbw follow nccl-tests' formulas for that collective, and the footer.

  check_perf_format.py TOOL NRANKS ROWS ROOT < output
"""
import re
import sys

# busbw / algbw per collective, as nccl-tests defines them (n = ranks).
BUS_FACTOR = {
    "all_reduce_perf": lambda n: 2.0 * (n - 1) / n,
    "all_gather_perf": lambda n: (n - 1) / n,
    "reduce_scatter_perf": lambda n: (n - 1) / n,
    "alltoall_perf": lambda n: (n - 1) / n,
    "alltoallv_perf": lambda n: (n - 1) / n,
    "gather_perf": lambda n: (n - 1) / n,
    "scatter_perf": lambda n: (n - 1) / n,
    "broadcast_perf": lambda n: 1.0,
    "reduce_perf": lambda n: 1.0,
    "sendrecv_perf": lambda n: 1.0,
}
REDUCING = {"all_reduce_perf", "reduce_scatter_perf", "reduce_perf"}
ROOTED = {"broadcast_perf", "reduce_perf", "gather_perf", "scatter_perf"}
IN_PLACE_UNCHECKED = {"sendrecv_perf"}
TYPES = {"int8", "uint8", "int32", "uint32", "int64", "uint64", "half", "float", "double", "bfloat16", "f8e4m3", "f8e5m2"}
OPS = {"sum", "prod", "max", "min", "avg"}

HEADER = re.compile(r"^# nThread \d+ nGpus 1 minBytes \d+ maxBytes \d+ step: \d+\((factor|bytes)\) warmup iters: \d+ "
                    r"iters: \d+ agg iters: \d+ validation: \d+ graph: \d+$")
RANK_LINE = re.compile(r"^#  Rank +(\d+) Group +\d+ Pid +\d+ on +\S+ device +\d+ \[[^\]]*\] .+$")
TITLES = [re.compile(r"^# +out-of-place +in-place *$"),
          re.compile(r"^# +size +count +type +redop +root +(time|cputime) +algbw +busbw +#wrong +(time|cputime) +algbw "
                     r"+busbw +#wrong *$"),
          re.compile(r"^# +\(B\) +\(elements\) +\(us\) +\(GB/s\) +\(GB/s\) +\(us\) +\(GB/s\) +\(GB/s\) *$")]
FOOTER = [re.compile(r"^# Out of bounds values : \d+ (OK|FAILED)$"),
          re.compile(r"^# Avg bus bandwidth    : [0-9.e+-]+ ?$"),
          re.compile(r"^#$"),
          None,  # "# Collective test concluded: TOOL", checked below
          re.compile(r"^#$")]


class FormatError(Exception):
    pass


def expect(condition, line_no, line, what):
    if not condition:
        raise FormatError(f"line {line_no}: {what}: {line!r}")


def check_placement(fields, tool, n, size, line_no, line, checked):
    time, algbw, busbw, wrong = fields
    t, a, b = float(time), float(algbw), float(busbw)
    expect(t > 0, line_no, line, "time must be positive")
    # Everything is printed with two decimals: allow that rounding, also the time's.
    slack = 0.006 + a * (0.01 + 0.005 / t)
    expect(abs(a - size / t / 1e3) <= slack, line_no, line, f"algbw {a} is not size/time")
    expect(abs(b - a * BUS_FACTOR[tool](n)) <= 0.011 + 0.01 * b, line_no, line, f"busbw {b} is not algbw x factor")
    if checked:
        expect(re.fullmatch(r"\d+", wrong), line_no, line, "#wrong must be a count")
        expect(wrong == "0", line_no, line, "#wrong is not 0")
    else:
        expect(wrong in ("N/A", "0"), line_no, line, "#wrong must be N/A or 0")


def check(lines, tool, n, rows, root):
    it = iter(enumerate(lines, 1))

    def next_line():
        try:
            return next(it)
        except StopIteration:
            raise FormatError("output ends early")

    no, line = next_line()
    expect(HEADER.match(line), no, line, "header line")
    for want in ("#", "# Using devices"):
        no, line = next_line()
        expect(line == want, no, line, f"expected {want!r}")
    for r in range(n):
        no, line = next_line()
        m = RANK_LINE.match(line)
        expect(m and int(m.group(1)) == r, no, line, f"rank line for rank {r}")
    no, line = next_line()
    expect(line == "#", no, line, "expected '#'")
    for title in TITLES:
        no, line = next_line()
        expect(title.match(line), no, line, "column titles")
    seen = 0
    while True:
        no, line = next_line()
        if line.startswith("#"):
            break
        f = line.split()
        expect(len(f) == 13, no, line, "a row has 13 columns")
        expect(f[0].isdigit() and f[1].isdigit(), no, line, "size and count are integers")
        expect(f[2] in TYPES, no, line, "type")
        expect(f[3] in (OPS if tool in REDUCING else {"none"}), no, line, "redop")
        expect(int(f[4]) == (root if tool in ROOTED else -1), no, line, "root")
        check_placement(f[5:9], tool, n, int(f[0]), no, line, True)
        check_placement(f[9:13], tool, n, int(f[0]), no, line, tool not in IN_PLACE_UNCHECKED)
        seen += 1
    expect(seen == rows, no, line, f"{rows} rows expected, {seen} seen")
    for k, pattern in enumerate(FOOTER):
        if k:
            no, line = next_line()
        if pattern is None:
            expect(line == f"# Collective test concluded: {tool}", no, line, "conclusion line")
        else:
            expect(pattern.match(line), no, line, "footer")
    expect(lines[-5].endswith("0 OK"), no, lines[-5], "out of bounds values must be 0 OK")
    rest = list(it)
    expect(not rest, rest[0][0] if rest else no, rest[0][1] if rest else "", "nothing after the footer")


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in BUS_FACTOR:
        print(__doc__, file=sys.stderr)
        return 2
    tool, n, rows, root = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    lines = sys.stdin.read().splitlines()
    try:
        check(lines, tool, n, rows, root)
    except FormatError as e:
        print(f"{tool}: not nccl-tests format: {e}", file=sys.stderr)
        return 1
    print(f"{tool}: {rows} rows in nccl-tests format, #wrong 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
