#!/usr/bin/env python3
"""Benchmark (not a test): time from process start to the first painted frame of
``python -m wsltui --demo`` in a real terminal (tmux).

The app writes ``time.time()`` to ``$WSLTUI_FIRST_PAINT_FILE`` when Textual reports the first
frame displayed (the ``Ready`` event); this script notes the time just before it starts the
process and reports the median over several runs. Also reports the time until the demo's data
is painted (polls the screen for "Blockers").

    python bench/bench_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True).stdout


def one_run() -> tuple[float, float]:
    session = f"wsltui-bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        mark = Path(tmp) / "first-paint"
        env_cmd = (f"WSLTUI_FIRST_PAINT_FILE={mark} PYTHONPATH={ROOT} exec {sys.executable} -m wsltui --demo")
        tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "36", "sleep 60")
        try:
            # The shell is already running: the clock starts when the python process is exec'd.
            start = time.time()
            tmux("respawn-pane", "-k", "-t", session, env_cmd)
            data = None
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if data is None and "Blockers" in tmux("capture-pane", "-p", "-t", session):
                    data = time.time() - start
                if data is not None and mark.exists() and mark.read_text().strip():
                    break
                time.sleep(0.005)
            first = float(mark.read_text()) - start
            return first, data if data is not None else float("nan")
        finally:
            tmux("kill-session", "-t", session)


def main() -> int:
    p = argparse.ArgumentParser(description="time to first painted frame of `wsltui --demo`")
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is needed", file=sys.stderr)
        return 2
    one_run()  # warm the page cache
    firsts, datas = [], []
    for i in range(args.runs):
        first, data = one_run()
        firsts.append(first)
        datas.append(data)
        print(f"run {i + 1}: first frame {first * 1000:.0f} ms, demo data on screen {data * 1000:.0f} ms")
    print(f"median first frame: {statistics.median(firsts) * 1000:.0f} ms "
          f"(min {min(firsts) * 1000:.0f}, max {max(firsts) * 1000:.0f}); "
          f"median data on screen: {statistics.median(datas) * 1000:.0f} ms; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
