"""One compiled form for every netfilter source: iptables-legacy, iptables-nft and native nft.

The adapters (``from_iptables``, ``from_nft``) compile parsed rules into this form once; the
evaluator then only walks it. A rule is a tuple of conditions and one action. A condition
answers True, False or a string — the reason it cannot be decided (an ipset whose members we do
not know, ``-m recent``, a uid owner …), which the evaluator turns into an ``unknown`` verdict
naming the expression instead of guessing.
"""

from __future__ import annotations

import ipaddress
import threading
from bisect import bisect_right
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from wsltui.simulation.packet import HostView, Packet

# Netfilter hook priorities of the iptables tables (include/uapi/linux/netfilter_ipv4.h).
TABLE_PRIORITY = {"raw": -300, "mangle": -150, "nat": -100, "filter": 0, "security": 50}
NAT_SRC_PRIORITY = 100  # nat POSTROUTING / INPUT
BUILTIN_HOOKS = {
    "raw": {"PREROUTING": "prerouting", "OUTPUT": "output"},
    "mangle": {
        "PREROUTING": "prerouting",
        "INPUT": "input",
        "FORWARD": "forward",
        "OUTPUT": "output",
        "POSTROUTING": "postrouting",
    },
    "nat": {"PREROUTING": "prerouting", "INPUT": "input", "OUTPUT": "output", "POSTROUTING": "postrouting"},
    "filter": {"INPUT": "input", "FORWARD": "forward", "OUTPUT": "output"},
    "security": {"INPUT": "input", "FORWARD": "forward", "OUTPUT": "output"},
}

UNKNOWN = object()  # a key whose value cannot be known for this packet


# --- keys: what a condition looks at ----------------------------------------------------------


def _l4(pkt: Packet, host: HostView):
    return pkt.proto


def _nfproto(pkt: Packet, host: HostView):
    return "ipv4" if pkt.family == 4 else "ipv6"


def _iifname(pkt: Packet, host: HostView):
    return pkt.iif


def _oifname(pkt: Packet, host: HostView):
    return pkt.oif


def _iif_index(pkt: Packet, host: HostView):
    return host.interface_index.get(pkt.iif, UNKNOWN) if pkt.iif else None


def _oif_index(pkt: Packet, host: HostView):
    return host.interface_index.get(pkt.oif, UNKNOWN) if pkt.oif else None


def _saddr(pkt, host):
    return pkt.src


def _daddr(pkt, host):
    return pkt.dst


def _sport(pkt, host):
    return pkt.sport


def _dport(pkt, host):
    return pkt.dport


def _mark(pkt, host):
    return pkt.mark


def _ct_mark(pkt, host):
    return pkt.ct_mark


def _ct_direction(pkt, host):
    return "reply" if pkt.ct_reply else "original"


def _ct_state(pkt, host):
    return pkt.ct_state


def _ct_status(pkt, host):
    return pkt.ct_status


def _ct_orig_daddr(pkt, host):
    return pkt.orig_dst or pkt.dst


def _ct_orig_dport(pkt, host):
    return pkt.orig_dport if pkt.orig_dport is not None else pkt.dport


def _ct_orig_saddr(pkt, host):
    return pkt.src


def _icmpv6_type(pkt, host):
    return pkt.icmp_type


def _hop_limit(pkt, host):
    return UNKNOWN if pkt.hop_limit is None else pkt.hop_limit


def _tcp_flags(pkt, host):
    return frozenset({"syn"})  # the first packet of a TCP connection


def _pkttype(pkt, host):
    if pkt.dst.is_multicast:
        return "multicast"
    if pkt.family == 4 and str(pkt.dst).endswith(".255"):
        return UNKNOWN  # could be a subnet broadcast; we do not guess
    return "host"


def _fib_daddr_type(pkt, host):
    return _addr_type(pkt.dst, host)


def _fib_saddr_type(pkt, host):
    return _addr_type(pkt.src, host)


def _addr_type(addr, host: HostView):
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


def _fib_saddr_iif_oif(pkt, host):
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


