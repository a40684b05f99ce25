"""``wsltui terminal-profile``: a Windows Terminal profile that starts wsltui in this distro.

Windows Terminal reads JSON fragment extensions from
``%LOCALAPPDATA%\\Microsoft\\Windows Terminal\\Fragments\\<app>\\<file>.json`` and adds the profiles
they define (learn.microsoft.com/windows/terminal/json-fragment-extensions). wsltui asks Windows
for %LOCALAPPDATA% through interop (cmd.exe, like the other Windows lookups), reaches it through
its ``/mnt/<drive>`` path, and writes ``Fragments\\wsltui\\wsltui.json`` there; ``--remove``
deletes it. Nothing is written through a link.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sys
from pathlib import Path

from wsltui import safe_files

FRAGMENT_DIRS = ("Microsoft", "Windows Terminal", "Fragments", "wsltui")  # under %LOCALAPPDATA%
FRAGMENT_FILE = "wsltui.json"
# A distro name as `wsl.exe --install --name` accepts it; anything else is refused (it goes into
# a command line Windows Terminal runs).
DISTRO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# A path the Linux shell behind `wsl.exe --` reads as one word, with no quoting on either side.
PLAIN_PATH = re.compile(r"/[A-Za-z0-9._+/-]*")


class ProfileError(Exception):
    """Why the profile cannot be written or removed (said to the person as it is)."""


def distro_name(environ=None) -> str:
    """This distro's name, from $WSL_DISTRO_NAME (set by WSL in every session)."""
    env = os.environ if environ is None else environ
    name = env.get("WSL_DISTRO_NAME", "")
    if not name:
        raise ProfileError("$WSL_DISTRO_NAME is not set: run this inside WSL (it names the distro to start)")
    if not DISTRO_NAME.fullmatch(name):
        raise ProfileError(f"the distro name {name!r} has characters wsltui does not put into a command line")
    return name


def wsltui_command() -> list[str]:
    """How to start this wsltui: its ``wsltui`` script on PATH, else this Python with ``-m wsltui``."""
    script = shutil.which("wsltui")
    argv = [os.path.abspath(script)] if script else [os.path.abspath(sys.executable), "-m", "wsltui"]
    for word in argv[:1]:
        if not PLAIN_PATH.fullmatch(word):
            raise ProfileError(
                f"{word!r} has characters that would need quoting in Windows Terminal's command "
                "line: install wsltui under a plain path"
            )
    return argv


def fragment(distro: str, command: list[str]) -> dict:
    """The fragment: one new profile (Windows Terminal makes its GUID from its name)."""
    return {
        "profiles": [{"name": f"wsltui ({distro})", "commandline": " ".join(["wsl.exe", "-d", distro, "--", *command])}]
    }


def fragment_text(distro: str, command: list[str]) -> str:
    return json.dumps(fragment(distro, command), indent=2) + "\n"


def fragment_dir(local_app_data: str) -> Path:
    """The fragment's directory under %LOCALAPPDATA% (as seen from WSL), created; OSError when a
    link is on the way (a planted link must not send the file elsewhere)."""
    here = Path(local_app_data)
    if not here.is_dir():
        raise ProfileError(f"%LOCALAPPDATA% ({local_app_data}) is not a directory here")
    for part in FRAGMENT_DIRS:
        here = here / part
        if here.is_symlink():
            raise OSError(errno.ELOOP, "is a symbolic link: wsltui does not write through links", str(here))
        here.mkdir(exist_ok=True)
    return here


def write(local_app_data: str, text: str) -> Path:
    return safe_files.replace(fragment_dir(local_app_data) / FRAGMENT_FILE, text, safe_files.SHARED)


def remove(local_app_data: str) -> Path | None:
    """Delete the fragment (and its directory when empty). Returns the path removed, None when
    there was none."""
    here = Path(local_app_data)
    for part in FRAGMENT_DIRS:
        here = here / part
        if here.is_symlink():
            raise OSError(errno.ELOOP, "is a symbolic link: wsltui does not remove through links", str(here))
    path = here / FRAGMENT_FILE
    safe_files.refuse_link(path)
    if not path.exists():
        return None
    path.unlink()
    try:
        here.rmdir()  # only wsltui's own directory, only when empty
    except OSError:
        pass
    return path


def local_app_data(runner=None) -> str:
    """%LOCALAPPDATA% as seen from WSL, asked from Windows through interop."""
    from wsltui.actions.windows import WindowsUnavailable, windows_dir

    try:
        return windows_dir("LOCALAPPDATA", *([runner] if runner else []))[1]
    except WindowsUnavailable as e:
        raise ProfileError(str(e)) from None
