#!/usr/bin/env python3
"""Benchmark (not a test): the Flow panel under a held key. 30 ``s`` key events are queued at
once (a key held down on a loaded machine delivers them faster than they are handled); reports
the time until the app is settled again and how many times Flow drew its hops.

    python bench/bench_flow_keys.py [--runs 5] [--keys 30] [--demo nat-firewalld-reject]

Headless (Textual's ``run_test``) at 120×30, the demo's data only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events  # noqa: E402

from wsltui.tui.app import demo_source, make_app  # noqa: E402
from wsltui.tui.panels.flow import FlowPanel  # noqa: E402
from wsltui.tui.report import wait_until_ready  # noqa: E402


async def settled(pilot) -> None:
    await wait_until_ready(pilot)
    while not pilot.app.settled:
        await pilot.pause(0.01)


async def one_run(demo: str, keys: int) -> tuple[float, float, int]:
    app = make_app(demo_source(demo), demo=demo)
    draws = 0
    original = FlowPanel.draw

    def counting(self, *a, **kw):
        nonlocal draws
        hops_before = self.trace
        original(self, *a, **kw)
        if self.trace is not hops_before:
            draws += 1

    FlowPanel.draw = counting
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_until_ready(pilot)
            app.action_panel("flow")
            await settled(pilot)
            draws = 0
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(keys):
                app.post_message(events.Key("s", "s"))
            await pilot.pause()
            await settled(pilot)
            return time.perf_counter() - wall, time.process_time() - cpu, draws
    finally:
        FlowPanel.draw = original


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keys", type=int, default=30)
    ap.add_argument("--demo", default="nat-firewalld-reject")
    args = ap.parse_args()
    results = [asyncio.run(one_run(args.demo, args.keys)) for _ in range(args.runs)]
    print(f"{args.keys} queued 's' keys, {args.runs} runs, load average {os.getloadavg()[0]:.1f}")
    print(
        f"  until settled: median {statistics.median(r[0] for r in results):.2f} s wall, "
        f"{statistics.median(r[1] for r in results):.2f} s CPU; hop draws: {sorted(r[2] for r in results)}"
    )


if __name__ == "__main__":
    main()
