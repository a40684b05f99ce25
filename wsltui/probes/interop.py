"""Can this WSL distro start Windows programs, and how to start them cheaply.

Interop needs the WSLInterop binfmt entry and a way to reach init (WSL_INTEROP or /run/WSL);
with ``appendWindowsPath=false`` the tools are not on PATH, so we also look in System32.
A Windows program started from a Linux working directory can take seconds; from /mnt/c it
takes about 0.1 s, so every interop call runs with its cwd on the Windows drive.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SYSTEM32_DIRS = (
    "/mnt/c/Windows/System32",
    "/mnt/c/Windows/System32/WindowsPowerShell/v1.0",
)
BINFMT_ENTRIES = ("/proc/sys/fs/binfmt_misc/WSLInterop", "/proc/sys/fs/binfmt_misc/WSLInterop-late")


@dataclass(frozen=True)
class Interop:
    available: bool
    reason: str  # why not, or how it was found
    cwd: str | None  # a directory on the Windows drive to run interop calls from


def detect(environ: dict[str, str] | None = None) -> Interop:
    env = os.environ if environ is None else environ
    # Tests (and people with an odd setup) can point at stand-in Windows tools.
    if env.get("WSLTUI_INTEROP") == "force":
        return Interop(True, "forced by WSLTUI_INTEROP=force", _windows_cwd())
    binfmt = next((p for p in BINFMT_ENTRIES if Path(p).exists()), None)
    if binfmt is None:
        return Interop(False, "no Windows interop: the WSLInterop binfmt entry is missing (not WSL, or [interop] enabled=false)", None)
    try:
        if Path(binfmt).read_text().splitlines()[0].strip() == "disabled":
            return Interop(False, f"no Windows interop: {binfmt} is disabled", None)
    except (OSError, IndexError):
        pass
    if not env.get("WSL_INTEROP") and not Path("/run/WSL").is_dir():
        return Interop(False, "no Windows interop: WSL_INTEROP is not set and /run/WSL is missing", None)
    return Interop(True, f"binfmt entry {binfmt}", _windows_cwd())


def _windows_cwd() -> str | None:
    for d in ("/mnt/c/Windows/System32", "/mnt/c"):
        if os.path.isdir(d):
            return d
    return None


def windows_to_wsl_path(win_path: str, automount_root: str = "/mnt/") -> str | None:
    r"""``C:\Users\me`` -> ``/mnt/c/Users/me`` (what ``wslpath -u`` does for drive paths)."""
    p = win_path.strip().strip('"')
    if len(p) < 2 or p[1] != ":" or not p[0].isalpha():
        return None
    rest = p[2:].replace("\\", "/").lstrip("/")
    root = automount_root if automount_root.endswith("/") else automount_root + "/"
    return f"{root}{p[0].lower()}/{rest}".rstrip("/")
