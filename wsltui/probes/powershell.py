"""PowerShell as wsltui runs it: a script goes in as ``-EncodedCommand`` (base64 of UTF-16LE), so
no value in it ever meets a shell or a quoting rule on the way."""

from __future__ import annotations

import base64
from importlib import resources

from wsltui.records import Probe


def encode_powershell(script: str) -> str:
    """``-EncodedCommand`` takes base64 of the UTF-16LE script (no quoting problems, no shell)."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def windows_script() -> str:
    """The batch that reads the Windows side in one process (wsltui/probes/windows.ps1)."""
    return resources.files("wsltui.probes").joinpath("windows.ps1").read_text(encoding="utf-8")


def argv_for(probe: Probe) -> tuple[str, ...]:
    """The argv actually run: the PowerShell batch is sent as ``-EncodedCommand <base64>``."""
    if probe.name == "win.powershell":
        return (*probe.argv[:-1], encode_powershell(windows_script()))
    return probe.argv