def reads_packet_only(keys, requires=()) -> bool:
    """Do these keys (names) and requirements ((keyfn, allowed), ...) read nothing but the packet?"""
    return all(k in PACKET_KEYS for k in keys) and all(fn in _PACKET_KEYFNS for fn, _ in requires)


# --- values a key is compared with ---------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    lo: object
    hi: object

    def contains(self, v) -> bool:
        try:
            return self.lo <= v <= self.hi
        except TypeError:
            return False


def value_in(v, element) -> bool:
    """Does packet value ``v`` fall in one element (a value, a network, an Interval, a glob)?"""
    if isinstance(element, Interval):
        return element.contains(v)
    if isinstance(element, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return getattr(v, "version", None) == element.version and v in element
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


# --- conditions ------------------------------------------------------------------------------


class Cond:
    __slots__ = ("text",)
    # True when test() reads nothing but the packet (not the host, no assumption): equal packets
    # get equal answers, so ChainView works it out once per packet instead of at every walk.
    packet_only = False

    def test(self, pkt: Packet, host: HostView):  # -> True | False | str (why unknown)
        raise NotImplementedError


class Compare(Cond):
    """``key op right``: op is "==", "!=", "in" (any element), "not in", "<", "<=", ">", ">=".

    ``requires`` makes the condition False for packets it cannot apply to (``tcp dport`` on
    a UDP packet, ``ip saddr`` on IPv6), as nft's implicit dependencies and iptables' ``-p`` do."""

    __slots__ = ("key", "op", "right", "requires", "keyname", "need_proto", "fast", "packet_only")

    def __init__(self, key: str, op: str, right, text: str, requires: tuple = ()) -> None:
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

    def test(self, pkt, host):
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


def _fast_test(key: str, op: str, right):
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

        def ports(p):
            x = getattr(p, attr)
            return (x in exact or any(lo <= x <= hi for lo, hi in ranges)) != negate

        return ports
    if key in ("saddr", "daddr"):
        nets = net_ints(values)
        if nets is None:
            return None
        which = "src_int" if key == "saddr" else "dst_int"

        def addresses(p):
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

    def test(self, pkt, host):
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

    def test(self, pkt, host):
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


class Assumed(Cond):
    __slots__ = ("result",)

    def __init__(self, value: bool, why: str, text: str) -> None:
        self.result, self.text = Assume(value, why), text

    def test(self, pkt, host):
        return self.result


class Const(Cond):
    __slots__ = ("value",)
    packet_only = True

    def __init__(self, value: bool, text: str) -> None:
        self.value, self.text = value, text

    def test(self, pkt, host):
        return self.value


class Undecidable(Cond):
    """A match wsltui cannot evaluate (``-m recent``, an ipset we cannot read, ``xt`` …)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str, text: str) -> None:
        self.reason, self.text = reason, text

    def test(self, pkt, host):
        return self.reason


# --- actions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    kind: str  # accept drop reject jump goto return continue dnat redirect snat mark setmark notrack vmap unknown
    target: str | None = None  # chain for jump/goto
    reject_with: str | None = None  # tcp-reset, icmp-port-unreachable, admin-prohibited, …
    nat_addr: object = None  # ipaddress or None (keep the address)
    nat_port: tuple[int, int] | None = None
    mark: tuple[int, int] | None = None  # (value, mask): new = (old & ~mask) ^ value  (xt MARK --set-xmark)
    vmap_key: str | None = None
    vmap: tuple = ()  # ((element, Action), ...)
    vmap_requires: tuple = ()  # like Compare.requires: the map does not apply to other packets
    reason: str | None = None  # for kind="unknown"
    # kind="setmark": ``mark_key`` ("meta mark" or "ct mark") becomes ``mark_expr`` evaluated on
    # the packet: an int, a key name, or (op, left, right) with op "&", "|", "^" (MarkExpr)
    mark_key: str | None = None
    mark_expr: object = None

    @property
    def terminal(self) -> bool:
        return self.kind in ("accept", "drop", "reject", "dnat", "redirect", "snat", "unknown")


CONTINUE = Action("continue")


def mark_value(expr, pkt: Packet) -> int:
    """A ``setmark`` expression's value for ``pkt``: ``meta mark set ct mark & 0xff0000``,
    CONNMARK --save-mark/--restore-mark with their masks."""
    if isinstance(expr, int):
        return expr
    if expr == "meta mark":
        return pkt.mark
    if expr == "ct mark":
        return pkt.ct_mark
    op, left, right = expr
    a, b = mark_value(left, pkt), mark_value(right, pkt)
    return (a & b) if op == "&" else (a | b) if op == "|" else (a ^ b)


@dataclass(frozen=True)
class RuleRef:
    """Where a rule lives and how a person reads it."""

    source: str  # "iptables-legacy" | "iptables-nft" | "nft"
    family: str  # "ipv4" | "ipv6" | "inet" | nft family
    table: str
    chain: str
    position: int  # 1-based within the chain
    text: str  # verbatim: the iptables-save line or the nft rule text
    handle: int | None = None  # nft handle
    comment: str | None = None

    def location(self) -> str:
        if self.source == "nft":
            return f"nft {self.family} {self.table} chain {self.chain}, rule {self.position}" + (
                f" (handle {self.handle})" if self.handle is not None else ""
            )
        return f"{self.source} ({self.family}) table {self.table}, chain {self.chain}, rule {self.position}"


@dataclass
class Rule:
    conds: tuple
    action: Action
    ref: RuleRef
    effects: tuple = ()  # nft statements that change the packet before the verdict (meta mark set)


class Chain:
    """A chain's rules, compiled on demand, with a cheap pre-filter per rule.

    ``prefilter[i]`` is (protocols, ports) a rule needs — positive ``-p``/``--dport`` style
    conditions, None for "any" — so a packet skips rules that cannot match without compiling or
    testing them. A trace of a 100k-rule ruleset then compiles only the rules the packet could
    meet. The pre-filter only ever skips rules whose own conditions would be false. A walk reads
    the candidates through a ChainView."""

    __slots__ = ("name", "_sources", "_build", "_compiled", "prefilter", "_memo")

    def __init__(
        self,
        name: str,
        rules: list[Rule] | None = None,
        *,
        sources: list | None = None,
        build=None,
        prefilter: list | None = None,
    ) -> None:
        self.name = name
        self._sources = sources if sources is not None else (rules or [])
        self._build = build  # source -> Rule; None when ``rules`` are already compiled
        self._compiled: list = list(rules) if rules is not None else [None] * len(self._sources)
        self.prefilter = prefilter if prefilter is not None else [prefilter_of(r) for r in self._compiled]
        self._memo: dict = {}

    def __len__(self) -> int:
        return len(self._compiled)

    def rule(self, i: int) -> Rule:
        r = self._compiled[i]
        if r is None:
            r = self._compiled[i] = self._build(self._sources[i])
        return r

    @property
    def rules(self) -> list[Rule]:
        return [self.rule(i) for i in range(len(self._compiled))]

    def candidates(self, pkt: Packet) -> list[int]:
        """Indexes of the rules ``pkt`` could match, in order (memoised per packet shape)."""
        key = (pkt.proto, pkt.dport, pkt.src, pkt.dst, pkt.iif)
        found = self._memo.get(key)
        if found is None:
            proto, port, iif, v = pkt.proto, pkt.dport, pkt.iif, pkt.family
            s, d = int(pkt.src), int(pkt.dst)
            found = self._memo[key] = [
                i
                for i, (protos, ports, srcs, dsts, iifs) in enumerate(self.prefilter)
                if (protos is None or proto in protos)
                and (ports is None or any(lo <= port <= hi for lo, hi in ports))
                and (srcs is None or any(ver == v and s & mask == net for ver, net, mask in srcs))
                and (dsts is None or any(ver == v and d & mask == net for ver, net, mask in dsts))
                and (iifs is None or iif in iifs)
            ]
        return found


class ChainView:
    """A chain as one packet sees it: the rules the packet can meet, in order, each with the
    conditions left to test when a walk reaches it.

    The conditions that read the packet alone (``Cond.packet_only``) are decided here, once:
    a rule one of them rules out is left out, those that hold are dropped, and the rest keeps
    its order, cut after the first condition decided otherwise (see ``left_to_test``). A walk
    then gets the same answers, reasons and assumptions as testing every condition in turn.
    Built lazily, a few pre-filter candidates at a time as a walk goes on (a trace that stops
    early in a long chain decides only its start), and kept per packet by ``Table.views``."""

    __slots__ = ("rules", "tests", "indexes", "_chain", "_pkt", "_todo", "_next")

    def __init__(self, chain: Chain, pkt: Packet, after: int = -1) -> None:
        self.rules: list[Rule] = []
        self.tests: list[tuple] = []  # per rule: the conditions left to test
        self.indexes: list[int] = []  # per rule: its index in the chain
        self._chain, self._pkt = chain, pkt
        todo = chain.candidates(pkt)
        self._todo = todo if after < 0 else todo[bisect_right(todo, after) :]  # the rest of a chain
        self._next = 0

    def more(self, host: HostView) -> bool:
        """Decide the next candidates; False when none are left."""
        todo = self._todo
        if self._next >= len(todo):
            return False
        with _DECIDING:
            start = self._next
            end = min(start + VIEW_BATCH, len(todo))
            chain, pkt = self._chain, self._pkt
            for i in todo[start:end]:
                rule = chain.rule(i)
                tests = left_to_test(rule, pkt, host)
                if tests is not None:
                    # ``rules`` last: a walk in another thread reads up to len(rules)
                    self.indexes.append(i)
                    self.tests.append(tests)
                    self.rules.append(rule)
            self._next = end
        return True

    def rest_after(self, pos: int, pkt: Packet) -> ChainView:
        """The rules after the first ``pos`` of this view, for ``pkt`` (a packet a rule changed)."""
        return ChainView(self._chain, pkt, self.indexes[pos - 1] if pos else -1)


VIEW_BATCH = 64  # candidates decided at a time
# Views are shared by every trace of a World, and the app traces in worker threads: one thread
# at a time extends them (walks only read them).
_DECIDING = threading.Lock()


def left_to_test(rule: Rule, pkt: Packet, host: HostView) -> tuple | None:
    """The conditions of ``rule`` a walk still has to test for ``pkt``, in order; None when the
    rule changes nothing for this packet (it cannot match, or it matches and only continues)."""
    left: list = []
    for cond in rule.conds:
        if not cond.packet_only:
            left.append(cond)
            continue
        r = cond.test(pkt, host)
        if r is True:
            continue
        if r is False and not left:
            return None
        left.append(cond)  # false after a condition only the walk can test, or a reason: the test stops here
        break
    if rule.action.kind == "continue" and not rule.effects and not any(c.__class__ is Assumed for c in left):
        return None  # a counter or LOG, with no assumption to report
    return tuple(left)


ANY = (None, None, None, None, None)


def net_ints(nets) -> tuple | None:
    """Networks and addresses as (version, network int, mask int), for the pre-filter."""
    out = []
    for n in nets:
        if isinstance(n, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            out.append((n.version, int(n.network_address), int(n.netmask)))
        elif isinstance(n, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            out.append((n.version, int(n), (1 << n.max_prefixlen) - 1))
        else:
            return None
    return tuple(out)


def prefilter_of(rule: Rule) -> tuple:
    """(protocols, destination port ranges, source nets, destination nets, input interfaces)
    from a compiled rule's positive conditions; None in a slot the rule does not constrain."""
    protos = ports = srcs = dsts = iifs = None
    for c in rule.conds:
        if c.__class__ is not Compare or c.op not in ("in", "=="):
            continue
        values = c.right if c.op == "in" else [c.right]
        if c.keyname == "meta l4proto":
            if all(isinstance(v, str) for v in values):
                protos = frozenset(values) if protos is None else protos & frozenset(values)
        elif c.keyname == "dport":
            ranges = []
            for v in values:
                if isinstance(v, int):
                    ranges.append((v, v))
                elif isinstance(v, Interval) and isinstance(v.lo, int):
                    ranges.append((v.lo, v.hi))
                else:
                    ranges = None
                    break
            if ranges is not None:
                ports = tuple(ranges)
            for keyfn, allowed in c.requires:  # "tcp dport" also needs the protocol
                if keyfn is KEYS["meta l4proto"]:
                    protos = frozenset(allowed) if protos is None else protos & frozenset(allowed)
        elif c.keyname in ("saddr", "daddr") and not c.requires:
            nets = net_ints(values)
            if nets is not None:
                if c.keyname == "saddr":
                    srcs = nets
                else:
                    dsts = nets
        elif c.keyname == "meta iifname" and all(isinstance(v, str) for v in values):
            iifs = frozenset(values)
    return protos, ports, srcs, dsts, iifs


MAX_PACKETS = 32  # per table, in Table.views


@dataclass
class Table:
    source: str
    family: str  # "ipv4", "ipv6", or nft "ip", "ip6", "inet", "arp", "bridge", "netdev"
    name: str
    chains: dict[str, Chain] = field(default_factory=dict)
    _views: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def views(self, pkt: Packet) -> dict:
        """{chain: ChainView} for this packet, kept for the next trace of an equal packet. A few
        packets are kept (a trace makes one to four); then the oldest are forgotten."""
        found = self._views.get(pkt)
        if found is None:
            with _DECIDING:
                found = self._views.get(pkt)
                if found is None:
                    if len(self._views) >= MAX_PACKETS:
                        del self._views[next(iter(self._views))]
                    found = self._views[pkt] = {}
        return found

    def forget_views(self) -> None:
        """Drop every ChainView (after a change to the compiled rules)."""
        self._views.clear()

    def applies_to(self, family: int) -> bool:
        f = self.family
        return f in ("inet",) or (family == 4 and f in ("ipv4", "ip")) or (family == 6 and f in ("ipv6", "ip6"))


@dataclass
class BaseChain:
    table: Table
    chain: Chain
    hook: str  # prerouting input forward output postrouting
    priority: int
    type: str  # filter | nat | route
    policy: str  # accept | drop
    policy_text: str = ""  # how the policy reads ("policy DROP" of chain INPUT)
    # When the kernel registered this chain's hook, as (nft table handle, chain handle): at equal
    # priority the most recently registered hook runs first (nf_hook_entries_grow). None for
    # iptables-legacy, whose order against nf_tables chains no snapshot can tell.
    order: tuple | None = None

    @property
    def label(self) -> str:
        t = self.table
        if t.source == "nft":
            return f"nft {t.family} {t.name} {self.chain.name}"
        return f"{t.source} {t.family} {t.name} {self.chain.name}"


@dataclass
class Netfilter:
    """Every table of every source, and their base chains by hook."""

    tables: list[Table] = field(default_factory=list)
    base_chains: list[BaseChain] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # sources that were unknown, with why
    unknown_sources: list[str] = field(default_factory=list)

    def at_hook(self, hook: str, family: int) -> list[BaseChain]:
        """Base chains in the order the kernel runs them: by priority; at equal priority the
        later-registered first; legacy chains (order unknown) after those (see ``ambiguous``)."""
        chains = [b for b in self.base_chains if b.hook == hook and b.table.applies_to(family)]
        chains.sort(key=lambda b: (b.priority, b.order is None, tuple(-x for x in b.order or ())))
        return chains


ICMPV6_TYPES = {
    "destination-unreachable": 1,
    "packet-too-big": 2,
    "time-exceeded": 3,
    "parameter-problem": 4,
    "echo-request": 128,
    "echo-reply": 129,
    "mld-listener-query": 130,
    "mld-listener-report": 131,
    "mld-listener-done": 132,
    "mld-listener-reduction": 132,
    "nd-router-solicit": 133,
    "nd-router-advert": 134,
    "nd-neighbor-solicit": 135,
    "nd-neighbor-advert": 136,
    "nd-redirect": 137,
    "router-solicitation": 133,
    "router-advertisement": 134,
    "neighbour-solicitation": 135,
    "neighbor-solicitation": 135,
    "neighbour-advertisement": 136,
    "neighbor-advertisement": 136,
    "redirect": 137,
    "mld2-listener-report": 143,
    "ind-neighbor-solicit": 141,
    "ind-neighbor-advert": 142,
}
