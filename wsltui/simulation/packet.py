"""The hypothetical packet: the first packet of a new connection, as netfilter sees it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Packet:
    proto: str  # "tcp" | "udp"
    src: Address
    dst: Address
    dport: int
    sport: int = 50000  # an ephemeral port; rules on the source port are rare for inbound traffic
    iif: str | None = None  # input interface (None for a locally generated packet before loopback)
    oif: str | None = None  # output interface (locally generated packets)
    mark: int = 0
    ct_mark: int = 0  # the connection's mark (CONNMARK / ct mark): 0 for a new connection
    ct_state: str = "new"  # "new" | "untracked"
    ct_reply: bool = False  # a packet of the reply direction (the destination's answer)
    ct_status: frozenset[str] = frozenset()  # {"dnat", "snat"} once NAT rewrote the packet
    orig_dst: Address | None = None  # before DNAT (conntrack --ctorigdst)
    orig_dport: int | None = None
    locally_generated: bool = False
    icmp_type: int | None = None  # for ICMPv6 neighbor discovery (135 = neighbor solicitation)
    hop_limit: int | None = None  # TTL / hop limit when known (neighbor discovery: always 255)

    @property
    def family(self) -> int:
        return self.src.version

    @property
    def src_int(self) -> int:
        # the integer ipaddress keeps (int(addr) without the call); its stubs do not declare it
        return self.src._ip  # type: ignore[union-attr]

    @property
    def dst_int(self) -> int:
        return self.dst._ip  # type: ignore[union-attr]

    def with_(self, **changes: Any) -> Packet:
        return replace(self, **changes)

    def describe(self) -> str:
        def ep(addr: Address, port: int) -> str:
            return f"[{addr}]:{port}" if addr.version == 6 else f"{addr}:{port}"

        where = []
        if self.iif:
            where.append(f"in {self.iif}")
        if self.oif:
            where.append(f"out {self.oif}")
        if self.icmp_type is not None:
            text = f"{self.proto} type {self.icmp_type} {self.src} -> {self.dst}"
        else:
            text = f"{self.proto} {ep(self.src, self.sport)} -> {ep(self.dst, self.dport)}"
        if where:
            text += " (" + ", ".join(where) + ")"
        if self.orig_dst is not None and (self.orig_dst, self.orig_dport) != (self.dst, self.dport):
            text += f" [was {ep(self.orig_dst, self.orig_dport or self.dport)}]"
        if self.mark:
            text += f" mark {self.mark:#x}"
        return text


def parse_address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None


@dataclass(frozen=True)
class HostView:
    """What the evaluator needs to know about the host: its addresses and routes (for
    ``addrtype``/``fib``) and interface indexes (for nft ``iif``)."""

    local_addresses: frozenset[Address] = frozenset()  # every address configured on any interface
    interface_addresses: dict[str, tuple[Address, ...]] = field(default_factory=dict)  # ifname -> addresses
    interface_index: dict[str, int] = field(default_factory=dict)  # ifname -> ifindex
    routes: tuple[tuple[Network, str], ...] = ()  # (network, dev) for the main table, longest prefix first
    known: bool = True  # False when the network facts were unknown (addrtype/fib become unknown)
    # net.ipv4.conf.<if>.forwarding / net.ipv6.conf.all.forwarding: "ipv4 <if>", "ipv4 all",
    # "ipv6 all" -> bool; None when they were not read
    forwarding: dict[str, bool] | None = None
    # Routing tables besides main and local that hold routes (Tailscale's 52, WSL mirrored's 127):
    # ``ip rule`` may send a forwarded packet there, and the rules are not in the snapshot.
    other_route_tables: tuple[str, ...] = ()

    def forwards(self, pkt: Packet) -> bool | None:
        """Does the kernel forward ``pkt`` (IPv4: the input interface's switch; IPv6: ``all``)?"""
        if self.forwarding is None:
            return None
        if pkt.family == 6:
            return self.forwarding.get("ipv6 all")
        return self.forwarding.get(f"ipv4 {pkt.iif}", self.forwarding.get("ipv4 all"))

    def is_local(self, addr: Address) -> bool | None:
        if addr.is_loopback:
            return True
        if addr.version == 6 and addr.is_multicast and int(addr) >> 112 == 0xFF02:
            return True  # link-local groups (all-nodes, solicited-node): every host joins its own
        if not self.known:
            return None
        return addr in self.local_addresses

    def route_dev(self, addr: Address, via: str | None = None) -> str | None | Literal[False]:
        """Device the main table routes ``addr`` through (restricted to ``via`` when given);
        None when there is no route; False when routes are unknown."""
        if not self.known:
            return False
        if addr.is_loopback:
            return "lo" if via in (None, "lo") else None
        for net, dev in self.routes:
            if addr.version == net.version and addr in net and (via is None or dev == via):
                return dev
        return None


def solicited_node(addr: Address) -> Address:
    """ff02::1:ffXX:XXXX, where a neighbor solicitation for ``addr`` is sent (RFC 4291)."""
    return ipaddress.IPv6Address((0xFF02 << 112) | (0x1FF << 24) | (int(addr) & 0xFFFFFF))
