#!/usr/bin/env python3
"""Benchmark (not a test): time from process start to the first painted frame of
``python -m wsltui --demo`` in a real terminal (tmux).

The app writes ``time.time()`` and its CPU seconds (``time.process_time()``) to
``$WSLTUI_FIRST_PAINT_FILE`` when Textual reports the first frame displayed (the ``Ready``
event); this script notes the time just before it starts the process and reports the median
over several runs. Also reports the time until the demo's data is painted (polls the screen for
"Blockers"). The CPU seconds matter on a shared machine: other processes stretch the wall time
but hardly the CPU time the app itself needs.

    python bench/bench_startup.py [--runs 7] [--floor] [--profile FILE]

``--floor`` also times a minimal Textual app (a tab bar, a line of text and a footer) the same
way: no Textual app starts faster here, so it is the floor for the figures above it.
``--profile FILE`` runs wsltui once under cProfile until its first frame and writes the
profile to FILE (read it with ``python -m pstats FILE``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A minimal Textual app that reports its first frame like wsltui does (the --floor figure).
FLOOR_APP = """
import os, time
from textual.app import App
from textual.widgets import Footer, Static, TabbedContent, TabPane

class Floor(App):
    BINDINGS = [("q", "quit", "Quit")]
    def compose(self):
        yield Static("floor")
        with TabbedContent():
            for i in range(8):
                with TabPane(f"{i} tab"):
                    yield Static("loading")
        yield Footer()
    def on_ready(self):
        with open(os.environ["WSLTUI_FIRST_PAINT_FILE"], "w") as f:
            f.write(f"{time.time():.6f} {time.process_time():.6f}\\n")

Floor().run()
"""

# wsltui under cProfile, stopped at its first frame (the --profile run).
PROFILE_APP = """
import cProfile, os, sys
profile = cProfile.Profile()
profile.enable()
from wsltui.tui import app as tui_app

first_frame = tui_app.WslTuiApp.on_ready

def on_ready(self):
    profile.disable()
    profile.dump_stats(os.environ["PROFILE_OUT"])
    first_frame(self)
    self.exit()

tui_app.WslTuiApp.on_ready = on_ready
from wsltui.cli import main
sys.exit(main(["--demo"]))
"""


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True).stdout


def one_run(
    argv: list[str], wait_for: str | None = "Blockers", env: dict[str, str] | None = None
) -> tuple[float, float, float]:
    """(first frame, CPU seconds at the first frame, data on screen) of one start of ``argv``."""
    session = f"wsltui-bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        mark = Path(tmp) / "first-paint"
        variables = {"WSLTUI_FIRST_PAINT_FILE": str(mark), "PYTHONPATH": str(ROOT), **(env or {})}
        env_cmd = " ".join(f"{k}={shlex.quote(v)}" for k, v in variables.items())
        command = f"{env_cmd} exec {shlex.join(argv)}"
        tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "36", "sleep 60")
        try:
            # The shell is already running: the clock starts when the python process is exec'd.
            start = time.time()
            tmux("respawn-pane", "-k", "-t", session, command)
            data = None if wait_for else float("nan")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if data is None and wait_for in tmux("capture-pane", "-p", "-t", session):
                    data = time.time() - start
                if data is not None and mark.exists() and len(mark.read_text().split()) == 2:
                    break
                time.sleep(0.005)
            if not mark.exists():
                raise RuntimeError(
                    "no first frame within 60 s; the screen was:\n" + tmux("capture-pane", "-p", "-t", session)
                )
            wall, cpu = (float(x) for x in mark.read_text().split())
            return wall - start, cpu, data if data is not None else float("nan")
        finally:
            tmux("kill-session", "-t", session)


def series(name: str, argv: list[str], runs: int, wait_for: str | None) -> None:
    one_run(argv, wait_for)  # warm the page cache
    firsts, cpus, datas = [], [], []
    for i in range(runs):
        first, cpu, data = one_run(argv, wait_for)
        firsts.append(first)
        cpus.append(cpu)
        datas.append(data)
        shown = f", demo data on screen {data * 1000:.0f} ms" if wait_for else ""
        print(f"{name} run {i + 1}: first frame {first * 1000:.0f} ms (CPU {cpu * 1000:.0f} ms){shown}")
    ms = lambda xs: f"{statistics.median(xs) * 1000:.0f}"  # noqa: E731
    print(
        f"{name}: median first frame: {ms(firsts)} ms (min {min(firsts) * 1000:.0f}, max {max(firsts) * 1000:.0f}); "
        f"median CPU to first frame: {ms(cpus)} ms"
        + (f"; median data on screen: {ms(datas)} ms" if wait_for else "")
        + f"; load average {os.getloadavg()[0]:.1f}"
    )


def profile(out: str) -> None:
    session = f"wsltui-profile-{uuid.uuid4().hex[:8]}"
    target = Path(out).resolve()
    target.unlink(missing_ok=True)
    script = target.with_suffix(".profile-app.py")  # a file: tmux mangles a multi-line `python -c`
    script.write_text(PROFILE_APP, encoding="utf-8")
    command = (
        f"PYTHONPATH={shlex.quote(str(ROOT))} PROFILE_OUT={shlex.quote(str(target))} "
        f"exec {shlex.join([sys.executable, str(script)])}"
    )
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "36", "sleep 60")
    try:
        tmux("respawn-pane", "-k", "-t", session, command)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not target.exists():
            time.sleep(0.05)
        time.sleep(0.5)  # dump_stats has finished writing
    finally:
        tmux("kill-session", "-t", session)
        script.unlink(missing_ok=True)
    print(f"profile up to the first frame: {target}  (python -m pstats {target})")


def main() -> int:
    p = argparse.ArgumentParser(description="time to first painted frame of `wsltui --demo`")
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--floor", action="store_true", help="also time a minimal Textual app (the floor)")
    p.add_argument("--profile", metavar="FILE", help="write a cProfile of one start up to its first frame")
    args = p.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is needed", file=sys.stderr)
        return 2
    if args.profile:
        profile(args.profile)
        return 0
    series("wsltui", [sys.executable, "-m", "wsltui", "--demo"], args.runs, "Blockers")
    if args.floor:
        # From a file: tmux does not pass a multi-line `python -c` through respawn-pane.
        with tempfile.TemporaryDirectory() as tmp:
            floor = Path(tmp) / "floor.py"
            floor.write_text(FLOOR_APP, encoding="utf-8")
            series("floor", [sys.executable, str(floor)], args.runs, None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
