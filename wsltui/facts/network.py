"""Interfaces, addresses and routes from ``ip -j addr show`` and ``ip -j route show table all``.

Pure: no I/O, never raises. A record that is missing, failed or is not the JSON ``ip -j`` prints
makes that part ``Unknown``; single odd entries are skipped and listed in ``problems``.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

from wsltui.facts.base import Unknown, usable_record
from wsltui.records import command_for
from wsltui.snapshot import Record, Snapshot


@dataclass
class Address:
    family: str  # "ipv4" | "ipv6"
    address: str
    prefix: int | None
    scope: str | None  # "global" | "host" | "link" | ...
    label: str | None = None
    broadcast: str | None = None
    peer: str | None = None  # point-to-point peer address, when ip prints one


@dataclass
class Interface:
    name: str
    index: int | None
    flags: list[str]
    up: bool  # the UP flag (administratively up)
    lower_up: bool  # carrier (LOWER_UP)
    operstate: str | None
    mtu: int | None
    mac: str | None
    link_type: str | None  # "ether", "loopback", "none", ...
    kind: str | None  # linkinfo.info_kind ("veth", "bridge", ...) when ip printed details (-d)
    master: str | None
    addresses: list[Address] = field(default_factory=list)


@dataclass
class Route:
    family: str  # "ipv4" | "ipv6"
    dst: str  # "default" or a prefix/address as printed
    gateway: str | None
    dev: str | None
    table: str  # "main" when ip printed none
    type: str  # "unicast" when ip printed none
    protocol: str | None
    scope: str | None
    metric: int | None
    prefsrc: str | None
    nexthops: list[str] = field(default_factory=list)  # "gw@dev" of a multipath route


@dataclass
class NetworkFacts:
    interfaces: list[Interface] | Unknown
    routes: list[Route] | Unknown
    default_gateway_v4: str | None = None  # main table
    default_gateway_v6: str | None = None
    default_interface: str | None = None  # dev of the IPv4 default route (else IPv6)
    primary_interface: str | None = None  # eth0, else the default-route interface
    primary_address: str | None = None  # first global IPv4 of primary_interface
    primary_address6: str | None = None  # first global IPv6 of primary_interface
    problems: list[str] = field(default_factory=list)

    def interface(self, name: str) -> Interface | None:
        if isinstance(self.interfaces, Unknown):
            return None
        return next((i for i in self.interfaces if i.name == name), None)


def from_snapshot(snapshot: Snapshot) -> NetworkFacts:
    problems: list[str] = []
    interfaces = parse_addr_record(snapshot.get("net.addr"), problems)
    routes = parse_route_record(snapshot.get("net.route"), problems)
    facts = NetworkFacts(interfaces=interfaces, routes=routes, problems=problems)
    _derive(facts)
    netifaces = snapshot.get("net.netifaces")
    if netifaces is not None and netifaces.ok:
        facts.problems += [f"netifaces disagrees: {d}" for d in cross_check(facts, netifaces.stdout)]
    return facts


def cross_check(facts: NetworkFacts, netifaces_json: str) -> list[str]:
    """Where ``net.netifaces`` (a second reader of the same interfaces) disagrees with the parsed
    ``ip -j addr``: a misread, or a machine that changed while it was read. [] when they agree."""
    if isinstance(facts.interfaces, Unknown):
        return [f"cannot cross-check: interfaces are {facts.interfaces}"]
    try:
        live = json.loads(netifaces_json)
        if not isinstance(live, dict):
            raise TypeError("not an object")
    except (ValueError, TypeError, RecursionError) as e:
        return [f"cannot cross-check: net.netifaces is not understood ({e})"]
    out: list[str] = []
    parsed = {i.name: i for i in facts.interfaces}
    out += [f"interface {n} is listed by netifaces but not by ip" for n in sorted(set(live) - set(parsed))]
    out += [f"interface {n} is listed by ip but not by netifaces" for n in sorted(set(parsed) - set(live))]
    for name in sorted(set(parsed) & set(live)):
        seen = live[name] if isinstance(live[name], dict) else {}
        for fam in ("ipv4", "ipv6"):
            theirs = {a for a in (_norm(x) for x in seen.get(fam) or [] if isinstance(x, str)) if a}
            ours = {a for a in (_norm(x.address) for x in parsed[name].addresses if x.family == fam) if a}
            out += [f"{name}: {fam} address {a} is listed by netifaces but not by ip" for a in sorted(theirs - ours)]
            out += [f"{name}: {fam} address {a} is listed by ip but not by netifaces" for a in sorted(ours - theirs)]
        mac, ours_mac = seen.get("mac"), parsed[name].mac
        if isinstance(mac, str) and ours_mac and mac.lower() != ours_mac.lower() and parsed[name].link_type == "ether":
            out.append(f"{name}: MAC {ours_mac} by ip, {mac} by netifaces")
    return out


def _norm(addr: str) -> str | None:
    try:
        return str(ipaddress.ip_address(addr.split("%", 1)[0]))
    except ValueError:
        return None


# --- ip -j addr show ---------------------------------------------------------------------------


def _load_json_list(record: Record | None, name: str) -> list[Any] | Unknown:
    cmd = command_for(name)
    usable = usable_record(record, cmd)
    if isinstance(usable, Unknown):
        return usable
    text = usable.stdout.strip()
    if not text:
        return Unknown(f"{cmd} printed nothing", usable.command or cmd)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        return Unknown(f"{cmd} did not print JSON ({str(e)[:80]})", usable.command or cmd)
    if not isinstance(data, list):
        return Unknown(f"{cmd} printed JSON that is not a list", usable.command or cmd)
    return data


def _s(v: Any) -> str | None:
    return v if isinstance(v, str) and v != "" else None


def _i(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _is_ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def parse_addr_record(record: Record | None, problems: list[str]) -> list[Interface] | Unknown:
    data = _load_json_list(record, "net.addr")
    if isinstance(data, Unknown):
        return data
    return parse_addr(data, problems)


def parse_addr(data: list[Any], problems: list[str]) -> list[Interface]:
    out: list[Interface] = []
    for n, item in enumerate(data):
        if not isinstance(item, dict) or not _s(item.get("ifname")):
            if isinstance(item, dict) and not item:
                continue  # ip prints {} for interfaces it filtered out
            problems.append(f"ip -j addr show: entry {n} is not an interface, skipped")
            continue
        flags_raw = item.get("flags")
        flags = [f for f in flags_raw if isinstance(f, str)] if isinstance(flags_raw, list) else []
        linkinfo = item.get("linkinfo")
        kind = _s(linkinfo.get("info_kind")) if isinstance(linkinfo, dict) else None
        iface = Interface(
            name=item["ifname"],
            index=_i(item.get("ifindex")),
            flags=flags,
            up="UP" in flags,
            lower_up="LOWER_UP" in flags,
            operstate=_s(item.get("operstate")),
            mtu=_i(item.get("mtu")),
            mac=_s(item.get("address")),
            link_type=_s(item.get("link_type")),
            kind=kind,
            master=_s(item.get("master")),
        )
        addr_info = item.get("addr_info")
        for a in addr_info if isinstance(addr_info, list) else []:
            if not isinstance(a, dict):
                problems.append(f"ip -j addr show: {iface.name}: an address entry is not an object, skipped")
                continue
            fam = a.get("family")
            local = _s(a.get("local"))
            if fam not in ("inet", "inet6") or local is None:
                if fam not in ("inet", "inet6", None):
                    continue  # e.g. "link" entries of some ip versions: not an IP address
                problems.append(f"ip -j addr show: {iface.name}: address entry without family/local, skipped")
                continue
            if not _is_ip(local, 4 if fam == "inet" else 6):
                problems.append(f"ip -j addr show: {iface.name}: {local[:60]!r} is not an {fam} address, skipped")
                continue
            iface.addresses.append(
                Address(
                    family="ipv4" if fam == "inet" else "ipv6",
                    address=local,
                    prefix=_i(a.get("prefixlen")),
                    scope=_s(a.get("scope")),
                    label=_s(a.get("label")),
                    broadcast=_s(a.get("broadcast")),
                    peer=_s(a.get("address")) if _s(a.get("address")) != local else None,
                )
            )
        out.append(iface)
    return out


# --- ip -j route show table all ---------------------------------------------------------------


def parse_route_record(record: Record | None, problems: list[str]) -> list[Route] | Unknown:
    data = _load_json_list(record, "net.route")
    if isinstance(data, Unknown):
        return data
    return parse_routes(data, problems)


def _route_family(item: dict[str, Any]) -> str:
    for k in ("dst", "gateway", "prefsrc", "src"):
        v = item.get(k)
        if isinstance(v, str) and ":" in v:
            return "ipv6"
    via = item.get("via")
    if isinstance(via, dict) and via.get("family") == "inet6":
        return "ipv6"
    if "pref" in item:  # ip prints the router preference only for IPv6 routes
        return "ipv6"
    return "ipv4"


def parse_routes(data: list[Any], problems: list[str]) -> list[Route]:
    out: list[Route] = []
    for n, item in enumerate(data):
        if not isinstance(item, dict) or not _s(item.get("dst")):
            if isinstance(item, dict) and not item:
                continue
            problems.append(f"ip -j route show: entry {n} has no destination, skipped")
            continue
        gateway = _s(item.get("gateway"))
        via = item.get("via")
        if gateway is None and isinstance(via, dict):
            gateway = _s(via.get("host"))
        nexthops: list[str] = []
        for nh in item.get("nexthops") or [] if isinstance(item.get("nexthops"), list) else []:
            if isinstance(nh, dict):
                nexthops.append(f"{nh.get('gateway') or ''}@{nh.get('dev') or ''}")
        table = item.get("table")
        out.append(
            Route(
                family=_route_family(item),
                dst=item["dst"],
                gateway=gateway,
                dev=_s(item.get("dev")),
                table=str(table) if isinstance(table, (str, int)) and table != "" else "main",
                type=_s(item.get("type")) or "unicast",
                protocol=_s(item.get("protocol"))
                if not isinstance(item.get("protocol"), int)
                else str(item.get("protocol")),
                scope=_s(item.get("scope")),
                metric=_i(item.get("metric")),
                prefsrc=_s(item.get("prefsrc")),
                nexthops=nexthops,
            )
        )
    return out


# --- derived facts ---------------------------------------------------------------------------


def _default_route(routes: list[Route], family: str) -> Route | None:
    best: Route | None = None
    for r in routes:
        if (
            r.family != family
            or r.table != "main"
            or r.type != "unicast"
            or r.dst not in ("default", "0.0.0.0/0", "::/0")
        ):
            continue
        if best is None or (r.metric or 0) < (best.metric or 0):
            best = r
    return best


def _first_global(iface: Interface, family: str) -> str | None:
    for a in iface.addresses:
        if a.family == family and a.scope in ("global", None):
            return a.address
    return None


def _derive(facts: NetworkFacts) -> None:
    if isinstance(facts.routes, list):
        v4, v6 = _default_route(facts.routes, "ipv4"), _default_route(facts.routes, "ipv6")
        if v4 is not None:
            facts.default_gateway_v4 = v4.gateway or (v4.nexthops[0].split("@")[0] or None if v4.nexthops else None)
        if v6 is not None:
            facts.default_gateway_v6 = v6.gateway or (v6.nexthops[0].split("@")[0] or None if v6.nexthops else None)
        for r in (v4, v6):
            if r is not None:
                dev = r.dev or (r.nexthops[0].split("@")[1] or None if r.nexthops else None)
                if dev:
                    facts.default_interface = dev
                    break
    if isinstance(facts.interfaces, list):
        names = [i.name for i in facts.interfaces]
        primary = "eth0" if "eth0" in names else facts.default_interface if facts.default_interface in names else None
        facts.primary_interface = primary
        if primary is not None:
            iface = facts.interface(primary)
            assert iface is not None
            facts.primary_address = _first_global(iface, "ipv4")
            facts.primary_address6 = _first_global(iface, "ipv6")
