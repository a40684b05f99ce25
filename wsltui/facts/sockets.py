"""Listening TCP/UDP sockets from ``ss -H -l -n -t -u -p -e``.

Real lines (iproute2 6.1, run as root)::

    tcp LISTEN 0 128 127.0.0.1:7001 0.0.0.0:* users:(("python3",pid=6251,fd=3),("python3",pid=6192,fd=3)) ino:11464 sk:1004 cgroup:/ <->
    tcp LISTEN 0 128 0.0.0.0%lo:7006 0.0.0.0:* users:(("python3",pid=6251,fd=8)) ino:11469 sk:1005 cgroup:/ <->
    tcp LISTEN 0 128 *:7003 *:* users:(("python3",pid=6251,fd=5)) ino:11466 sk:100a cgroup:/ v6only:0 <->
    tcp LISTEN 0 128 [::]:7004 [::]:* users:(("python3",pid=6251,fd=6)) ino:11467 sk:1008 cgroup:/ v6only:1 <->
    udp UNCONN 0 0 127.0.0.53%lo:53 0.0.0.0:* users:(("systemd-resolve",pid=361,fd=13)) uid:991 ino:20145 sk:3 <->

- ss prints ``*`` for an IPv6 wildcard socket that also accepts IPv4 (dual-stack) and ``[::]``
  for a v6-only one; with ``-e`` it also says ``v6only:0|1``. A ``[::]``/``*`` socket without a
  ``v6only`` word is dual-stack (Linux ``net.ipv6.bindv6only=0`` default).
- ``%dev`` after the address is SO_BINDTODEVICE (e.g. systemd-resolved's ``127.0.0.53%lo:53``).
- ``users:(...)`` is missing when ss could not see the owner (not root): processes are then [].
- ``-e`` omits ``uid:`` for root-owned sockets: uid 0 when the ``ino:`` detail is there.

Pure: no I/O, never raises.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import TypeAlias

from wsltui.facts.base import Unknown, lines, usable_record
from wsltui.records import command_for
from wsltui.snapshot import Record, Snapshot

WILDCARD, LOOPBACK, SPECIFIC = "wildcard", "loopback", "specific"


@dataclass
class SocketProcess:
    name: str | None  # None when only the pid is known (net.psutil-listeners may name it)
    pid: int | None
    fd: int | None


@dataclass
class Listener:
    proto: str  # "tcp" | "udp"
    family: str  # "ipv4" | "ipv6"
    address: str  # "0.0.0.0", "::" (also for ss's "*"), "127.0.0.1", "::1", "10.1.2.3", ... (inet_ntop form)
    port: int
    bind: str  # "wildcard" | "loopback" | "specific"
    interface: str | None = None  # SO_BINDTODEVICE (the "%eth0" in ss), None when unbound
    v6only: bool = False  # IPv6 socket that refuses IPv4 (False for IPv4 sockets)
    v6only_stated: bool = False  # ss printed v6only:N (else the Linux default was assumed)
    dual_stack: bool = False  # IPv6 wildcard that also accepts IPv4 (v4-mapped)
    state: str = "LISTEN"  # "LISTEN" (tcp) | "UNCONN" (udp)
    processes: list[SocketProcess] = field(default_factory=list)
    uid: int | None = None
    inode: int | None = None
    recv_q: int | None = None
    send_q: int | None = None
    address_raw: str = ""  # the local address column exactly as ss printed it
    line: int = 0  # 1-based line in the record

    @property
    def process_names(self) -> list[str]:
        return sorted({p.name for p in self.processes if p.name})

    def accepts(self, family: str) -> bool:
        """Whether this socket can receive ``family`` ("ipv4"/"ipv6") traffic at all."""
        return self.family == family or (family == "ipv4" and self.dual_stack)


@dataclass
class SocketFacts:
    listeners: list[Listener] | Unknown
    owners_visible: bool = False  # some line named its process (False: ss probably ran without root)
    problems: list[str] = field(default_factory=list)

    def on_port(self, port: int, proto: str | None = None) -> list[Listener]:
        """The listeners on ``port`` (and ``proto``), in their order in the record."""
        if isinstance(self.listeners, Unknown):
            return []
        return [l for l in self._by_port(self.listeners).get(port, ()) if proto is None or l.proto == proto]

    def _by_port(self, listeners: list[Listener]) -> dict[int, list[Listener]]:
        # A report asks about every port (x every scenario): without an index that is listeners^2
        # work (5,000 listeners: minutes). Kept outside the dataclass fields, so it is never part
        # of equality or the JSON; rebuilt if the list is replaced or grows (facts are not edited
        # in place otherwise).
        key = (id(listeners), len(listeners))
        cached = self.__dict__.get("_port_index")
        if cached is None or cached[0] != key:
            index: dict[int, list[Listener]] = {}
            for l in listeners:
                index.setdefault(l.port, []).append(l)
            cached = self.__dict__["_port_index"] = (key, index)
        return cached[1]


def from_snapshot(snapshot: Snapshot) -> SocketFacts:
    record = usable_record(snapshot.get("net.sockets"), command_for("net.sockets"))
    if isinstance(record, Unknown):
        return SocketFacts(listeners=record)
    return with_psutil_owners(parse_ss(record.stdout), snapshot.get("net.psutil-listeners"))


def with_psutil_owners(facts: SocketFacts, record: Record | None) -> SocketFacts:
    """``facts`` where listeners ss could not name got their owners from ``net.psutil-listeners``
    (psutil may know a process ``ss -p`` may not inspect). Unchanged without that record."""
    if isinstance(facts.listeners, Unknown) or record is None or not record.ok:
        return facts
    try:
        rows = json.loads(record.stdout)
        owners: dict[_OwnerKey, list[SocketProcess]] = {}
        names: dict[int, str] = {}
        for r in rows:
            pid = r.get("pid")
            if not isinstance(pid, int) or isinstance(pid, bool):
                continue
            name = r.get("name") if isinstance(r.get("name"), str) else None
            if name:
                names[pid] = name
            fd = r.get("fd") if isinstance(r.get("fd"), int) else None
            owners.setdefault(
                _owner_key(str(r["proto"]), str(r["family"]), str(r["address"]), int(r["port"])), []
            ).append(SocketProcess(name=name, pid=pid, fd=fd))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
        return dataclasses.replace(facts, problems=[*facts.problems, f"net.psutil-listeners not understood ({e})"])
    filled: list[Listener] = []
    for l in facts.listeners:
        procs = [dataclasses.replace(p, name=p.name or names.get(p.pid or -1)) for p in l.processes]
        filled.append(
            dataclasses.replace(l, processes=procs or owners.get(_owner_key(l.proto, l.family, l.address, l.port), []))
        )
    return dataclasses.replace(facts, listeners=filled, owners_visible=any(l.processes for l in filled))


# A listening socket as ss and psutil both name it: (proto, family, address, port).
_OwnerKey: TypeAlias = "tuple[str, str, str, int]"


def _owner_key(proto: str, family: str, address: str, port: int) -> _OwnerKey:
    try:
        address = str(ipaddress.ip_address(address.split("%", 1)[0]))
    except ValueError:
        pass
    return proto, family, address, port


_STATES = {
    "LISTEN",
    "UNCONN",
    "ESTAB",
    "SYN-SENT",
    "SYN-RECV",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "TIME-WAIT",
    "CLOSE-WAIT",
    "LAST-ACK",
    "CLOSING",
    "CLOSED",
    "UNKNOWN",
}
_PROC = re.compile(r'\("(.*?)",pid=(\d+),fd=(\d+)\)')


def parse_ss(text: str) -> SocketFacts:
    facts = SocketFacts(listeners=[])
    listeners: list[Listener] = []
    if not isinstance(text, str):
        return SocketFacts(listeners=Unknown("ss output is not text", command_for("net.sockets")))
    for n, raw in enumerate(lines(text), 1):
        line = raw.strip()
        if not line or line.startswith(("Netid", "State ")):
            continue
        try:
            listener = _parse_line(line, n, facts.problems)
        except Exception as e:  # a parser never raises; say what was not understood
            facts.problems.append(f"line {n}: not understood ({type(e).__name__}): {line[:100]!r}")
            continue
        if listener is not None:
            listeners.append(listener)
            if listener.processes:
                facts.owners_visible = True
    facts.listeners = listeners
    return facts


def _split_users(line: str) -> tuple[str, str | None]:
    """Cut ``users:(...)`` out of the line (process names may hold spaces and parentheses)."""
    start = line.find(" users:(")
    if start < 0:
        return line, None
    i, depth, quoted = start + len(" users:"), 0, False
    while i < len(line):
        c = line[i]
        if c == '"':
            quoted = not quoted
        elif not quoted and c == "(":
            depth += 1
        elif not quoted and c == ")":
            depth -= 1
            if depth == 0:
                return line[:start] + " " + line[i + 1 :], line[start + 1 : i + 1]
        i += 1
    return line[:start], line[start + 1 :]  # unbalanced: take the rest


def _split_endpoint(text: str) -> tuple[str, str | None, str] | None:
    """``[::1]%lo:80`` -> ("::1", "lo", "80"). Returns (address, interface, port) or None."""
    if ":" not in text:
        return None
    host, port = text.rsplit(":", 1)
    iface = None
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return None
        rest = host[end + 1 :]
        addr = host[1:end]
        if rest.startswith("%"):
            iface = rest[1:] or None
        elif rest:
            return None
        if "%" in addr:  # "[fe80::1%eth0]" (older ss)
            addr, iface = addr.split("%", 1)
        return addr, iface, port
    if "%" in host:
        host, iface = host.split("%", 1)
        iface = iface or None
    return host, iface, port


def _int(s: str) -> int | None:
    return int(s) if s.isdigit() else None


def _parse_line(line: str, n: int, problems: list[str]) -> Listener | None:
    rest, users = _split_users(line)
    tokens = rest.split()
    if tokens and tokens[0] in _STATES:
        problems.append(f"line {n}: no Netid column (ss was not run with both -t and -u?), skipped: {line[:100]!r}")
        return None
    if len(tokens) < 6:
        problems.append(f"line {n}: too few columns for ss output, skipped: {line[:100]!r}")
        return None
    netid, state, recv_q, send_q, local, _peer = tokens[:6]
    extras = tokens[6:]
    proto = netid.lower()
    if proto not in ("tcp", "udp"):
        problems.append(f"line {n}: protocol {netid!r} is not tcp/udp, skipped")
        return None
    ep = _split_endpoint(local)
    if ep is None:
        problems.append(f"line {n}: cannot read the local address {local!r}, skipped")
        return None
    addr, iface, port_s = ep
    port = _int(port_s)
    if port is None or port > 65535:
        problems.append(f"line {n}: port {port_s!r} is not a number, skipped")
        return None

    details = {}
    for tok in extras:
        if ":" in tok:
            k, v = tok.split(":", 1)
            details[k] = v
    v6only_word = details.get("v6only")

    # Family and the normalised address.
    if addr == "*":
        # Modern ss: "*" is an IPv6 wildcard that is not v6-only. (ss before ~4.17 printed "*"
        # for the IPv4 wildcard too; then the peer column is "*:*" and there is no v6only word —
        # indistinguishable, so the modern meaning is taken.)
        family, address = "ipv6", "::"
    else:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            problems.append(f"line {n}: {addr!r} is not an IP address, skipped")
            return None
        family = "ipv4" if ip.version == 4 else "ipv6"
        # As printed (inet_ntop's form, like psutil); str(ip) renders mapped addresses
        # differently across Python versions.
        address = addr.lower()

    ip = ipaddress.ip_address(address)
    if ip.is_unspecified:
        bind = WILDCARD
    elif ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback):
        bind = LOOPBACK
    else:
        bind = SPECIFIC

    v6only, stated = False, False
    if family == "ipv6":
        if v6only_word in ("0", "1"):
            v6only, stated = v6only_word == "1", True
            if addr == "*" and v6only:
                problems.append(f"line {n}: ss printed '*' and v6only:1 together; v6only:1 taken")
        elif v6only_word is not None:
            problems.append(f"line {n}: odd v6only value {v6only_word!r}, Linux default (dual-stack) assumed")
    dual_stack = family == "ipv6" and bind == WILDCARD and not v6only

    processes: list[SocketProcess] = []
    if users is not None:
        for m in _PROC.finditer(users):
            processes.append(SocketProcess(name=m.group(1) or None, pid=int(m.group(2)), fd=int(m.group(3))))
        if not processes:
            problems.append(f"line {n}: could not read the owners {users[:80]!r}")

    inode = _int(details.get("ino", ""))
    uid = _int(details.get("uid", ""))
    if uid is None and inode is not None and "uid" not in details:
        uid = 0  # ss -e prints uid only when it is not 0

    return Listener(
        proto=proto,
        family=family,
        address=address,
        port=port,
        bind=bind,
        interface=iface,
        v6only=v6only,
        v6only_stated=stated,
        dual_stack=dual_stack,
        state=state,
        processes=processes,
        uid=uid,
        inode=inode,
        recv_q=_int(recv_q),
        send_q=_int(send_q),
        address_raw=local,
        line=n,
    )
