#!/usr/bin/env python3
"""One-shot CLI search of two or more codeintel binaries on the same index, interleaved.

Each round runs every query once per binary, the binaries in a rotating order, so a machine
whose speed drifts over minutes (this VM kind's does, by up to 2x) and pages the host evicts
weigh on every binary alike. One untimed round first. Prints each binary's median, p90 and p99
over all timed runs and its median against the first binary's.
Usage: CODEINTEL_DATA_DIR=DIR search_ab.py ROUNDS NAME=BINARY NAME=BINARY...
"""
import os, statistics, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from search_latency import QUERIES, run_ms  # noqa: E402


def main():
    if len(sys.argv) < 4 or "CODEINTEL_DATA_DIR" not in os.environ:
        sys.exit(__doc__.strip().splitlines()[-1])
    rounds = int(sys.argv[1])
    variants = [a.split("=", 1) for a in sys.argv[2:]]
    times = {name: [] for name, _ in variants}
    for r in range(rounds + 1):
        for i, query in enumerate(QUERIES):
            shift = (r + i) % len(variants)
            for name, binary in variants[shift:] + variants[:shift]:
                ms = run_ms([binary, "search", "--json", "--limit", "10", query])
                if r > 0:
                    times[name].append(ms)
    base = statistics.median(times[variants[0][0]])
    for name, _ in variants:
        ts = sorted(times[name])
        q = statistics.quantiles(ts, n=100)
        med = statistics.median(ts)
        print(f"{name}: median {med:.2f} ms, p90 {q[89]:.2f} ms, p99 {q[98]:.2f} ms over "
              f"{len(ts)} runs, {med / base:.2f}x of {variants[0][0]}")


if __name__ == "__main__":
    main()
