"""Shared by the TUI tests: apps over demo data or hand-made snapshots (never the live system)."""

from __future__ import annotations

import asyncio
import threading

from wsltui.snapshot import Record, Snapshot
from wsltui.tui.app import demo_source, make_app
from wsltui.tui.report import wait_until_ready

BLOCKED = "nat-firewalld-reject"
HEALTHY = "nat-healthy"
SIZE = (120, 36)


def demo_app(name: str = BLOCKED, **kw):
    return make_app(demo_source(name), demo=name, **kw)


def unknown_app():
    """A snapshot where nothing could be captured: every fact is unknown."""
    snap = Snapshot(meta={"note": "nothing captured"})
    snap.add(Record("net.sockets", ("ss", "-H", "-l", "-n", "-t", "-u", "-p", "-e"), "", exit_code=None,
                    error="ss: command not found"))
    return make_app(lambda: snap, label="empty")


class Gate:
    """A source that blocks until released (the loading state), then loads a demo."""

    def __init__(self, name: str = BLOCKED) -> None:
        self.event = threading.Event()
        self.name = name

    def __call__(self):
        self.event.wait(10)
        from wsltui import demos

        return demos.load(self.name)


def run(app, body, size=SIZE):
    """Run ``body(app, pilot)`` inside ``app.run_test`` (no pytest-asyncio needed)."""

    async def main():
        async with app.run_test(size=size) as pilot:
            await wait_until_ready(pilot)
            await body(app, pilot)

    asyncio.run(main())


async def settle(pilot) -> None:
    """Wait until the sources are in and the active panel — mounted lazily on first show —
    has drawn the latest analysis (a fixed number of pauses raced the lazy mount)."""
    await wait_until_ready(pilot)
    app = pilot.app
    for _ in range(250):  # up to 5 s: refreshes need time to pass, not only messages
        await pilot.pause(0.02)
        panel = app.panel(app.active_key)
        if panel is None:
            continue
        if app.analysis is not None and getattr(panel, "analysis", app.analysis) is not app.analysis:
            continue
        if app.active_key == "flow" and app.analysis is not None and app.analysis.rows and panel.trace is None:
            continue
        if not _selects_drawn(panel):
            continue
        return


def _selects_drawn(panel) -> bool:
    """A Select shows its placeholder until its own mount handler ran (a race the CI lost once)."""
    from textual.widgets import Select
    from textual.widgets._select import SelectCurrent

    for select in panel.query(Select):
        if select.value is not Select.NULL and not select.query_one(SelectCurrent).has_value:
            return False
    return True
