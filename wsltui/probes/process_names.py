"""Fill in socket owners that ``ss`` could not name, from psutil (live, so it lives in probes/).

``ss -p`` shows owners only for processes it may inspect; psutil may still know a name for a
pid (or the pid of a socket, for the caller's own processes). Only the calling process's network
namespace is visible to psutil, so use this on a live snapshot only. Never raises.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket

from wsltui.facts.base import Unknown
from wsltui.facts.sockets import Listener, SocketFacts, SocketProcess


def _key(proto: str, family: str, address: str, port: int) -> tuple:
    try:
        address = str(ipaddress.ip_address(address.split("%", 1)[0]))
    except ValueError:
        pass
    return proto, family, address, port


def _live_owners() -> dict[tuple, list[SocketProcess]]:
    import psutil

    owners: dict[tuple, list[SocketProcess]] = {}
    for c in psutil.net_connections(kind="inet"):
        if c.status not in (psutil.CONN_LISTEN, psutil.CONN_NONE) or not c.laddr or c.pid is None:
            continue
        proto = "tcp" if c.type == socket.SOCK_STREAM else "udp"
        family = "ipv4" if c.family == socket.AF_INET else "ipv6"
        owners.setdefault(_key(proto, family, c.laddr.ip, c.laddr.port), []).append(
            SocketProcess(name=_name(c.pid), pid=c.pid, fd=c.fd if isinstance(c.fd, int) and c.fd >= 0 else None))
    return owners


def _name(pid: int | None) -> str | None:
    if pid is None:
        return None
    try:
        import psutil

        return psutil.Process(pid).name()
    except Exception:
        return None


def fill_process_names(facts: SocketFacts) -> SocketFacts:
    """A copy of ``facts`` where listeners without owners (or owners without a name) got them
    from psutil when it knows. Unknown facts are returned unchanged."""
    if isinstance(facts.listeners, Unknown):
        return facts
    try:
        owners = _live_owners()
    except Exception as e:
        return dataclasses.replace(facts, problems=[*facts.problems, f"psutil could not list sockets: {e}"])
    filled: list[Listener] = []
    for l in facts.listeners:
        procs = [dataclasses.replace(p, name=p.name or _name(p.pid)) for p in l.processes]
        if not procs:
            procs = list(owners.get(_key(l.proto, l.family, l.address, l.port), []))
        filled.append(dataclasses.replace(l, processes=procs))
    return dataclasses.replace(facts, listeners=filled, owners_visible=any(l.processes for l in filled))
