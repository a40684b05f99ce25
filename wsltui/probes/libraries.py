"""Probes answered by Python libraries in-process (records ``net.psutil-listeners`` and
``net.netifaces``): their output is JSON, read by the facts like any other record. Both see the
calling process's network namespace, the same one ``ss`` and ``ip`` read. Never raises: a
failure is a record with the error."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable

from wsltui.records import Probe
from wsltui.snapshot import Record


def read(probe: Probe) -> Record:
    started = time.monotonic()
    readers: dict[str, Callable[[], object]] = {"psutil": _psutil_listeners, "netifaces": _netifaces_addresses}
    try:
        data = readers[probe.library or ""]()
    except Exception as e:  # an unknown library, a missing module, a denied /proc: say it, never raise
        return Record(
            probe.name,
            probe.argv,
            "",
            exit_code=None,
            error=f"{probe.library}: {type(e).__name__}: {e}",
            seconds=round(time.monotonic() - started, 4),
        )
    text = json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n"
    return Record(probe.name, probe.argv, text, seconds=round(time.monotonic() - started, 4))


def _psutil_listeners() -> list[dict]:
    """Every listening TCP and bound UDP socket with its pid and process name, when psutil knows."""
    import psutil

    names: dict[int, str | None] = {}
    out = []
    for c in psutil.net_connections(kind="inet"):
        if c.status not in (psutil.CONN_LISTEN, psutil.CONN_NONE) or not c.laddr:
            continue
        if c.pid is not None and c.pid not in names:
            names[c.pid] = _process_name(psutil, c.pid)
        out.append(
            {
                "proto": "tcp" if c.type == socket.SOCK_STREAM else "udp",
                "family": "ipv4" if c.family == socket.AF_INET else "ipv6",
                "address": c.laddr.ip,
                "port": c.laddr.port,
                "pid": c.pid,
                "name": names.get(c.pid) if c.pid is not None else None,
                "fd": c.fd if isinstance(c.fd, int) and c.fd >= 0 else None,
            }
        )
    return out


def _process_name(psutil, pid: int) -> str | None:
    try:
        return psutil.Process(pid).name()
    except Exception:  # gone meanwhile, or not ours to inspect
        return None


def _netifaces_addresses() -> dict[str, dict]:
    """interface -> {"ipv4": [...], "ipv6": [...], "mac": ...} as netifaces (netifaces-plus) lists them."""
    import netifaces

    out: dict[str, dict] = {}
    for name in netifaces.interfaces():
        addrs = netifaces.ifaddresses(name)
        out[name] = {
            "ipv4": [d.get("addr") for d in addrs.get(netifaces.AF_INET, []) if isinstance(d, dict)],
            "ipv6": [d.get("addr") for d in addrs.get(netifaces.AF_INET6, []) if isinstance(d, dict)],
            "mac": next((d.get("addr") for d in addrs.get(netifaces.AF_LINK, []) if isinstance(d, dict)), None),
        }
    return out
