"""Can this WSL distro start Windows programs, how to start them cheaply, and how to read what
they print.

Interop needs the WSLInterop binfmt entry and a way to reach init (WSL_INTEROP or /run/WSL);
with ``appendWindowsPath=false`` the tools are not on PATH, so we also look in System32.
A Windows program started from a Linux working directory can take seconds; from /mnt/c it
takes about 0.1 s, so every interop call runs with its cwd on the Windows drive.

The console code page. reg.exe, netsh.exe and cmd.exe write the console's OEM code page (437,
850, 936 …; docs/windows-firewall.md §3.5), and nothing in their output says which. The
PowerShell batch, which runs at the same time, reports it (``oemCodePage``: its console's output
code page, read before it switches itself to UTF-8), so no extra Windows process is started and
the records keep the command lines docs/design.md §2 fixes. Until the batch has answered, the other
interop records are decoded as UTF-8 with every other byte kept (``UNDECIDED``); ``settle`` then
decodes the kept bytes with the reported code page. ``WSLTUI_OEM_CODEPAGE`` overrides the
reported value; without either, the kept bytes become U+FFFD (numbers, addresses and keywords,
all the simulator reads, are ASCII in every code page).
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wsltui.snapshot import Record

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
        return Interop(
            False,
            "no Windows interop: the WSLInterop binfmt entry is missing (not WSL, or [interop] enabled=false)",
            None,
        )
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


# --- the console code page ------------------------------------------------------------------

UNDECIDED = "wsltui_undecided"  # a codec: UTF-8, with undecodable bytes kept as U+DC80..U+DCFF
_KEPT = re.compile("[\udc80-\udcff]")


def _undecided(name: str) -> codecs.CodecInfo | None:
    if name != UNDECIDED:
        return None
    return codecs.CodecInfo(
        name=UNDECIDED,
        encode=lambda text, errors="strict": codecs.utf_8_encode(text, "surrogateescape"),
        decode=lambda data, errors="strict": codecs.utf_8_decode(data, "surrogateescape", True),
    )


codecs.register(_undecided)


def batch_value(record: Record | None, key: str) -> Any:
    """One top-level value of the PowerShell batch's JSON (None when it did not run or say)."""
    if record is None or not record.ok:
        return None
    text = record.stdout.strip()
    start = text.find("{")
    try:
        data = json.loads(text[start:]) if start >= 0 else None
    except ValueError:
        return None
    return data.get(key) if isinstance(data, dict) else None


def codec_name(code_page: Any) -> str | None:
    """A Windows code page (936, "850", "cp437", 65001) -> a Python codec name, or None."""
    raw = str(code_page if code_page is not None else "").strip().lower()
    if not raw or raw in ("0", "true", "false"):
        return None
    name = "utf-8" if raw == "65001" else f"cp{raw}" if raw.isdigit() else raw
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    return name


def oem_codec(batch: Record | None, environ: dict[str, str] | None = None) -> str | None:
    """The codec for reg/netsh/cmd output: WSLTUI_OEM_CODEPAGE when set, else the batch's
    ``oemCodePage``; None when neither says."""
    env = os.environ if environ is None else environ
    return codec_name(env.get("WSLTUI_OEM_CODEPAGE")) or codec_name(batch_value(batch, "oemCodePage"))


def settle(record: Record, codec: str | None) -> Record:
    """``record`` with the bytes ``UNDECIDED`` kept decoded by ``codec`` (U+FFFD without one)."""

    def text(t: str) -> str:
        if not _KEPT.search(t):
            return t
        raw = t.encode("utf-8", "surrogateescape")
        return raw.decode(codec or "utf-8", "replace")

    stdout, stderr = text(record.stdout), text(record.stderr)
    if stdout is record.stdout and stderr is record.stderr:
        return record
    return dataclasses.replace(record, stdout=stdout, stderr=stderr)
