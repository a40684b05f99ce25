"""Copy that works: ``c`` copies the selected command alone, as one line, to the Windows
clipboard through clip.exe (a stand-in here), else through the terminal (OSC 52); the plan
dialog names its action. Demo data only."""

from __future__ import annotations

import pytest

from wsltui.probes import interop
from wsltui.tui.changes import PlanScreen, PlanText
from wsltui.tui.panels.flow import HopBox

from tests.actions.test_actions_windows import windows  # noqa: F401  (the stand-in Windows tools, clip.exe among them)
from tests.tui.helpers import WINDOWS, demo_app, run, settle

STALE = WINDOWS  # its first blocker's fix is two commands: delete the stale entry, add the right one


async def _open_flow_on_the_blocker(app, pilot) -> HopBox:
    app.open_flow("windows-localhost-v4", 8080, "tcp")
    await settle(pilot)
    box = app.focused
    assert isinstance(box, HopBox) and box.has_class("-first")
    fix = box.hop.fixes[0]
    assert len(fix.commands) == 2 and box.commands == [*fix.commands, *fix.undo]  # each one selectable
    return box


async def _wait(pilot, done) -> None:
    for _ in range(250):
        if done():
            return
        await pilot.pause(0.02)
    raise AssertionError("the copy never finished")


def test_c_copies_the_selected_fix_command_alone_through_clip_exe(windows):  # noqa: F811
    async def body(app, pilot):
        box = await _open_flow_on_the_blocker(app, pilot)
        await pilot.press("j", "j")  # the hop, then its first command, then its second
        assert box.selected_command() == box.commands[1]
        await pilot.press("c")
        # clip.exe has exited when the app says so (the file exists, empty, while it writes)
        await _wait(pilot, lambda: any(n.title == "Copy" for n in app._notifications))
        copied = windows.clip.read_bytes().decode("utf-16")  # (UTF-16 with a BOM, as clip.exe wants it)
        assert copied == box.commands[1] and "\n" not in copied
        assert box.commands[1].startswith("netsh interface portproxy add v4tov4")

    run(demo_app(STALE), body, size=(120, 30))


@pytest.mark.skipif(interop.detect().available, reason="Windows interop is here: clip.exe takes the copy")
def test_without_clip_exe_c_copies_through_the_terminal():
    async def body(app, pilot):
        box = await _open_flow_on_the_blocker(app, pilot)
        await pilot.press("c")  # on the hop itself: its first command, selected so that it is seen
        await _wait(pilot, lambda: app.clipboard)
        assert box.selected_command() == box.commands[0]
        assert app.clipboard == box.commands[0] and "\n" not in app.clipboard
        assert len(box.commands[0]) > 60  # longer than fits beside the hop's prefix at 80 columns: wrapped on screen

    run(demo_app(STALE), body, size=(80, 24))


@pytest.mark.skipif(interop.detect().available, reason="Windows interop is here: clip.exe takes the copy")
def test_the_plan_dialog_names_its_action_and_copies_one_selected_command():
    async def body(app, pilot):
        box = await _open_flow_on_the_blocker(app, pilot)
        await pilot.press("f")
        await _wait(pilot, lambda: isinstance(app.screen, PlanScreen))
        await pilot.pause()
        screen = app.screen
        assert str(screen.query_one("#plan-title").render()).startswith("Change plan: fix portproxy")
        text = screen.query_one(PlanText)
        assert text.commands[:2] == box.commands[:2]  # the plan's commands first
        await pilot.press("j", "j")
        await pilot.press("c")
        await _wait(pilot, lambda: app.clipboard)
        assert app.clipboard == box.commands[1]

    run(demo_app(STALE), body, size=(120, 30))
