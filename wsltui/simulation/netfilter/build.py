"""Assemble the evaluator's view of netfilter (every source) and of the host from the facts."""

from __future__ import annotations

import ipaddress

from wsltui.facts.base import Unknown
from wsltui.facts.forward import ForwardFacts
from wsltui.facts.iptables import IptablesFacts
from wsltui.facts.network import NetworkFacts
from wsltui.facts.nft import NftRuleset
from wsltui.simulation.netfilter import from_iptables, from_nft
from wsltui.simulation.netfilter.data import Netfilter
from wsltui.simulation.packet import HostView


def build_netfilter(iptables_facts: IptablesFacts | None, nft_facts: NftRuleset | None) -> Netfilter:
    nf = Netfilter()
    readable_iptables_nft: set[tuple[str, str]] = set()
    if iptables_facts is not None:
        for rs in iptables_facts.rulesets():
            if rs.unknown is not None:
                nf.unknown_sources.append(f"{rs.record}: {rs.unknown}")
                continue
            tables, bases = from_iptables.compile_ruleset(rs, iptables_facts.ipsets)
            nf.tables += tables
            nf.base_chains += bases
            if rs.backend == "nft":
                fam = "ip" if rs.family == "ipv4" else "ip6"
                readable_iptables_nft |= {(fam, t.name) for t in rs.tables}
    else:
        nf.unknown_sources.append("iptables: the facts could not be read")
    if nft_facts is None or nft_facts.unknown is not None:
        nf.unknown_sources.append(
            f"nf.nft: {nft_facts.unknown if nft_facts is not None else 'the facts could not be read'}"
        )
    else:
        # iptables-nft tables appear in both listings: read their rules from iptables-nft-save,
        # which keeps the xt details nft -j drops, and only their extra native chains from nft.
        skip = {(t.family, t.name) for t in nft_facts.tables if t.managed_by_iptables} & readable_iptables_nft
        tables, bases = from_nft.compile_ruleset(nft_facts, skip_iptables_tables=skip)
        nf.tables += tables
        nf.base_chains += bases
        _registration_order(nf, nft_facts)
    return nf


def _registration_order(nf: Netfilter, nft_facts: NftRuleset) -> None:
    """Give every nf_tables base chain (native and iptables-nft) its creation order."""
    handles = {}
    for t in nft_facts.tables:
        for c in t.chains:
            if c.base and t.handle is not None and c.handle is not None:
                handles[(t.family, t.name, c.name)] = (t.handle, c.handle)
    for base in nf.base_chains:
        table = base.table
        if table.source == "nft":
            base.order = handles.get((table.family, table.name, base.chain.name))
        elif table.source == "iptables-nft":
            family = "ip" if table.family == "ipv4" else "ip6"
            base.order = handles.get((family, table.name, base.chain.name))


def build_host(network_facts: NetworkFacts | None, forward_facts: ForwardFacts | None = None) -> HostView:
    switches = forward_facts.forwarding if forward_facts is not None else None
    forwarding = None if isinstance(switches, Unknown) else switches
    if network_facts is None or isinstance(network_facts.interfaces, Unknown):
        return HostView(known=False, forwarding=forwarding)
    local, per_iface, index = set(), {}, {}
    for iface in network_facts.interfaces:
        addrs = []
        for a in iface.addresses:
            try:
                ip = ipaddress.ip_address(a.address)
            except ValueError:
                continue
            addrs.append(ip)
            local.add(ip)
        per_iface[iface.name] = tuple(addrs)
        if iface.index is not None:
            index[iface.name] = iface.index
    routes, other_tables = [], set()
    if not isinstance(network_facts.routes, Unknown):
        for r in network_facts.routes:
            if r.table not in ("main", "254", "local", "255") and r.type in ("unicast", None):
                other_tables.add(r.table)
            if r.table not in ("main", "254") or not r.dev or r.type not in ("unicast", None):
                continue
            dst = r.dst
            if dst == "default":
                dst = "0.0.0.0/0" if r.family == "ipv4" else "::/0"
            try:
                routes.append((ipaddress.ip_network(dst, strict=False), r.dev))
            except ValueError:
                continue
        # Connected prefixes of every address count as routes too (ip route lists them, but a
        # hand-made snapshot may not).
        for name in per_iface:
            for iface in network_facts.interfaces:
                if iface.name != name:
                    continue
                for a in iface.addresses:
                    if a.prefix is not None and a.scope != "host":
                        try:
                            routes.append((ipaddress.ip_network(f"{a.address}/{a.prefix}", strict=False), name))
                        except ValueError:
                            pass
    routes.sort(key=lambda r: r[0].prefixlen, reverse=True)
    return HostView(
        frozenset(local),
        per_iface,
        index,
        tuple(routes),
        known=True,
        forwarding=forwarding,
        other_route_tables=tuple(sorted(other_tables)),
    )
