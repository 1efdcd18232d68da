#!/usr/bin/env python3
"""Median latency of `codeintel search` over 50 realistic queries beside `rg` on the same files.

rg gets each query as the alternation of its words (`-i -e w1 -e w2`), the nearest plain-grep
equivalent of "chunks holding any of the terms"; both print JSON and results are discarded.
Usage: search_latency.py CODEINTEL CORPUS [--no-rg] [--p99]   (--no-rg: codeintel alone, for
comparing builds; --p99: also the 99th percentile of every single run, codeintel alone). Each
command runs once untimed before its five timed runs (see `median_ms`).
"""
import statistics, subprocess, sys, time

QUERIES = [
    "parse config", "read_to_string", "HashMap", "json decoder", "socket timeout", "retry backoff",
    "thread pool", "mutex lock", "unicode normalize", "base64 encode", "http request header",
    "parse arguments", "file not found", "serialize struct", "deserialize", "tokenize", "iterator next",
    "error handling", "async await", "temp directory", "regex compile", "hash function", "random seed",
    "date time format", "email message", "csv reader", "xml parser", "sqlite connect", "logging handler",
    "unit test", "command line", "environment variable", "read file lines", "write buffer", "utf8 decode",
    "binary search", "sort by key", "linked list", "queue push", "signal handler", "process spawn",
    "path join", "url parse", "cookie", "certificate", "compress zlib", "checksum", "memory allocator",
    "lexer token", "abstract syntax tree",
]


SAMPLES = []
FIRST = []


def run_ms(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t) * 1000


def median_ms(cmd, runs=5):
    # One run first, kept apart: this machine kind's host pages out memory untouched for about
    # a minute (DAMON), page cache included, so the first run of a query may read the index
    # from disk; the timed runs measure the warm page cache the results are reported for.
    FIRST.append(run_ms(cmd))
    times = [run_ms(cmd) for _ in range(runs)]
    SAMPLES.extend(times)
    return statistics.median(times)


def main():
    codeintel, corpus = sys.argv[1], sys.argv[2]
    p99 = "--p99" in sys.argv[3:]
    with_rg = "--no-rg" not in sys.argv[3:] and not p99
    excludes = [a for e in ["node_modules", ".git", "__pycache__", "venv", "env", "build", "dist",
                            "target", ".pytest_cache", ".tox"] for a in ("-g", f"!{e}")]
    ci, rg = [], []
    for q in QUERIES:
        ci.append(median_ms([codeintel, "search", "--json", "--limit", "10", q]))
        if not with_rg:
            continue
        words = [a for w in q.split() for a in ("-e", w)]
        rg.append(median_ms(["rg", "--json", "-i", "--no-ignore", *excludes, *words, corpus]))
    if p99:
        print(f"cli search median {statistics.median(ci):.1f} ms, p99 "
              f"{statistics.quantiles(SAMPLES, n=100)[-1]:.1f} ms over {len(SAMPLES)} runs "
              f"(first run of each query, not counted: median {statistics.median(FIRST):.1f} ms, "
              f"max {max(FIRST):.1f} ms)")
        return
    if not with_rg:
        print(f"cli search median {statistics.median(ci):.1f} ms (p90 "
              f"{statistics.quantiles(ci, n=10)[-1]:.1f} ms) over {len(QUERIES)} queries")
        return
    c, r = statistics.median(ci), statistics.median(rg)
    print(f"search median over {len(QUERIES)} queries: codeintel {c:.1f} ms (p90 "
          f"{statistics.quantiles(ci, n=10)[-1]:.1f} ms), rg {r:.0f} ms, rg/codeintel {r/c:.1f}x "
          f"(targets: >= 20x, < 20 ms)")


if __name__ == "__main__":
    main()
