"""The other network namespaces of this machine (containers, VMs' helpers), read from /proc.

A container behind a bridge answers on its own addresses with its own sockets: a DNAT'ed port
reaches it only if a socket there listens. Every namespace some process lives in is seen through
that process's ``/proc/PID/net`` files (readable by root without entering the namespace):
``tcp``/``tcp6`` listeners, ``udp``/``udp6`` bound sockets, ``fib_trie`` (local IPv4 addresses)
and ``if_inet6``. The record is JSON; facts/netns.py reads it. Never raises.
"""

from __future__ import annotations

import ipaddress
import json
import os
import struct
import time

from wsltui.snapshot import Record

TCP_LISTEN, UDP_UNCONN = "0A", "07"


def read(name: str, argv: tuple[str, ...]) -> Record:
    start = time.monotonic()
    try:
        own = os.readlink("/proc/self/ns/net")
    except OSError as e:
        return Record(name, argv, "", exit_code=1, stderr=f"/proc/self/ns/net: {e.strerror}")
    found: dict[str, dict] = {}
    denied = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ns = os.readlink(f"/proc/{entry}/ns/net")
        except PermissionError:
            denied += 1
            continue
        except OSError:
            continue  # the process ended meanwhile
        if ns == own or ns in found:
            continue
        one = _namespace(int(entry), ns)
        if one is not None:
            found[ns] = one
    out = {"own": own, "namespaces": list(found.values()), "unreadable_processes": denied}
    return Record(name, argv, json.dumps(out, indent=1) + "\n", seconds=round(time.monotonic() - start, 4))


def _namespace(pid: int, ns: str) -> dict | None:
    base = f"/proc/{pid}/net"
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
            comm = f.read().strip()
        sockets = [
            s
            for proto, v6 in (("tcp", False), ("tcp6", True), ("udp", False), ("udp6", True))
            for s in _sockets(f"{base}/{proto}", proto[:3], v6)
        ]
        addresses = _fib_local(f"{base}/fib_trie") + _inet6(f"{base}/if_inet6")
    except OSError:
        return None
    return {"netns": ns, "pid": pid, "comm": comm, "addresses": addresses, "sockets": sockets}


def _sockets(path: str, proto: str, v6: bool) -> list[dict]:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            lines = f.read().splitlines()[1:]
    except FileNotFoundError:
        return []  # no IPv6 in that namespace
    out = []
    for line in lines:
        cols = line.split()
        if len(cols) < 4 or cols[3] != (TCP_LISTEN if proto == "tcp" else UDP_UNCONN):
            continue
        addr_hex, _, port_hex = cols[1].partition(":")
        try:
            out.append({"proto": proto, "address": _address(addr_hex, v6), "port": int(port_hex, 16)})
        except (ValueError, struct.error):
            continue
    return out


def _address(text: str, v6: bool) -> str:
    """/proc/net/tcp prints the address as the 32-bit words it holds in memory (network byte
    order bytes), each printed as a host-order integer."""
    packed = b"".join(struct.pack("=I", int(text[i : i + 8], 16)) for i in range(0, len(text), 8))
    if len(packed) != (16 if v6 else 4):
        raise ValueError(text)
    return str(ipaddress.ip_address(packed))


def _fib_local(path: str) -> list[str]:
    """Local IPv4 addresses: the ``|-- A.B.C.D`` lines followed by ``/32 host LOCAL``."""
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    out, last = [], None
    for line in lines:
        text = line.strip()
        if text.startswith(("|--", "+--")):
            last = text[3:].split()[0]
        elif text == "/32 host LOCAL" and last and last not in out:
            out.append(last)
    return out


def _inet6(path: str) -> list[str]:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return [str(ipaddress.IPv6Address(bytes.fromhex(l.split()[0]))) for l in f if l.strip()]
    except (FileNotFoundError, ValueError):
        return []
