"""`wsltui terminal-profile`: a Windows Terminal fragment that starts wsltui in this distro,
written where Windows Terminal looks (%LOCALAPPDATA% asked from the stand-in cmd.exe, reached
through a temp dir standing for /mnt/c), removed with --remove, never written through a link."""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest

from clirun import plain_env, run  # noqa: F401 (fixture)
from tests.actions.test_actions_windows import windows  # noqa: F401 (the stand-in Windows fixture)

FRAGMENT = (
    "Users",
    "tester",
    "AppData",
    "Local",
    "Microsoft",
    "Windows Terminal",
    "Fragments",
    "wsltui",
    "wsltui.json",
)


@pytest.fixture
def distro(monkeypatch):
    monkeypatch.setenv("WSL_DISTRO_NAME", "Ubuntu-24.04")
    return "Ubuntu-24.04"


def test_writes_the_fragment_that_starts_wsltui_in_this_distro_and_removes_it(windows, distro, capsys):
    (windows.c / "Users" / "tester" / "AppData" / "Local").mkdir(parents=True, exist_ok=True)
    code, out, err = run(capsys, "terminal-profile")
    assert code == 0, err
    path = windows.c.joinpath(*FRAGMENT)
    assert str(path) in err
    (profile,) = json.loads(path.read_text(encoding="utf-8"))["profiles"]
    assert profile["name"] == "wsltui (Ubuntu-24.04)"
    words = profile["commandline"].split(" ")
    assert words[:4] == ["wsl.exe", "-d", "Ubuntu-24.04", "--"] and os.path.isabs(words[4])
    script = shutil.which("wsltui")
    assert words[4:] == ([os.path.abspath(script)] if script else [os.path.abspath(sys.executable), "-m", "wsltui"])
    assert [l["argv"] for l in windows.launches("cmd.exe")] == [["/d", "/c", "echo %LOCALAPPDATA%"]]
    # Again: replaced in place, one file.
    assert run(capsys, "terminal-profile")[0] == 0 and len(list(path.parent.iterdir())) == 1
    code, _, err = run(capsys, "terminal-profile", "--remove")
    assert code == 0 and not path.exists() and not path.parent.exists() and "removed" in err
    code, _, err = run(capsys, "terminal-profile", "--remove")
    assert code == 0 and "no wsltui profile fragment" in err


def test_print_only_prints(windows, distro, capsys):
    code, out, _ = run(capsys, "terminal-profile", "--print")
    assert code == 0 and json.loads(out)["profiles"][0]["commandline"].startswith("wsl.exe -d Ubuntu-24.04 -- /")
    assert (
        not windows.launches("cmd.exe")
        and not (windows.c / "Users" / "tester" / "AppData" / "Local" / "Microsoft").exists()
    )


@pytest.mark.parametrize("name", ["", "Ubuntu 24.04", "a&calc", 'x"y', "-d", "ü"])
def test_a_distro_name_that_is_not_plain_is_refused(windows, monkeypatch, capsys, name):
    monkeypatch.setenv("WSL_DISTRO_NAME", name)
    code, out, err = run(capsys, "terminal-profile", "--print")
    assert code == 2 and not out and ("WSL_DISTRO_NAME" in err or "distro name" in err)


def test_never_writes_through_a_planted_link(windows, distro, capsys, tmp_path):
    local = windows.c / "Users" / "tester" / "AppData" / "Local"
    (local / "Microsoft" / "Windows Terminal").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (local / "Microsoft" / "Windows Terminal" / "Fragments").symlink_to(elsewhere)
    code, _, err = run(capsys, "terminal-profile")
    assert code == 2 and "symbolic link" in err and not any(elsewhere.iterdir())
    (local / "Microsoft" / "Windows Terminal" / "Fragments").unlink()
    target = tmp_path / "victim.json"
    target.write_text("keep")
    (local / "Microsoft" / "Windows Terminal" / "Fragments" / "wsltui").mkdir(parents=True)
    (local / "Microsoft" / "Windows Terminal" / "Fragments" / "wsltui" / "wsltui.json").symlink_to(target)
    assert run(capsys, "terminal-profile")[0] == 2
    assert run(capsys, "terminal-profile", "--remove")[0] == 2
    assert target.read_text() == "keep"


def test_without_interop_it_says_why(monkeypatch, distro, capsys):
    from wsltui.probes import interop

    monkeypatch.delenv("WSLTUI_INTEROP", raising=False)
    monkeypatch.setattr(interop, "BINFMT_ENTRIES", ())
    code, _, err = run(capsys, "terminal-profile")
    assert code == 2 and "no Windows interop" in err
