"""What the forward path needs beyond the firewall: forwarding switches, the other network
namespaces (containers) with their addresses and listeners, and Docker's containers.

Records: ``net.forwarding`` (``sysctl -a -r '\\.forwarding$'``), ``net.netns-sockets`` (JSON
from probes/netns_scan.py), ``docker.ps`` (one JSON object a line, ``docker ps --format
'{{json .}}'``), ``docker.version`` (``docker version --format '{{json .}}'``). Pure: no I/O,
never raises; a record that cannot be used is ``Unknown`` with the command that would tell.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from wsltui.facts.base import Unknown, usable_record
from wsltui.snapshot import Record, Snapshot

T = TypeVar("T")


@dataclass
class Namespace:
    netns: str  # "net:[4026532247]"
    pid: int  # a process living in it
    comm: str  # that process's name
    addresses: tuple[str, ...] = ()
    sockets: tuple[tuple[str, str, int], ...] = ()  # (proto, address, port): TCP listening, UDP bound


@dataclass
class PublishedPort:
    host_address: str  # "0.0.0.0", "::", "127.0.0.1" …
    host_port: int
    container_port: int
    proto: str


@dataclass
class Container:
    name: str
    image: str
    ports: list[PublishedPort] = field(default_factory=list)
    networks: str = ""


@dataclass
class ForwardFacts:
    forwarding: dict[str, bool] | Unknown  # "ipv4 all", "ipv4 eth0", "ipv6 all" … -> on
    namespaces: list[Namespace] | Unknown
    containers: list[Container] | Unknown  # Unknown when Docker is absent or did not answer
    docker_platform: str | None | Unknown = None  # "Docker Engine - Community", "Docker Desktop 4.37.1 (178610)"

    def ipv4_forwarding(self, iif: str) -> bool | None:
        if isinstance(self.forwarding, Unknown):
            return None
        return self.forwarding.get(f"ipv4 {iif}", self.forwarding.get("ipv4 all"))

    def ipv6_forwarding(self) -> bool | None:
        return None if isinstance(self.forwarding, Unknown) else self.forwarding.get("ipv6 all")

    def namespace_of(self, address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> Namespace | None | Unknown:
        """The namespace that owns ``address`` (None: no namespace on this machine does;
        Unknown: several do, and which one the route leads to is not in the snapshot)."""
        if isinstance(self.namespaces, Unknown):
            return self.namespaces
        found = [ns for ns in self.namespaces if str(address) in ns.addresses]
        if len(found) > 1:
            return Unknown(
                f"{len(found)} network namespaces hold {address} ({', '.join(ns.netns for ns in found[:4])})"
            )
        return found[0] if found else None

    def published(self, host_port: int, container_port: int, proto: str) -> list[Container]:
        if isinstance(self.containers, Unknown):
            return []
        return [
            c
            for c in self.containers
            if any((p.host_port, p.container_port, p.proto) == (host_port, container_port, proto) for p in c.ports)
        ]


_SYSCTL = re.compile(r"net\.(ipv4|ipv6)\.conf\.(\S+)\.forwarding\s*=\s*([01])")


def parse_forwarding(text: str) -> dict[str, bool]:
    out = {}
    for line in text.splitlines():
        m = _SYSCTL.fullmatch(line.strip())
        if m:
            out[f"{m[1]} {m[2]}"] = m[3] == "1"
    return out


def parse_namespaces(text: str) -> list[Namespace] | Unknown:
    try:
        data = json.loads(text)
        out = []
        for n in data["namespaces"]:
            out.append(
                Namespace(
                    str(n["netns"]),
                    int(n["pid"]),
                    str(n["comm"]),
                    tuple(_addr(a) for a in n["addresses"]),
                    tuple((str(s["proto"]), _addr(s["address"]), int(s["port"])) for s in n["sockets"]),
                )
            )
        return out
    except (ValueError, KeyError, TypeError) as e:
        return Unknown(f"cannot read the record ({type(e).__name__})")


def _addr(text: object) -> str:
    return str(ipaddress.ip_address(str(text)))


_PORT = re.compile(
    r"(?:(?P<addr>\[[^\]]*\]|[^:,\s]+):(?P<hport>\d+)(?:-\d+)?->)?(?P<cport>\d+)(?:-\d+)?/(?P<proto>tcp|udp|sctp)"
)


def parse_docker_ps(text: str) -> list[Container] | Unknown:
    """``docker ps --format '{{json .}}'``: ``Ports`` reads ``0.0.0.0:8080->80/tcp, [::]:8080->80/tcp``
    (a port exposed but not published has no ``->``)."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            return Unknown("docker ps printed a line that is not JSON")
        if not isinstance(row, dict):
            return Unknown("docker ps printed a line that is not an object")
        c = Container(str(row.get("Names", "")), str(row.get("Image", "")), networks=str(row.get("Networks", "")))
        for m in _PORT.finditer(str(row.get("Ports", ""))):
            if m["hport"]:
                c.ports.append(PublishedPort(m["addr"].strip("[]"), int(m["hport"]), int(m["cport"]), m["proto"]))
        out.append(c)
    return out


def _docker_platform(record: Record | None) -> str | None | Unknown:
    usable = usable_record(record, "docker version --format '{{json .}}'")
    if isinstance(usable, Unknown):
        return usable
    try:
        data = json.loads(usable.stdout)
        name = (data.get("Server") or {}).get("Platform", {}).get("Name")
    except (ValueError, AttributeError):
        return Unknown("docker version printed something that is not JSON")
    return str(name) if name else None


def from_snapshot(snapshot: Snapshot) -> ForwardFacts:
    from wsltui.records import command_for

    def use(name: str, parse: Callable[[str], T | Unknown]) -> T | Unknown:
        record = usable_record(snapshot.get(name), command_for(name))
        return record if isinstance(record, Unknown) else parse(record.stdout)

    return ForwardFacts(
        use("net.forwarding", parse_forwarding),
        use("net.netns-sockets", parse_namespaces),
        use("docker.ps", parse_docker_ps),
        _docker_platform(snapshot.get("docker.version")),
    )
