"""Capture a snapshot of the live system: every probe at once, none of them allowed to fail loudly."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Iterable
from datetime import datetime, timezone

from wsltui import __version__
from wsltui.probes import interop, libraries, live_records, netns_scan
from wsltui.probes.powershell import argv_for
from wsltui.records import ALL_PROBES, Probe
from wsltui.probes.runner import Job, decode, is_root, run, run_all
from wsltui.snapshot import Record, Snapshot


def capture(probes: Iterable[Probe] = ALL_PROBES) -> Snapshot:
    probes = tuple(probes)
    started = time.monotonic()
    links = interop.detect()
    snap = Snapshot(
        meta={
            "wsltui": __version__,
            "taken": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "host": platform.node(),
            "root": is_root(),
            "interop": links.reason,
        }
    )
    jobs: list[Job] = []
    for probe in probes:
        if probe.scans_netns:
            snap.add(
                netns_scan.read(probe.name, probe.argv)
                if is_root()
                else Record(probe.name, probe.argv, "", exit_code=None, error="needs root")
            )
            continue
        if probe.library:
            snap.add(libraries.read(probe))
            continue
        if probe.reads_file:
            record = _read_file(probe)
            if record is not None:
                snap.add(record)
                continue
        if probe.needs_interop and not links.available:
            snap.add(Record(probe.name, probe.argv, "", exit_code=None, error=links.reason))
            continue
        if probe.needs_system_bus:
            missing = _no_system_bus()
            if missing:
                snap.add(Record(probe.name, probe.argv, "", exit_code=None, error=missing))
                continue
        jobs.append(_job(probe, links))
    # At most 6 Windows launches: when the PowerShell batch runs it also tells %USERPROFILE%,
    # so .wslconfig needs cmd.exe only if PowerShell could not say.
    wslconfig = next((j for j in jobs if j.name == "wsl.wslconfig"), None)
    if wslconfig is not None and any(j.name == "win.powershell" for j in jobs):
        jobs.remove(wslconfig)
    records = run_all(jobs)
    # reg/netsh/cmd output is decoded once the PowerShell batch has told the code page (interop.py).
    codec = interop.oem_codec(next((r for r in records if r.name == "win.powershell"), None))
    for record in records:
        record = interop.settle(record, codec)
        if record.name == "wsl.wslconfig":
            record = _read_wslconfig(record)
        snap.add(record)
    if any(j.encoding == interop.UNDECIDED for j in jobs):
        snap.meta["oem_codepage"] = codec or "unknown"
    if wslconfig is not None and "wsl.wslconfig" not in snap.records:
        profile = _user_profile(snap.records.get("win.powershell"))
        if profile:
            where = Record("wsl.wslconfig", ("powershell.exe", "$env:USERPROFILE"), profile + "\n")
        else:
            where = interop.settle(run(wslconfig), codec)
        snap.add(_read_wslconfig(where))
    if probes == ALL_PROBES:  # a whole capture: with what `check --live` observed on this machine
        for record in live_records.load_all():
            snap.add(record)
    snap.meta["seconds"] = round(time.monotonic() - started, 3)
    return snap


NO_SYSTEM_BUS = "no system D-Bus"


def _no_system_bus() -> str | None:
    """Why there is no D-Bus system bus (so nothing on it, like firewalld, can be running)."""
    address = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "")
    for part in address.split(";"):
        if part.startswith("unix:") and "abstract=" in part:
            return None
        if part.startswith("unix:path="):
            path = part[len("unix:path=") :].split(",")[0]
            return None if os.path.exists(path) else f"{NO_SYSTEM_BUS}: {path} does not exist"
    for path in ("/run/dbus/system_bus_socket", "/var/run/dbus/system_bus_socket"):
        if os.path.exists(path):
            return None
    return f"{NO_SYSTEM_BUS}: /run/dbus/system_bus_socket does not exist"


def _job(probe: Probe, links: interop.Interop) -> Job:
    if probe.needs_interop:
        # reg.exe/netsh.exe/cmd.exe write the console's OEM code page, which the PowerShell
        # batch reports: their bytes are kept until then (interop.UNDECIDED, interop.settle).
        return Job(
            probe.name,
            argv_for(probe),
            probe.timeout,
            cwd=links.cwd,
            search_path=interop.SYSTEM32_DIRS,
            encoding=interop.UNDECIDED,
        )
    return Job(probe.name, probe.argv, probe.timeout, as_root=probe.needs_root)


def _user_profile(record: Record | None) -> str | None:
    """``userProfile`` from the PowerShell batch's JSON (None when it did not run or say)."""
    value = interop.batch_value(record, "userProfile")
    return value if isinstance(value, str) and value.strip() else None


def _read_file(probe: Probe) -> Record | None:
    """Read a file in-process with ``cat`` semantics. None means "run cat through sudo"."""
    path = probe.reads_file
    assert path is not None
    start = time.monotonic()
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return Record(probe.name, probe.argv, "", exit_code=1, stderr=f"cat: {path}: No such file or directory")
    except PermissionError:
        if probe.needs_root and not is_root():
            return None
        return Record(probe.name, probe.argv, "", exit_code=1, stderr=f"cat: {path}: Permission denied")
    except OSError as e:
        return Record(probe.name, probe.argv, "", exit_code=1, stderr=f"cat: {path}: {e.strerror}")
    return Record(probe.name, probe.argv, decode(data), seconds=round(time.monotonic() - start, 4))


def _read_wslconfig(where: Record) -> Record:
    """Second step of ``wsl.wslconfig``: %USERPROFILE% -> /mnt/c/Users/<me>/.wslconfig."""
    argv = where.argv
    if not where.ok:
        return where
    profile = where.stdout.strip().splitlines()[-1] if where.stdout.strip() else ""
    linux_path = interop.windows_to_wsl_path(profile, _automount_root())
    if linux_path is None:
        return Record(
            where.name,
            argv,
            "",
            exit_code=None,
            stderr=where.stdout,
            seconds=where.seconds,
            error=f"cmd.exe printed no usable %USERPROFILE% path: {profile[:80]!r}",
        )
    path = f"{linux_path}/.wslconfig"
    argv = ("cat", path)
    try:
        with open(path, "rb") as f:
            return Record(where.name, argv, decode(f.read()), seconds=where.seconds)
    except FileNotFoundError:
        return Record(
            where.name, argv, "", exit_code=1, stderr=f"cat: {path}: No such file or directory", seconds=where.seconds
        )
    except OSError as e:
        return Record(where.name, argv, "", exit_code=1, stderr=f"cat: {path}: {e.strerror}", seconds=where.seconds)


def _automount_root() -> str:
    """``[automount] root`` of /etc/wsl.conf (default /mnt/). Read directly: a tiny local file."""
    try:
        with open("/etc/wsl.conf", encoding="utf-8", errors="replace") as f:
            section = ""
            for line in f:
                line = line.strip()
                if line.startswith("["):
                    section = line.strip("[]").strip().lower()
                elif section == "automount" and "=" in line:
                    key, value = (s.strip() for s in line.split("=", 1))
                    if key.lower() == "root" and value:
                        return value.strip('"')
    except OSError:
        pass
    return "/mnt/"


def run_probe(probe: Probe) -> Record:
    """One probe on its own (the TUI refreshes sources one by one)."""
    snap = capture((probe,))
    return snap.records[probe.name]
