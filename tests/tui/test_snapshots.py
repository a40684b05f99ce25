"""Snapshot tests (pytest-textual-snapshot): each panel on the blocked demo at the design size
(120×30, Windows Terminal's default) and at 80×24; Status and Flow on every demo; the blocked /
reachable / unknown / loading states of the status screen. Demo data only.
Update baselines with ``pytest tests/tui --snapshot-update`` after reviewing snapshot_report.html."""

from __future__ import annotations

import pytest

from wsltui.tui.app import PANELS, make_app, probing
from wsltui.tui.report import wait_until_ready

from wsltui import demos

from tests.tui.helpers import BLOCKED, HEALTHY, WINDOWS, Gate, demo_app, settle, unknown_app

DESIGN = (120, 30)  # Windows Terminal's default size
SMALL = (80, 24)


def _show(key: str):
    async def run_before(pilot) -> None:
        await wait_until_ready(pilot)
        pilot.app.action_panel(key)
        await settle(pilot)  # the panel mounts lazily: wait until it has drawn

    return run_before


@pytest.mark.parametrize("size", [DESIGN, SMALL], ids=["120x30", "80x24"])
@pytest.mark.parametrize("key", [p.KEY for p in PANELS])
def test_panel(snap_compare, key, size):
    assert snap_compare(demo_app(BLOCKED), terminal_size=size, run_before=_show(key))


@pytest.mark.parametrize("key", ["status", "flow"])
@pytest.mark.parametrize("demo", [d for d in demos.names() if d != BLOCKED])  # (BLOCKED: test_panel)
def test_status_and_flow_on_every_demo(snap_compare, demo, key):
    assert snap_compare(demo_app(demo), terminal_size=DESIGN, run_before=_show(key))


def test_status_blocked_100x30(snap_compare):
    assert snap_compare(demo_app(BLOCKED), terminal_size=(100, 30), run_before=_show("status"))


def test_status_reachable(snap_compare):
    assert snap_compare(demo_app(HEALTHY), terminal_size=(100, 30), run_before=_show("status"))


def test_status_unknown(snap_compare):
    assert snap_compare(unknown_app(), terminal_size=(100, 30), run_before=_show("status"))


def test_flow_reachable(snap_compare):
    async def run_before(pilot) -> None:
        await wait_until_ready(pilot)
        pilot.app.open_flow("windows-to-wsl-ip", 8080, "tcp")
        await settle(pilot)

    assert snap_compare(demo_app(HEALTHY), terminal_size=DESIGN, run_before=run_before)


def test_loading(snap_compare):
    gate = Gate()

    async def run_before(pilot) -> None:
        await pilot.pause()

    try:
        assert snap_compare(
            make_app({"linux": gate, "windows": Gate(HEALTHY)}), terminal_size=(100, 30), run_before=run_before
        )
    finally:
        gate.event.set()


def test_help(snap_compare):
    async def run_before(pilot) -> None:
        await wait_until_ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(demo_app(BLOCKED), terminal_size=DESIGN, run_before=run_before)


def test_windows_80x24_only_the_flow_port(snap_compare):
    async def run_before(pilot) -> None:
        await _show("windows")(pilot)
        await pilot.press("m")
        await pilot.pause()

    assert snap_compare(demo_app(WINDOWS), terminal_size=(80, 24), run_before=run_before)


def test_sudo_dialog(snap_compare):
    from tests.tui.test_refresh import needing_root, split

    linux, _ = split()
    snap = needing_root(linux, "nf.nft")

    async def run_before(pilot) -> None:
        await wait_until_ready(pilot)
        await pilot.press("R")
        await pilot.pause()
        pilot.app.screen.query_one("#sudo-password").cursor_blink = False  # a blink would race the snapshot
        await pilot.pause()

    assert snap_compare(
        make_app({"linux": probing(lambda: snap, periodic=False)}), terminal_size=(100, 30), run_before=run_before
    )
