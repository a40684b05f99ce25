"""netsh (and the PortProxy registry key): excluded port ranges, portproxy, advfirewall profiles,
read by structure, never by their translated labels."""

from __future__ import annotations

import ipaddress
import re

from wsltui.facts.windows.model import PROFILES, ExcludedPorts, ExcludedRange, PortProxies, PortProxy, ProfileSettings
from wsltui.facts.windows.registry import parse_reg_query

_RANGE_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s*(\*)?\s*$")


def parse_excluded_ranges(text: str) -> ExcludedPorts:
    """``netsh int ipv4 show excludedportrange protocol=tcp`` in any language: rows of two numbers,
    ``*`` = administered. Every other line (title, headers, dashes, footer) is a label."""
    out = ExcludedPorts()
    for n, line in enumerate((text or "").splitlines(), 1):
        m = _RANGE_ROW.match(line)
        if not m:
            continue
        start, end = int(m.group(1)), int(m.group(2))
        if not (0 < start <= end <= 65535):
            out.problems.append(f"line {n}: not a port range: {line.strip()!r}")
            continue
        out.ranges.append(ExcludedRange(start, end, bool(m.group(3))))
    return out


_PROXY_ROW = re.compile(r"^\s*(\S+)\s+(\d+(?:-\d+)?)\s+(\S+)\s+(\d+(?:-\d+)?)\s*$")


def parse_portproxy_netsh(text: str) -> PortProxies:
    """``netsh interface portproxy show all|v4tov4`` in any language: the data rows after each dashed
    line are ``listenaddr listenport connectaddr connectport``. The kind (v4tov4, v4tov6, v6tov4,
    v6tov6) comes from the table's title, whose words are translated but whose ``ipv4``/``ipv6``
    are not (``侦听 ipv4: 连接到 ipv4:``); without a title, from the addresses."""
    out = PortProxies()
    in_table = False
    kind = None  # from the table's title line: "Listen on ipv4:  Connect to ipv6:" (the ipvN words are not translated)
    for line in (text or "").splitlines():
        if re.match(r"^\s*-{3,}(\s+-{3,})+\s*$", line):
            in_table = True
            continue
        if not line.strip():
            in_table = False
            continue
        if not in_table:
            families = re.findall(r"\bipv([46])\b", line, re.I)
            if len(families) == 2:
                kind = f"v{families[0]}tov{families[1]}"
            continue
        m = _PROXY_ROW.match(line)
        if not m:
            out.problems.append(f"not a portproxy row: {line.strip()[:80]!r}")
            continue
        la, lp, ca, cp = m.groups()
        out.entries.append(PortProxy(kind or _proxy_kind(la, ca), la, lp, ca, cp))
    return out


def _family(addr: str) -> int | None:
    if addr in ("*", "0.0.0.0", "localhost"):
        return 4
    try:
        return ipaddress.ip_address(addr.strip("[]")).version
    except ValueError:
        return None


def _proxy_kind(listen: str, connect: str) -> str:
    lf, cf = _family(listen) or 4, _family(connect) or 4
    return f"v{4 if lf == 4 else 6}tov{4 if cf == 4 else 6}"


def parse_portproxy_registry(text: str) -> PortProxies:
    """``reg.exe query HKLM\\...\\PortProxy /s``: key ``...\\v4tov4\\tcp``, value
    ``listenaddr/listenport``, data ``connectaddr/connectport``."""
    keys, problems = parse_reg_query(text)
    out = PortProxies(problems=problems)
    for key, vals in keys.items():
        parts = key.lower().split("\\")
        kind = next((p for p in parts if re.fullmatch(r"v[46]tov[46]", p)), None)
        if kind is None:
            continue
        proto = parts[-1] if parts[-1] in ("tcp", "udp") else "tcp"
        for name, (_, data) in vals.items():
            if "/" not in name or "/" not in data:
                out.problems.append(f"{key}: {name} = {data!r} is not addr/port")
                continue
            la, lp = name.rsplit("/", 1)
            ca, cp = data.rsplit("/", 1)
            if not re.fullmatch(r"\d+(-\d+)?", lp) or not re.fullmatch(r"\d+(-\d+)?", cp):
                out.problems.append(f"{key}: {name} = {data!r}: port is not a number")
                continue
            out.entries.append(PortProxy(kind, la, lp, ca, cp, proto))
    return out


_POLICY_PAIR = re.compile(r"(Allow|Block)Inbound(Always)?,(Allow|Block)Outbound")


def parse_netsh_allprofiles(text: str) -> dict[str, ProfileSettings]:
    """``netsh advfirewall show allprofiles`` (any language): profiles in order Domain, Private,
    Public; the untranslated ``BlockInbound(Always),AllowOutbound`` pair of each. The on/off state
    is translated, so it is not read (``enabled`` stays the default)."""
    out = {}
    for name, m in zip(PROFILES, _POLICY_PAIR.finditer(text or "")):
        out[name] = ProfileSettings(
            name,
            default_inbound=m.group(1).lower(),
            default_outbound=m.group(3).lower(),
            shielded=bool(m.group(2)),
            explicit=["DefaultInboundAction", "DefaultOutboundAction"],
        )
    return out
