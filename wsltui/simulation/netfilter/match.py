"""Matching a packet against a rule's conditions: the keys a condition reads from the packet (or
the host), the values it compares them with, and the conditions themselves. A condition answers
True, False, an ``Assume`` (decided by an assumption the trace names) or a string: the reason it
cannot be decided (an ipset whose members we do not know, ``-m recent``, a uid owner …), which
the evaluator turns into an ``unknown`` verdict naming the expression instead of guessing."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from wsltui.simulation.packet import Address, HostView, Packet

# What a key reads from a packet (and the host): a value, or UNKNOWN.
KeyFn = Callable[[Packet, HostView], object]
# ``requires`` of a condition: (key, the values it allows), each a precondition for the packet.
Requires = tuple[tuple[KeyFn, Collection[Any]], ...]
# A mark a ``setmark`` sets: a number, a key ("meta mark", "ct mark"), or (op, left, right) with op & | ^.
MarkExpr = int | str | tuple[str, "MarkExpr", "MarkExpr"]

UNKNOWN = object()  # a key whose value cannot be known for this packet


def _l4(pkt: Packet, host: HostView) -> object:
    return pkt.proto


def _nfproto(pkt: Packet, host: HostView) -> object:
    return "ipv4" if pkt.family == 4 else "ipv6"


def _iifname(pkt: Packet, host: HostView) -> object:
    return pkt.iif


def _oifname(pkt: Packet, host: HostView) -> object:
    return pkt.oif


def _iif_index(pkt: Packet, host: HostView) -> object:
    return host.interface_index.get(pkt.iif, UNKNOWN) if pkt.iif else None


def _oif_index(pkt: Packet, host: HostView) -> object:
    return host.interface_index.get(pkt.oif, UNKNOWN) if pkt.oif else None


def _saddr(pkt: Packet, host: HostView) -> object:
    return pkt.src


def _daddr(pkt: Packet, host: HostView) -> object:
    return pkt.dst


def _sport(pkt: Packet, host: HostView) -> object:
    return pkt.sport


def _dport(pkt: Packet, host: HostView) -> object:
    return pkt.dport


def _mark(pkt: Packet, host: HostView) -> object:
    return pkt.mark


def _ct_mark(pkt: Packet, host: HostView) -> object:
    return pkt.ct_mark


def _ct_direction(pkt: Packet, host: HostView) -> object:
    return "reply" if pkt.ct_reply else "original"


def _ct_state(pkt: Packet, host: HostView) -> object:
    return pkt.ct_state


def _ct_status(pkt: Packet, host: HostView) -> object:
    return pkt.ct_status


def _ct_orig_daddr(pkt: Packet, host: HostView) -> object:
    return pkt.orig_dst or pkt.dst


def _ct_orig_dport(pkt: Packet, host: HostView) -> object:
    return pkt.orig_dport if pkt.orig_dport is not None else pkt.dport


def _ct_orig_saddr(pkt: Packet, host: HostView) -> object:
    return pkt.src


def _icmpv6_type(pkt: Packet, host: HostView) -> object:
    return pkt.icmp_type


def _hop_limit(pkt: Packet, host: HostView) -> object:
    return UNKNOWN if pkt.hop_limit is None else pkt.hop_limit


def _tcp_flags(pkt: Packet, host: HostView) -> object:
    return frozenset({"syn"})  # the first packet of a TCP connection


def _pkttype(pkt: Packet, host: HostView) -> object:
    if pkt.dst.is_multicast:
        return "multicast"
    if pkt.family == 4 and str(pkt.dst).endswith(".255"):
        return UNKNOWN  # could be a subnet broadcast; we do not guess
    return "host"


def _fib_daddr_type(pkt: Packet, host: HostView) -> object:
    return _addr_type(pkt.dst, host)


def _fib_saddr_type(pkt: Packet, host: HostView) -> object:
    return _addr_type(pkt.src, host)


def _addr_type(addr: Address, host: HostView) -> object:
    if addr.is_multicast:
        return "multicast"
    local = host.is_local(addr)
    if local is None:
        return UNKNOWN
    if local:
        return "local"
    if addr.version == 4 and addr == ipaddress.IPv4Address("255.255.255.255"):
        return "broadcast"
    return "unicast"


def _fib_saddr_iif_oif(pkt: Packet, host: HostView) -> object:
    """``fib saddr . iif oif``: the reverse-path lookup firewalld uses against spoofing."""
    if not pkt.iif:
        return UNKNOWN
    if pkt.iif == "lo":
        return "lo"
    dev = host.route_dev(pkt.src, pkt.iif)
    if dev is False:
        return UNKNOWN
    return dev  # None = "missing"


KEYS = {
    "meta l4proto": _l4,
    "meta nfproto": _nfproto,
    "meta iifname": _iifname,
    "meta oifname": _oifname,
    "meta iif": _iif_index,
    "meta oif": _oif_index,
    # iif/oif by the name nft showed for the index (from_nft._iface_key): the names, compared whole
    "meta iifname_exact": _iifname,
    "meta oifname_exact": _oifname,
    "meta mark": _mark,
    "ct mark": _ct_mark,
    "meta pkttype": _pkttype,
    "saddr": _saddr,
    "daddr": _daddr,
    "sport": _sport,
    "dport": _dport,
    "ct state": _ct_state,
    "ct status": _ct_status,
    "ct direction": _ct_direction,
    "ct original daddr": _ct_orig_daddr,
    "ct original saddr": _ct_orig_saddr,
    "ct original proto-dst": _ct_orig_dport,
    "tcp flags": _tcp_flags,
    "icmpv6 type": _icmpv6_type,
    "hop limit": _hop_limit,
    "fib daddr type": _fib_daddr_type,
    "fib saddr type": _fib_saddr_type,
    "fib saddr iif oif": _fib_saddr_iif_oif,
}

# Keys read from the packet alone (the others look at the host: interface indexes, routes). A
# condition on these gives the same answer for equal packets, so a chain decides it once per
# packet (ChainView). A key missing here is only slower, never wrong.
PACKET_KEYS = frozenset(
    {
        "meta l4proto",
        "meta nfproto",
        "meta iifname",
        "meta oifname",
        "meta iifname_exact",
        "meta oifname_exact",
        "meta mark",
        "ct mark",
        "meta pkttype",
        "saddr",
        "daddr",
        "sport",
        "dport",
        "ct state",
        "ct status",
        "ct direction",
        "ct original daddr",
        "ct original saddr",
        "ct original proto-dst",
        "tcp flags",
        "icmpv6 type",
        "hop limit",
    }
)
_PACKET_KEYFNS = frozenset(KEYS[k] for k in PACKET_KEYS)


def reads_packet_only(keys: Iterable[str], requires: Requires = ()) -> bool:
    """Do these keys (names) and requirements ((keyfn, allowed), ...) read nothing but the packet?"""
    return all(k in PACKET_KEYS for k in keys) and all(fn in _PACKET_KEYFNS for fn, _ in requires)


@dataclass(frozen=True)
class Interval:
    lo: Any  # comparable with the packet's value: ports, addresses
    hi: Any

    def contains(self, v: object) -> bool:
        try:
            return self.lo <= v <= self.hi
        except TypeError:
            return False


def value_in(v: object, element: object) -> bool:
    """Does packet value ``v`` fall in one element (a value, a network, an Interval, a glob)?"""
    if isinstance(element, Interval):
        return element.contains(v)
    if isinstance(element, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return (
            isinstance(v, (ipaddress.IPv4Address, ipaddress.IPv6Address))
            and v.version == element.version
            and v in element
        )
    if isinstance(element, Glob):
        return isinstance(v, str) and element.matches(v)
    if isinstance(v, frozenset):  # flag sets (ct status, tcp flags): any bit in common
        return element in v
    return v == element


@dataclass(frozen=True)
class Glob:
    """An interface name pattern: iptables ``eth+``, nft ``"eth*"``."""

    pattern: str

    def matches(self, name: str) -> bool:
        return fnmatchcase(name, self.pattern)


class Cond:
    __slots__ = ("text",)
    text: str  # how the condition reads in the rule
    # True when test() reads nothing but the packet (not the host, no assumption): equal packets
    # get equal answers, so ChainView works it out once per packet instead of at every walk.
    packet_only = False

    def test(self, pkt: Packet, host: HostView) -> Answer:
        raise NotImplementedError


class Compare(Cond):
    """``key op right``: op is "==", "!=", "in" (any element), "not in", "<", "<=", ">", ">=".

    ``requires`` makes the condition False for packets it cannot apply to (``tcp dport`` on
    a UDP packet, ``ip saddr`` on IPv6), as nft's implicit dependencies and iptables' ``-p`` do."""

    __slots__ = ("key", "op", "right", "requires", "keyname", "need_proto", "fast", "packet_only")

    def __init__(self, key: str, op: str, right: Any, text: str, requires: Requires = ()) -> None:
        self.keyname = key
        self.key = KEYS[key]
        self.op = op
        self.right = right
        self.text = text
        self.requires = requires  # ((keyfn, allowed values), ...)
        self.packet_only = reads_packet_only((key,), requires)
        # The common shapes get a specialised test (a trace walks thousands of rules):
        # a protocol requirement as one set lookup, and the comparison itself as ints and sets.
        self.need_proto = None
        if len(requires) == 1 and requires[0][0] is KEYS["meta l4proto"]:
            self.need_proto, self.requires = frozenset(requires[0][1]), ()
        self.fast = _fast_test(key, op, right)

    def test(self, pkt: Packet, host: HostView) -> Answer:
        if self.need_proto is not None and pkt.proto not in self.need_proto:
            return False
        if self.fast is not None:
            return self.fast(pkt)
        for keyfn, allowed in self.requires:
            if keyfn(pkt, host) not in allowed:
                return False
        v = self.key(pkt, host)
        if v is UNKNOWN:
            return f"cannot tell {self.keyname} for this packet"
        op = self.op
        if op in ("in", "not in"):
            hit = any(value_in(v, e) for e in self.right)
            return hit if op == "in" else not hit
        if op in ("==", "!="):
            if v is None:
                return op == "!="
            hit = value_in(v, self.right)
            return hit if op == "==" else not hit
        try:
            return {"<": v < self.right, "<=": v <= self.right, ">": v > self.right, ">=": v >= self.right}[op]
        except (TypeError, KeyError):
            return f"cannot compare {self.keyname} {op} {self.right}"


def _fast_test(key: str, op: str, right: Any) -> Callable[[Packet], bool] | None:
    """A specialised ``pkt -> bool`` for the shapes most rules have, or None."""
    if op not in ("in", "not in", "==", "!="):
        return None
    values = list(right) if op in ("in", "not in") else [right]
    negate = op in ("not in", "!=")
    if key in ("dport", "sport"):
        exact = frozenset(v for v in values if isinstance(v, int) and not isinstance(v, bool))
        ranges = tuple((v.lo, v.hi) for v in values if isinstance(v, Interval))
        if len(exact) + len(ranges) != len(values) or any(not isinstance(lo, int) for lo, _ in ranges):
            return None
        attr = key
        if not ranges:
            return (lambda p: getattr(p, attr) not in exact) if negate else (lambda p: getattr(p, attr) in exact)

        def ports(p: Packet) -> bool:
            x = getattr(p, attr)
            return (x in exact or any(lo <= x <= hi for lo, hi in ranges)) != negate

        return ports
    if key in ("saddr", "daddr"):
        nets = net_ints(values)
        if nets is None:
            return None
        which = "src_int" if key == "saddr" else "dst_int"

        def addresses(p: Packet) -> bool:
            x, v = getattr(p, which), p.family
            return any(ver == v and x & mask == net for ver, net, mask in nets) != negate

        return addresses
    if key in ("meta l4proto", "ct state", "meta iifname") and all(isinstance(v, str) for v in values):
        names = frozenset(values)
        attr = {"meta l4proto": "proto", "ct state": "ct_state", "meta iifname": "iif"}[key]
        return (lambda p: getattr(p, attr) not in names) if negate else (lambda p: getattr(p, attr) in names)
    return None


class Masked(Cond):
    """``key & mask op value`` (marks, ``-m mark --mark v/m``)."""

    __slots__ = ("key", "mask", "value", "negated", "keyname", "packet_only")

    def __init__(self, key: str, mask: int, value: int, negated: bool, text: str) -> None:
        self.keyname, self.key, self.mask, self.value, self.negated, self.text = (
            key,
            KEYS[key],
            mask,
            value,
            negated,
            text,
        )
        self.packet_only = reads_packet_only((key,))

    def test(self, pkt: Packet, host: HostView) -> Answer:
        v = self.key(pkt, host)
        if not isinstance(v, int):
            return f"cannot tell {self.keyname} for this packet"
        hit = (v & self.mask) == self.value
        return hit != self.negated


class Lookup(Cond):
    """Membership of a tuple of keys in a set of tuples (nft concatenations)."""

    __slots__ = ("keys", "elements", "negated", "requires", "packet_only")

    def __init__(self, keys: list[str], elements: list[tuple], negated: bool, text: str, requires: tuple = ()) -> None:
        self.keys = [KEYS[k] for k in keys]
        self.packet_only = reads_packet_only(keys, requires)
        self.elements = elements
        self.negated = negated
        self.text = text
        self.requires = requires

    def test(self, pkt: Packet, host: HostView) -> Answer:
        for keyfn, allowed in self.requires:
            if keyfn(pkt, host) not in allowed:
                return False
        values = [k(pkt, host) for k in self.keys]
        if any(v is UNKNOWN for v in values):
            return "cannot tell every part of the concatenation for this packet"
        hit = any(len(e) == len(values) and all(value_in(v, x) for v, x in zip(values, e)) for e in self.elements)
        return hit != self.negated


class Assume:
    """A condition decided by an assumption a person can check, named in the trace: a rate
    limit not yet reached, a client not yet on a ``recent`` list."""

    __slots__ = ("value", "why")

    def __init__(self, value: bool, why: str) -> None:
        self.value, self.why = value, why


# What a condition's test answers: True, False, an Assume, or why it cannot be told (a string).
Answer = bool | str | Assume


class Assumed(Cond):
    __slots__ = ("result",)

    def __init__(self, value: bool, why: str, text: str) -> None:
        self.result, self.text = Assume(value, why), text

    def test(self, pkt: Packet, host: HostView) -> Answer:
        return self.result


class Const(Cond):
    __slots__ = ("value",)
    packet_only = True

    def __init__(self, value: bool, text: str) -> None:
        self.value, self.text = value, text

    def test(self, pkt: Packet, host: HostView) -> Answer:
        return self.value


class Undecidable(Cond):
    """A match wsltui cannot evaluate (``-m recent``, an ipset we cannot read, ``xt`` …)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str, text: str) -> None:
        self.reason, self.text = reason, text

    def test(self, pkt: Packet, host: HostView) -> Answer:
        return self.reason


def mark_value(expr: MarkExpr, pkt: Packet) -> int:
    """A ``setmark`` expression's value for ``pkt``: ``meta mark set ct mark & 0xff0000``,
    CONNMARK --save-mark/--restore-mark with their masks."""
    if isinstance(expr, int):
        return expr
    if isinstance(expr, str):
        return pkt.mark if expr == "meta mark" else pkt.ct_mark
    op, left, right = expr
    a, b = mark_value(left, pkt), mark_value(right, pkt)
    return (a & b) if op == "&" else (a | b) if op == "|" else (a ^ b)


# Networks as (version, network int, mask int): what the pre-filter and the fast tests compare.
NetInts = tuple[tuple[int, int, int], ...]


def net_ints(nets: Iterable[object]) -> NetInts | None:
    """Networks and addresses as (version, network int, mask int), for the pre-filter."""
    out: list[tuple[int, int, int]] = []
    for n in nets:
        if isinstance(n, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            out.append((n.version, int(n.network_address), int(n.netmask)))
        elif isinstance(n, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            out.append((n.version, int(n), (1 << n.max_prefixlen) - 1))
        else:
            return None
    return tuple(out)
