"""The real command in a real terminal: ``python -m wsltui --demo`` in tmux at Windows Terminal's
default size (120×30), keys in, screen out: a smoke test, and every panel's footer and last
column."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 120, 30  # Windows Terminal's default: the design size

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def _start(demo: str = "") -> str:
    session = f"wsltui-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    cmd = f"{sys.executable} -m wsltui --demo {demo}; echo WSLTUI-EXITED-$?; sleep 30"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", str(WIDTH), "-y", str(HEIGHT), "-c", str(ROOT), cmd],
        check=True,
        env=env,
    )
    return session


def _wait_for(session: str, text: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-p", "-t", session)
        if text in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")


def _wait_gone(session: str, text: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text not in _tmux("capture-pane", "-p", "-t", session):
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never went away")


def test_real_command_in_tmux():
    session = _start()
    try:
        screen = _wait_for(session, "Blockers")
        assert "demo nat-firewalld-reject" in screen
        _tmux("send-keys", "-t", session, "2")
        _wait_for(session, "first blocker")
        _wait_for(session, "firewall-cmd --zone=public")  # once Flow has scrolled to the blocker's fix
        _tmux("send-keys", "-t", session, "4")
        _wait_for(session, "enter: trace it in Flow")
        _tmux("send-keys", "-t", session, "?")
        _wait_for(session, "wsltui keys")
        _tmux("send-keys", "-t", session, "?")  # closes help (a bare Escape would wait for a sequence)
        _wait_gone(session, "wsltui keys")
        _tmux("send-keys", "-t", session, "q")
        _wait_for(session, "WSLTUI-EXITED-0")
    finally:
        _tmux("kill-session", "-t", session)


def _expected_footer(panel) -> list[str]:
    """What a panel's footer must show whole: its own keys, then ?, q and (where it searches) /."""
    from wsltui.tui.commands import CommandBox

    bindings = [b for b in panel.BINDINGS if b.show]
    if panel.KEY == "flow":  # the focused hop (the first blocker, with fix commands) adds c
        bindings += [b for b in CommandBox.BINDINGS if b.show]
    keys = [f"{b.key_display or b.key} {b.description}" for b in bindings]
    keys += ["? Help", "q Quit"] + (["/ Filter"] if panel.HAS_FILTER else [])
    return keys


# What may be drawn in the last column: borders, rules and scrollbars (box drawing and block
# elements), or nothing. A letter there bled in from something cut off.
def _allowed_in_last_column(ch: str) -> bool:
    return ch == " " or "\u2500" <= ch <= "\u259f"


def test_every_footer_fits_and_nothing_bleeds_into_the_last_column_at_120x30():
    from wsltui.tui.panels import PANELS

    palette = "▏^p palette"
    for panel in PANELS:  # every key a panel can show, all at once (a compact footer: one space between)
        keys = _expected_footer(panel)
        assert sum(len(k) + 1 for k in keys) <= WIDTH - len(palette), f"{panel.KEY}: {keys} do not fit"
    session = _start("nat-firewalld-reject")  # firewalld, netfilter and Windows rules to act on
    try:
        _wait_for(session, "Blockers")
        for number, panel in enumerate(PANELS, 1):
            _tmux("send-keys", "-t", session, str(number))
            # ufw is inactive in every demo: nothing to act on, so only the app's keys
            expected = _expected_footer(panel) if panel.KEY != "ufw" else ["? Help", "q Quit"]
            deadline = time.monotonic() + 30
            while True:
                lines = _tmux("capture-pane", "-p", "-t", session).split("\n")[:HEIGHT]
                footer = lines[-1]
                if (
                    all(k in footer for k in expected)
                    and "loading" not in "".join(lines)
                    or time.monotonic() > deadline
                ):
                    break
                time.sleep(0.2)
            missing = [k for k in expected if k not in footer]
            assert not missing, f"{panel.KEY}: the footer lost {missing}:\n" + "\n".join(lines)
            assert footer.ljust(WIDTH).endswith(palette), f"{panel.KEY}: the footer's end is cut or bleeds:\n{footer}"
            for row, line in enumerate(lines):
                last = line.ljust(WIDTH)[WIDTH - 1]
                assert row == HEIGHT - 1 or _allowed_in_last_column(last), (
                    f"{panel.KEY}: {last!r} in the last column of row {row}:\n" + "\n".join(lines)
                )
        _tmux("send-keys", "-t", session, "q")
        _wait_for(session, "WSLTUI-EXITED-0")
    finally:
        _tmux("kill-session", "-t", session)
