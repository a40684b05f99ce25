"""Shared by the TUI tests: apps over demo data or hand-made snapshots (never the live system)."""

from __future__ import annotations

import asyncio
import threading

from wsltui.snapshot import Record, Snapshot
from wsltui.tui.app import demo_source, make_app
from wsltui.tui.report import wait_until_ready

BLOCKED = "nat-firewalld-reject"
HEALTHY = "nat-healthy"
WINDOWS = "lan-stale-portproxy"  # the demo whose Windows side has the most to show
SIZE = (120, 36)


def demo_app(name: str = BLOCKED, **kw):
    return make_app(demo_source(name), demo=name, **kw)


def unknown_app():
    """A snapshot where nothing could be captured: every fact is unknown."""
    snap = Snapshot(meta={"note": "nothing captured"})
    snap.add(
        Record(
            "net.sockets",
            ("ss", "-H", "-l", "-n", "-t", "-u", "-p", "-e"),
            "",
            exit_code=None,
            error="ss: command not found",
        )
    )
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
    """Wait until the app is settled (sources in, the panel on screen — mounted when first shown —
    drawn with the latest analysis), and its Select widgets show their values."""
    await wait_until_ready(pilot)
    app = pilot.app
    for _ in range(250):  # up to 5 s: refreshes need time to pass, not only messages
        panel = app.panel(app.active_key)
        if panel is not None and _selects_drawn(panel) and _focus_placed(app, panel):
            return
        await pilot.pause(0.02)


async def until(pilot, condition, what: str, seconds: float = 15.0):
    """``condition()``'s first truthy value, polled; fails the test after ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        value = condition()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _focus_placed(app, panel) -> bool:
    """A panel focuses its main widget a refresh after it has drawn (a snapshot taken before
    shows an unfocused border); the Flow panel focuses (and scrolls to) its first blocker after
    the layout, a refresh later."""
    from textual.css.query import NoMatches

    try:
        main = panel.main_widget()
    except NoMatches:  # its children are still mounting
        return False
    if (
        main is not None
        and main.display
        and main.focusable
        and (app.focused is None or panel not in app.focused.ancestors_with_self)
    ):
        return False
    if app.active_key != "flow" or getattr(panel, "trace", None) is None or panel.trace.first_blocker is None:
        return True
    box = panel.main_widget()
    if app.focused is not box:
        return False
    hops = panel.query_one("#flow-hops")
    return abs(hops.scroll_y - min(box.virtual_region.y, hops.max_scroll_y)) <= 2  # scrolled to it, too


def _selects_drawn(panel) -> bool:
    """A Select shows its placeholder until its own mount handler ran (a race the CI lost once)."""
    from textual.widgets import Select
    from textual.widgets._select import SelectCurrent

    for select in panel.query(Select):
        if select.value is not Select.NULL and not select.query_one(SelectCurrent).has_value:
            return False
    return True


def with_many_rules(n: int, name: str = WINDOWS) -> Snapshot:
    """The demo with ``n`` extra Windows firewall rules in its PowerShell record: ports 20000+i,
    every third one a block rule, every fifth one bound to a program."""
    import json

    from wsltui import demos

    snap = demos.load(name)
    record = snap.records["win.powershell"]
    data = json.loads(record.stdout)
    for i in range(n):
        data["rules"].append(
            {
                "id": f"Generated-{i:05d}",
                "name": f"Generated rule {i:05d}",
                "enabled": 1,
                "dir": 1,
                "action": 4 if i % 3 == 0 else 2,
                "profile": 0,
                "proto": "TCP",
                "lport": str(20000 + i),
                "rport": "Any",
                "laddr": "Any",
                "raddr": "Any",
                "program": "C:\\apps\\app.exe" if i % 5 == 0 else "Any",
                "service": "Any",
                "ifAlias": "Any",
                "ifType": "Any",
                "src": "PersistentStore",
            }
        )
    snap.add(Record(record.name, record.argv, json.dumps(data), exit_code=record.exit_code))
    return snap
