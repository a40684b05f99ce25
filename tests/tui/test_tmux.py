"""Smoke test of the real command: ``python -m wsltui --demo`` in tmux, keys in, screen out."""

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

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


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
    session = f"wsltui-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    cmd = f"{sys.executable} -m wsltui --demo; echo WSLTUI-EXITED-$?; sleep 30"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "36", "-c", str(ROOT), cmd],
                   check=True, env=env)
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
