#!/usr/bin/env python3
"""Benchmark (not a test): what the one probe runner costs per command, and a whole snapshot.

    python bench/bench_runner.py [--runs 30]

For each command, the median wall time of ``runner.run`` (sh, timeout timer, decoding) beside a
bare ``subprocess.run`` of the same argv, and their ratio; then the median wall time of one
``capture()`` of every record this machine has (``wsltui snapshot`` without the JSON writing),
where the probes run concurrently. Run it as root to include the root-only probes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wsltui.probes.capture import capture  # noqa: E402
from wsltui.probes.runner import Job, run  # noqa: E402

COMMANDS = [["true"], ["ip", "-j", "addr"], ["ss", "-Hlntup"], ["iptables-nft-save"], ["nft", "-j", "list", "ruleset"]]


def median_ms(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {args.runs} runs each; medians")
    print(f"{'command':32s} | runner (ms) | subprocess (ms) | ratio")
    for argv in COMMANDS:
        if shutil.which(argv[0]) is None:
            print(f"{' '.join(argv):32s} | not installed")
            continue
        ours = median_ms(lambda argv=argv: run(Job("bench", tuple(argv), 10, as_root=True)), args.runs)
        bare = median_ms(lambda argv=argv: subprocess.run(argv, capture_output=True), args.runs)
        print(f"{' '.join(argv):32s} | {ours:11.1f} | {bare:15.1f} | {ours / bare:4.1f}x")
    snap = median_ms(capture, max(3, args.runs // 5))
    print(f"one snapshot (every record, concurrently): {snap:.0f} ms (median of {max(3, args.runs // 5)})")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
