#!/usr/bin/env python3
"""Benchmark: `/` in the Netfilter panel over a large ruleset, and `b` to the Flow blocker.

Not a test. Run from the repository root::

    python bench/bench_search.py [--rules 10000] [--repeat 5]

The nat-healthy demo with its ``nf.iptables-nft`` record replaced by bench_netfilter.py's
generated ruleset (``--rules`` rules, the last tenant chain rejecting tcp/8080, so the Flow packet
``windows-to-wsl-ip`` tcp/8080 has a blocker deep in the tree), shown by the app headless at
120x30. It reports the median wall time of:

- the first search: the labels of every node are read once (``TreeFinder``), then scanned;
- a search (a keystroke's work): the scan, and the cursor moved to the first match;
- next match (down in the search box);
- ``b``: the Flow packet's blocker found, its chain opened, the cursor put on it;
- a keystroke typed into the search box through Pilot, until the app is idle again (what a
  person waits for; includes Textual's own key handling and the repaint).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def snapshot(rules: int):
    from bench_netfilter import generate

    from wsltui import demos
    from wsltui.snapshot import Record

    snap = demos.load("nat-healthy")
    old = snap.records["nf.iptables-nft"]
    snap.add(Record(old.name, old.argv, generate(rules, verdict="reject").text))
    return snap


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


async def measure(rules: int, repeat: int) -> dict[str, float]:
    from wsltui.tui.app import make_app
    from wsltui.tui.report import wait_until_ready

    snap = snapshot(rules)
    app = make_app(lambda: snap, label="bench")
    out: dict[str, float] = {}
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until_ready(pilot)
        app.open_flow("windows-to-wsl-ip", 8080, "tcp")
        await wait_until_ready(pilot)
        await pilot.press("5")
        await wait_until_ready(pilot)
        panel = app.panel("netfilter")
        finder = panel.finder
        out["rules and chains in the tree"] = len(panel.nodes)
        start = time.perf_counter()
        finder.find("dport 8000:8099")
        out["first search (reads the labels)"] = time.perf_counter() - start
        out["matches"] = len(finder.matches)
        out["search (scan + cursor)"] = timed(lambda: finder.find("tcp-reset"), repeat)
        out["next match"] = timed(lambda: finder.step(1), repeat)
        out["b: jump to the Flow blocker"] = timed(panel.action_jump_blocker, repeat)
        blocker = panel.main_widget().cursor_node
        assert "◀ blocks Flow hop" in blocker.label.plain, blocker.label.plain
        await pilot.press("slash")
        keys = await typing(pilot, "tcp-rese")
        out["keystroke in the box, to idle (median of 8)"] = statistics.median(keys)
        out["keystroke in the box, to idle (worst of 8)"] = max(keys)
        await pilot.press("escape", "slash")
        finder.find = lambda text: None  # the floor: the same keys with no search behind them
        out["floor: keystroke with no search (median of 8)"] = statistics.median(await typing(pilot, "tcp-rese"))
    return out


async def typing(pilot, text: str) -> list[float]:
    keys = []
    for ch in text:
        start = time.perf_counter()
        await pilot.press(ch)
        await pilot.pause()
        keys.append(time.perf_counter() - start)
    return keys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    result = asyncio.run(measure(args.rules, args.repeat))
    print(f"Netfilter panel, {args.rules:,} iptables rules, 120x30 (median of {args.repeat} unless said)")
    for name, value in result.items():
        print(
            f"  {name:<48} {value:>10,.0f}"
            if isinstance(value, int) or name in ("matches", "rules and chains in the tree")
            else f"  {name:<48} {value * 1000:>8.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
