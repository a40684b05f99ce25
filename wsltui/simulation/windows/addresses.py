"""Windows adapters, their firewall profiles and on-link prefixes: which interface a packet
crosses and what the address keywords stand for on it."""

from __future__ import annotations

import ipaddress
import re

from wsltui.facts.base import Unknown
from wsltui.facts.network import NetworkFacts
from wsltui.facts.windows import Adapter, ConnectionProfile, WindowsFacts
from wsltui.simulation.packet import Network
from wsltui.simulation.windows.shared import ADAPTER_CMD

_GUID = re.compile(r"\{[0-9A-Fa-f-]{36}\}")


def wsl_adapter(win: WindowsFacts) -> str:
    """The host side of WSL's NAT switch: vEthernet (WSL) or vEthernet (WSL (Hyper-V firewall))."""
    conns = [] if isinstance(win.connections, Unknown) else win.connections
    return next((c.alias for c in conns if c.alias.lower().startswith("vethernet (wsl")), "vEthernet (WSL)")


def adapter_for(win: WindowsFacts | None, alias: str) -> Adapter | str:
    """The adapter ``alias`` names, or why it is not known."""
    found = win.adapter(alias) if win is not None else Unknown("no Windows data")
    if isinstance(found, Unknown):
        return f"the adapters and their GUIDs are not known: {found.reason} (run: {ADAPTER_CMD})"
    if found is None:
        return f"{alias} is not among the adapters Windows listed (run: {ADAPTER_CMD})"
    return found


def names_interface(win: WindowsFacts | None, names: list[str], alias: str | None) -> bool | str:
    """Does a list of interfaces (aliases with ``*``, or the registry's ``{GUID}``s) name
    ``alias``? True, False, or why it cannot be told."""
    if not names:
        return False
    if alias is None:
        return f"the interface is not {', '.join(names)}"
    guids = [n.strip().upper() for n in names if _GUID.fullmatch(n.strip())]
    for n in names:
        if not _GUID.fullmatch(n.strip()) and re.fullmatch(re.escape(n.strip()).replace(r"\*", ".*"), alias, re.I):
            return True
    if not guids:
        return False
    mine = adapter_for(win, alias)
    if isinstance(mine, str):
        return f"interface {','.join(guids)}: {mine}"
    return mine.guid in guids


def profile_for(win: WindowsFacts, alias: str | None) -> tuple[str | None, str]:
    """(profile, how it was known) for an adapter alias. The WSL NAT adapter has an unidentified
    network, so its profile is Public unless a connection profile says otherwise."""
    conns = win.connections if not isinstance(win.connections, Unknown) else []
    for c in conns:
        if alias and c.alias.lower() == alias.lower():
            return profile_name(c.category), f"{c.alias} is on a {c.category} network"
    if alias and alias.lower().startswith("vethernet (wsl"):
        return "Public", f"{alias} is an unidentified network, so Windows gives it the Public profile"
    return None, f"no connection profile for {alias or 'the adapter'}"


def profile_name(category: str) -> str | None:
    return {"DomainAuthenticated": "Domain", "Private": "Private", "Public": "Public"}.get(category)


def lan_adapters(win: WindowsFacts) -> list[ConnectionProfile] | Unknown:
    if isinstance(win.connections, Unknown):
        return win.connections
    return [c for c in win.connections if not c.alias.lower().startswith(("vethernet", "loopback"))]


def subnets(network: NetworkFacts | None, interfaces: tuple[str, ...] | None = None) -> tuple[Network, ...] | None:
    """On-link prefixes of Linux interfaces (``None``: every interface but lo and loopback0), as
    address keywords need them; None when the addresses are not known. In NAT mode the WSL
    adapter's prefix is the vEthernet (WSL) subnet; in mirrored mode Linux's interfaces carry
    the Windows adapters' addresses (docs/wsl-networking.md §1.2, §1.3)."""
    ifaces = network.interfaces if network is not None else None
    if ifaces is None or isinstance(ifaces, Unknown):
        return None
    nets: list[Network] = []
    for i in ifaces:
        if (interfaces is None and i.name in ("lo", "loopback0")) or (
            interfaces is not None and i.name not in interfaces
        ):
            continue
        for a in i.addresses:
            if a.prefix is not None and a.scope == "global":
                try:
                    nets.append(ipaddress.ip_network(f"{a.address}/{a.prefix}", strict=False))
                except ValueError:
                    continue
    return tuple(nets) if nets else None
