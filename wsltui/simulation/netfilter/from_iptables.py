"""Compile iptables-save facts (either backend, either family) into the evaluator's form."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any, TypeVar

from wsltui.facts import iptables as ipt
from wsltui.facts.base import Unknown
from wsltui.simulation.netfilter.data import (
    BUILTIN_HOOKS,
    CONTINUE,
    ICMPV6_TYPES,
    NAT_SRC_PRIORITY,
    TABLE_PRIORITY,
    Action,
    BaseChain,
    Rule,
    RuleRef,
    Table,
)
from wsltui.simulation.netfilter.index import Chain
from wsltui.simulation.netfilter.match import (
    KEYS,
    Answer,
    Assumed,
    Compare,
    Cond,
    Const,
    Glob,
    Interval,
    Masked,
    Undecidable,
    net_ints,
)
from wsltui.simulation.packet import HostView, Network, Packet

T = TypeVar("T")

PROTO_NUMBERS = {
    "6": "tcp",
    "17": "udp",
    "1": "icmp",
    "58": "ipv6-icmp",
    "132": "sctp",
    "136": "udplite",
    "icmpv6": "ipv6-icmp",
    "ipv6-icmp": "ipv6-icmp",
}
PORT_PROTOS = frozenset({"tcp", "udp", "sctp", "udplite", "dccp"})
NON_TERMINAL_TARGETS = frozenset(
    {
        "LOG",
        "NFLOG",
        "ULOG",
        "TRACE",
        "AUDIT",
        "TCPMSS",
        "TOS",
        "DSCP",
        "TTL",
        "HL",
        "CLASSIFY",
        "CHECKSUM",
        "SECMARK",
        "CONNSECMARK",
        "SET",
        "IDLETIMER",
        "LED",
        "RATEEST",
        "TEE",
        "CONNMARK",
    }
)
ADDRTYPES = {"LOCAL": "local", "UNICAST": "unicast", "BROADCAST": "broadcast", "MULTICAST": "multicast"}

_L4 = KEYS["meta l4proto"]
_REQUIRES = {p: ((_L4, frozenset({p})),) for p in PORT_PROTOS}  # shared: 100k rules, one tuple each


def compile_ruleset(
    rs: ipt.IptablesRuleset, ipsets: dict[str, ipt.IpSet] | Unknown | None = None
) -> tuple[list[Table], list[BaseChain]]:
    """``ipsets``: the facts' ``ipsets`` ({name: IpSet}, or Unknown when they could not be read)."""
    source = "iptables-nft" if rs.backend == "nft" else "iptables-legacy"
    tables: list[Table] = []
    bases: list[BaseChain] = []
    for t in rs.tables:
        table = Table(source, rs.family, t.name)
        build = partial(_rule, source=source, family=rs.family, shared={}, ipsets=ipsets)
        for c in t.chains:
            table.chains[c.name] = Chain(
                c.name, sources=c.rules, build=build, prefilter=[_prefilter(r) for r in c.rules]
            )
        for c in t.chains:
            hook = BUILTIN_HOOKS.get(t.name, {}).get(c.name) if c.builtin else None
            if hook is None:
                continue
            prio = TABLE_PRIORITY.get(t.name, 0)
            if t.name == "nat" and hook in ("postrouting", "input"):
                prio = NAT_SRC_PRIORITY
            policy = (c.policy or "ACCEPT").lower()
            bases.append(
                BaseChain(
                    table,
                    table.chains[c.name],
                    hook,
                    prio,
                    "nat" if t.name == "nat" else "filter",
                    "drop" if policy == "drop" else "accept",
                    f":{c.name} {c.policy}",
                )
            )
        tables.append(table)
    return tables, bases


def _prefilter(r: ipt.Rule) -> tuple:
    """What the rule certainly needs — (protocols, destination port ranges, source nets,
    destination nets, input interfaces) — read from the facts without compiling the rule
    (see index.Chain); None where it could match any."""
    protos = ports = srcs = dsts = iifs = None
    if r.source is not None and not r.source.negated:
        nets = _networks(r.source.value)
        srcs = net_ints(nets) if nets is not None else None
    if r.destination is not None and not r.destination.negated:
        nets = _networks(r.destination.value)
        dsts = net_ints(nets) if nets is not None else None
    if r.in_iface is not None and not r.in_iface.negated and not r.in_iface.value.endswith("+"):
        iifs = frozenset((r.in_iface.value,))
    p = r.protocol
    if p is not None and not p.negated:
        name = PROTO_NUMBERS.get(p.value.lower(), p.value.lower())
        if name == "icmp":
            protos = _PROTO_SETS["icmp"]  # -p icmp in ip6tables also means ICMPv6 (see _rule)
        elif name not in ("all", "0"):
            protos = _PROTO_SETS.get(name) or frozenset({name})
    for m in r.matches:
        if m.module in PORT_PROTOS or m.module == "multiport":
            for opt in m.options:
                if not opt.negated and opt.name in ("dport", "destination-port", "dports", "destination-ports"):
                    ranges = _ports(opt.values)
                    if ranges is not None:
                        ports = tuple((v.lo, v.hi) if isinstance(v, Interval) else (v, v) for v in ranges)
    return protos, ports, srcs, dsts, iifs


_PROTO_SETS = {name: frozenset({name}) for name in ("tcp", "udp", "ipv6-icmp", "sctp", "udplite")}
_PROTO_SETS["icmp"] = frozenset({"icmp", "ipv6-icmp"})


def _rule(
    r: ipt.Rule,
    source: str,
    family: str,
    shared: dict[tuple, Any],
    ipsets: dict[str, ipt.IpSet] | Unknown | None = None,
) -> Rule:
    """``shared``: the conditions compiled so far for this table, by what they are made of. A
    condition never changes once made, so the rules share them: a table repeats ``-p tcp``,
    ``-i eth0``, ``--ctstate NEW`` …, and a trace compiles thousands of its rules."""
    conds: list = []
    comment = None
    ref_text = f"-t {r.table} {r.verbatim}" if r.table != "filter" else r.verbatim
    proto = None
    if r.protocol is not None:
        p = r.protocol
        name = PROTO_NUMBERS.get(p.value.lower(), p.value.lower())
        if name not in ("all", "0") and not p.negated:
            proto = name
        conds += _shared(shared, ("-p", p.value, p.negated), _protocol, p, name, family)
    for value, key, flag in (
        (r.source, "saddr", "-s"),
        (r.destination, "daddr", "-d"),
        (r.in_iface, "meta iifname", "-i"),
        (r.out_iface, "meta oifname", "-o"),
    ):
        if value is not None:
            conds.append(_shared(shared, (flag, value.value, value.negated), _address_or_iface, value, key, flag))
    if r.fragment is not None:
        # The first packet of a connection is never a non-first fragment.
        conds.append(_shared(shared, ("-f", r.fragment), Const, not r.fragment, "-f" if r.fragment else "! -f"))
    for m in r.matches:
        module = m.module
        if module == "comment":
            opt = m.options[0] if m.options else None
            comment = " ".join(opt.values) if opt else None
            continue
        for opt in m.options:
            conds.append(
                _shared(
                    shared,
                    (module, opt.name, opt.negated, tuple(opt.values), proto),
                    _option,
                    module,
                    opt,
                    proto,
                    family,
                    ipsets,
                )
            )
        if not m.options and module not in ("tcp", "udp", "icmp", "icmp6", "state", "conntrack"):
            conds.append(
                _shared(shared, ("-m", module), Undecidable, f"-m {module} is not evaluated by wsltui", f"-m {module}")
            )
    if r.unparsed:
        conds.append(Undecidable("wsltui could not read part of this rule", r.unparsed))
    action = _target(r, family)
    ref = RuleRef(source, family, r.table, r.chain, r.position, ref_text, comment=comment)
    return Rule(tuple(conds), action, ref)


def _shared(shared: dict[tuple, Any], key: tuple, make: Callable[..., T], *args: Any) -> T:
    """``make(*args)``, made once per ``key``."""
    made = shared.get(key)
    if made is None:
        made = shared[key] = make(*args)
    return made


def _protocol(p: ipt.Value, name: str, family: str) -> tuple:
    if name in ("all", "0"):
        return (Const(False, "! -p all"),) if p.negated else ()
    names = {name, "ipv6-icmp"} if name == "icmp" and family == "ipv6" else {name}
    text = f"{'! ' if p.negated else ''}-p {p.value}"
    return (Compare("meta l4proto", "not in" if p.negated else "in", names, text),)


def _address_or_iface(value: ipt.Value, key: str, flag: str) -> Cond:
    text = f"{'! ' if value.negated else ''}{flag} {value.value}"
    if key in ("meta iifname", "meta oifname"):
        return Compare(key, "!=" if value.negated else "==", _iface(value.value), text)
    nets = _networks(value.value)
    if nets is None:
        return Undecidable(f"cannot read the address {value.value!r}", f"{flag} {value.value}")
    return Compare(key, "not in" if value.negated else "in", nets, text)


def _iface(name: str) -> str | Glob:
    return Glob(name[:-1] + "*") if name.endswith("+") else name


@lru_cache(maxsize=65536)
def _networks(text: str) -> tuple[Network, ...] | None:
    out = []
    for part in text.split(","):
        try:
            out.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            return None
    return tuple(out)


def _ports(values: list[str]) -> tuple | None:
    return _ports_text(",".join(values))


@lru_cache(maxsize=4096)
def _ports_text(text: str) -> tuple | None:
    """ "80,1000:2000" -> (80, Interval(1000, 2000)); an open end (":1024", "1024:") is 0 / 65535."""
    out: list = []
    for part in text.split(","):
        lo, colon, hi = part.partition(":")
        try:
            a = int(lo) if lo else 0
            b = int(hi) if hi else (65535 if colon else a)
        except ValueError:
            return None
        out.append(Interval(a, b) if a != b else a)
    return tuple(out)


def _opt_text(module: str, opt: ipt.Option) -> str:
    return f"-m {module} {'! ' if opt.negated else ''}--{opt.name.lstrip('-')} {' '.join(opt.values)}".strip()


def _option(
    module: str, opt: ipt.Option, proto: str | None, family: str, ipsets: dict[str, ipt.IpSet] | Unknown | None = None
) -> Cond:
    text = _opt_text(module, opt)
    name, values, neg = "--" + opt.name.lstrip("-"), opt.values, opt.negated
    if module in ("tcp", "udp", "sctp", "udplite", "dccp"):
        requires = _REQUIRES[module]
        if name in ("--dport", "--destination-port", "--sport", "--source-port"):
            ports = _ports(values)
            if ports is None:
                return Undecidable("cannot read the port", text)
            key = "dport" if name in ("--dport", "--destination-port") else "sport"
            return Compare(key, "not in" if neg else "in", ports, text, requires)
        if name == "--syn":
            return Const(not neg, text)
        if name == "--tcp-flags" and len(values) >= 2:
            flags = set(values[0].lower().split(","))
            comp = set(values[1].lower().split(","))
            if "all" in flags:
                flags = {"fin", "syn", "rst", "psh", "ack", "urg"}
            hit = ({"syn"} & flags) == (comp - {"none"})
            return Const(hit != neg, text)
        return Undecidable(f"{name} is not evaluated by wsltui", text)
    if module == "multiport":
        ports = _ports(values)
        if ports is None or proto not in PORT_PROTOS:
            return Undecidable("cannot read the ports (or no -p)", text)
        requires = _REQUIRES[proto]
        if name in ("--dports", "--destination-ports"):
            return Compare("dport", "not in" if neg else "in", ports, text, requires)
        if name in ("--sports", "--source-ports"):
            return Compare("sport", "not in" if neg else "in", ports, text, requires)
        if name == "--ports":
            return _Either(
                Compare("dport", "in", ports, text, requires), Compare("sport", "in", ports, text, requires), neg, text
            )
    if module in ("conntrack", "state"):
        if name in ("--ctstate", "--state"):
            states = {s.lower() for s in ",".join(values).split(",")}
            if states & {"dnat", "snat"}:
                return _CtStateCond(states, neg, text)
            return Compare("ct state", "not in" if neg else "in", states, text)
        if name == "--ctstatus":
            # A new, not yet confirmed connection has none of EXPECTED, SEEN_REPLY, ASSURED,
            # CONFIRMED: only NONE matches.
            statuses = {s.lower() for s in ",".join(values).split(",")}
            return Const(("none" in statuses) != neg, text)
        if name == "--ctorigdst":
            nets = _networks(values[0]) if values else None
            if nets is not None:
                return Compare("ct original daddr", "not in" if neg else "in", nets, text)
        if name == "--ctorigdstport":
            ports = _ports(values)
            if ports is not None:
                return Compare("ct original proto-dst", "not in" if neg else "in", ports, text)
        if name == "--ctproto" and values:
            p = PROTO_NUMBERS.get(values[0].lower(), values[0].lower())
            return Compare("meta l4proto", "!=" if neg else "==", p, text)
        if name == "--ctdir" and values and values[0].upper() in ("ORIGINAL", "REPLY"):
            return Compare("ct direction", "!=" if neg else "==", values[0].lower(), text)
        return Undecidable(f"{name} is not evaluated by wsltui", text)
    if module == "addrtype":
        if name in ("--src-type", "--dst-type"):
            found = [ADDRTYPES.get(v.upper()) for v in ",".join(values).split(",")]
            types = {t for t in found if t is not None}
            if None in found:
                return Undecidable("address types other than LOCAL, UNICAST, BROADCAST, MULTICAST", text)
            if family == "ipv6":
                return _AddrType6(name == "--dst-type", types, neg, text)
            key = "fib daddr type" if name == "--dst-type" else "fib saddr type"
            return Compare(key, "not in" if neg else "in", types, text)
        if name in ("--limit-iface-in", "--limit-iface-out"):
            return Undecidable("addrtype limited to an interface is not evaluated", text)
    if module == "iprange" and name in ("--src-range", "--dst-range") and values:
        lo, _, hi = values[0].partition("-")
        try:
            interval = Interval(ipaddress.ip_address(lo), ipaddress.ip_address(hi or lo))
        except ValueError:
            return Undecidable("cannot read the range", text)
        return Compare("saddr" if name == "--src-range" else "daddr", "not in" if neg else "in", [interval], text)
    if module in ("mark", "connmark") and name == "--mark" and values:
        vm = ipt.value_and_mask(values[0])
        if vm is not None:
            mark, mask = vm
            return Masked("meta mark" if module == "mark" else "ct mark", mask, mark & mask, neg, text)
    if module == "icmp":
        return Const(False, text)  # only our IPv6 neighbor discovery packet is ICMP
    if module == "icmp6" and name == "--icmpv6-type" and values:
        kind = values[0].split("/")[0].lower()
        number = int(kind) if kind.isdigit() else ICMPV6_TYPES.get(kind)
        if number is None:
            return Undecidable(f"the ICMPv6 type {kind}", text)
        if "/" in values[0]:
            return Undecidable("ICMPv6 codes are not evaluated", text)
        return Compare("icmpv6 type", "!=" if neg else "==", number, text, ((_L4, frozenset({"ipv6-icmp"})),))
    if module == "pkttype" and name == "--pkt-type" and values:
        v = values[0].lower()
        return Compare("meta pkttype", "!=" if neg else "==", "host" if v == "unicast" else v, text)
    if module in ("hl", "ttl") and values and values[0].isdigit():
        op = {"--hl-eq": "==", "--ttl-eq": "==", "--hl-lt": "<", "--ttl-lt": "<", "--hl-gt": ">", "--ttl-gt": ">"}.get(
            name
        )
        if op:
            if neg:
                op = {"==": "!=", "<": ">=", ">": "<="}[op]
            return Compare("hop limit", op, int(values[0]), text)
    if module in ("rt", "frag", "hbh", "dst"):
        # IPv6 extension headers: the first packet of a TCP/UDP connection carries none, and
        # these matches are false when their header is absent (ip6t_rt.c …), negated or not.
        return Const(False, text)
    if module == "rpfilter":
        return _RpFilter(name == "--invert" or neg, text)
    if module == "set":
        return _set_option(name, values, neg, text, ipsets)
    if module == "limit":
        return Assumed(True, "assumed under the rate limit", text)
    if module == "hashlimit":
        above = name == "--hashlimit-above"
        if name in ("--hashlimit-above", "--hashlimit-upto", "--hashlimit"):
            return Assumed(not above, "assumed under the rate limit", text)
        return Const(True, text)  # the other hashlimit options only shape the limit
    if module == "recent":
        if name in ("--set", "--remove"):
            return Const(not neg, text)  # adds or removes the source and always matches
        if name in ("--update", "--rcheck"):
            return Assumed(
                neg, "assumed the client is not on the recent list (it has not connected often lately)", text
            )
        return Const(True, text)  # --seconds, --hitcount, --name, --rsource … qualify --update/--rcheck
    return Undecidable(f"-m {module} {name} is not evaluated by wsltui", text)


def _set_option(
    name: str, values: list[str], neg: bool, text: str, ipsets: dict[str, ipt.IpSet] | Unknown | None
) -> Cond:
    if name in ("--update-counters", "--update-subcounters"):
        return Const(True, text)  # counting only
    if name not in ("--match-set", "--set") or len(values) != 2:
        return Undecidable(f"-m set {name} is not evaluated by wsltui", text)
    if ipsets is None or isinstance(ipsets, Unknown):
        why = f" ({ipsets.reason})" if isinstance(ipsets, Unknown) else ""
        return Undecidable(f"the ipset's members could not be read{why}: ipset save", text)
    if values[0] not in ipsets:
        return Undecidable(f"the ipset {values[0]} is not in ipset save's output", text)
    return _IpsetMatch(ipsets, values[0], values[1].split(","), neg, text)


class _IpsetMatch(Cond):
    """``-m set --match-set NAME src,dst``: each flag says which side of the packet a
    dimension of the set's type reads (ip/net: address, port: port and protocol, iface: input
    or output interface); list:set tries each member set with the same flags (ip_set_core.c)."""

    __slots__ = ("sets", "name", "flags", "neg")

    def __init__(self, sets: dict[str, ipt.IpSet], name: str, flags: list[str], neg: bool, text: str) -> None:
        self.sets, self.name, self.flags, self.neg, self.text = sets, name, flags, neg, text

    def test(self, pkt: Packet, host: HostView) -> Answer:
        hit = self._in(self.sets[self.name], pkt, depth=0)
        return hit if isinstance(hit, str) else hit != self.neg

    def _in(self, s: ipt.IpSet, pkt: Packet, depth: int) -> bool | str:
        if s.type == "list:set":
            for (member,) in s.members:
                inner = self.sets.get(member)
                if inner is None or depth > 4:
                    return f"the ipset {member} in list {s.name} cannot be read"
                hit = self._in(inner, pkt, depth + 1)
                if hit is not False:
                    return hit
            return False
        dims = s.dimensions
        if len(dims) > len(self.flags):
            return False  # fewer flags than dimensions: the kernel does not match
        if s.family is not None and s.family != ("inet" if pkt.family == 4 else "inet6"):
            return False
        try:
            values = [_packet_side(d, f, pkt) for d, f in zip(dims, self.flags)]
            bare = "any" if s.type.startswith("bitmap:") else "tcp"  # a bare port's protocol
            found = _best(s.members, dims, values, bare)
            excluded = _best(s.nomatch, dims, values, bare)
        except _CannotRead as e:
            return f"{e} (ipset {s.name}, type {s.type})"
        return found is not None and (excluded is None or found > excluded)


class _CannotRead(Exception):
    pass


def _packet_side(dim: str, flag: str, pkt: Packet) -> object:
    src = flag == "src"
    if dim in ("ip", "net"):
        return pkt.src if src else pkt.dst
    if dim == "port":
        return (pkt.proto, pkt.sport if src else pkt.dport)
    if dim == "iface":
        return pkt.iif if src else pkt.oif
    raise _CannotRead(f"the {dim} dimension is not evaluated by wsltui")


def _best(members: list[tuple[str, ...]], dims: list[str], values: list[Any], bare: str) -> int | None:
    """The longest total prefix of a member matching ``values`` (hash:net picks the most
    specific entry, which decides between an entry and a ``nomatch`` one); None when none does."""
    best = None
    for member in members:
        score = 0
        for dim, text, v in zip(dims, member, values):
            s = _member_part(dim, text, v, bare)
            if s is None:
                break
            score += s
        else:
            best = score if best is None else max(best, score)
    return best


def _member_part(dim: str, text: str, v: Any, bare: str) -> int | None:
    """How specific ``text`` (one dimension of a member) is when it matches ``v``, else None.
    ``bare``: the protocol of a port written without one ("tcp" in hash types; bitmap:port
    matches the port of any protocol with ports)."""
    if dim in ("ip", "net"):
        if "-" in text:
            lo, hi = text.split("-", 1)
            try:
                inside = ipaddress.ip_address(lo) <= v <= ipaddress.ip_address(hi)
            except (TypeError, ValueError):
                raise _CannotRead(f"cannot read the member {text!r}") from None
            return 0 if inside else None
        nets = _networks(text)
        if nets is None:
            raise _CannotRead(f"cannot read the member {text!r}")
        net = nets[0]
        return net.prefixlen if v.version == net.version and v in net else None
    if dim == "port":
        proto, port = v
        kind, _, number = text.rpartition(":")
        kind = kind or bare
        ports = _ports_text(number.replace("-", ":"))
        if ports is None:
            raise _CannotRead(f"cannot read the member {text!r}")
        if kind != proto and not (kind == "any" and proto in PORT_PROTOS):
            return None
        return 0 if any(port == p if isinstance(p, int) else p.contains(port) for p in ports) else None
    if dim == "iface":
        name = text.removeprefix("physdev:")
        return 0 if v == name else None
    raise _CannotRead(f"the {dim} dimension is not evaluated by wsltui")


class _Either(Cond):
    """multiport ``--ports``: source or destination port."""

    __slots__ = ("a", "b", "neg", "packet_only")

    def __init__(self, a: Cond, b: Cond, neg: bool, text: str) -> None:
        self.a, self.b, self.neg, self.text = a, b, neg, text
        self.packet_only = a.packet_only and b.packet_only

    def test(self, pkt: Packet, host: HostView) -> Answer:
        ra, rb = self.a.test(pkt, host), self.b.test(pkt, host)
        if ra is True or rb is True:
            return not self.neg
        if ra is False and rb is False:
            return self.neg
        return ra if ra is not False else rb


class _AddrType6(Cond):
    """``-m addrtype`` for IPv6 (xt_addrtype.c match_type6): UNICAST and MULTICAST are properties
    of the address, checked first; LOCAL is a route lookup. Unlike IPv4, a local unicast address
    is both LOCAL and UNICAST."""

    __slots__ = ("dst", "types", "neg")

    def __init__(self, dst: bool, types: set[str], neg: bool, text: str) -> None:
        self.dst, self.types, self.neg, self.text = dst, types, neg, text

    def test(self, pkt: Packet, host: HostView) -> Answer:
        addr = pkt.dst if self.dst else pkt.src
        if "multicast" in self.types and not addr.is_multicast:
            return self.neg
        if "unicast" in self.types and (addr.is_multicast or addr.is_unspecified):
            return self.neg
        if "broadcast" in self.types:
            return self.neg  # IPv6 has no broadcast
        if "local" in self.types:
            local = host.is_local(addr) if not addr.is_multicast else False
            if local is None:
                return "the host's addresses are unknown"
            return local != self.neg
        return not self.neg


class _CtStateCond(Cond):
    """``--ctstate`` with the virtual states DNAT/SNAT (the connection was NATed)."""

    __slots__ = ("states", "neg")
    packet_only = True

    def __init__(self, states: set[str], neg: bool, text: str) -> None:
        self.states, self.neg, self.text = states, neg, text

    def test(self, pkt: Packet, host: HostView) -> Answer:
        hit = pkt.ct_state in self.states or bool(self.states & pkt.ct_status)
        return hit != self.neg


class _RpFilter(Cond):
    """``-m rpfilter``: is there a route back to the source through the input interface?"""

    __slots__ = ("invert",)

    def __init__(self, invert: bool, text: str) -> None:
        self.invert, self.text = invert, text

    def test(self, pkt: Packet, host: HostView) -> Answer:
        oif = KEYS["fib saddr iif oif"](pkt, host)
        if not isinstance(oif, str) and oif is not None:
            return "the routing table is unknown"
        return (oif is not None) != self.invert


def _target(r: ipt.Rule, family: str) -> Action:
    t = r.target
    if t is None:
        return CONTINUE
    if r.target_kind == "chain" or (t not in ipt.VERDICTS and r.target_kind != "extension" and t not in _EXTENSIONS):
        return Action("goto" if r.goto else "jump", target=t)
    if t in ("ACCEPT", "DROP", "RETURN"):
        return _VERDICTS[t]
    if t == "REJECT":
        opt = r.target_option("reject-with")
        default = "icmp6-port-unreachable" if family == "ipv6" else "icmp-port-unreachable"
        return Action("reject", reject_with=(opt.values[0] if opt and opt.values else default))
    if t == "CONNMARK":
        return _connmark_target(r)
    if t in NON_TERMINAL_TARGETS:
        return CONTINUE
    if t == "MARK":
        return _mark_target(r)
    if t in ("NOTRACK",) or (t == "CT" and r.target_option("notrack")):
        return Action("notrack")
    if t == "CT":
        return CONTINUE  # zones, helpers, timeouts: no effect on filtering a new connection
    if t == "DNAT":
        opt = r.target_option("to-destination")
        return _dnat(opt.values[0] if opt and opt.values else "", family)
    if t == "REDIRECT":
        opt = r.target_option("to-ports")
        port = _first_port(opt.values[0]) if opt and opt.values else None
        return Action("redirect", nat_port=port)
    if t in ("SNAT", "MASQUERADE", "NETMAP"):
        return Action("snat")
    return Action("unknown", reason=f"the target {t} is not evaluated by wsltui")


_VERDICTS = {"ACCEPT": Action("accept"), "DROP": Action("drop"), "RETURN": Action("return")}
_EXTENSIONS = (
    frozenset(
        {
            "REJECT",
            "LOG",
            "MARK",
            "DNAT",
            "SNAT",
            "MASQUERADE",
            "REDIRECT",
            "CT",
            "NOTRACK",
            "NFQUEUE",
            "TPROXY",
            "NETMAP",
            "QUEUE",
        }
    )
    | NON_TERMINAL_TARGETS
)


def _first_port(text: str) -> tuple[int, int] | None:
    lo = text.split("-", 1)[0]
    try:
        return (int(lo), int(lo))
    except ValueError:
        return None


def _dnat(spec: str, family: str) -> Action:
    addr_text, port_text = spec, ""
    if spec.startswith("["):  # [2001:db8::1]:80
        addr_text, _, rest = spec[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif family == "ipv4" and ":" in spec:
        addr_text, _, port_text = spec.partition(":")
    addr_text = addr_text.split("-", 1)[0]
    try:
        addr = ipaddress.ip_address(addr_text) if addr_text else None
    except ValueError:
        return Action("unknown", reason=f"cannot read the DNAT destination {spec!r}")
    port = _first_port(port_text) if port_text else None
    return Action("dnat", nat_addr=addr, nat_port=port)


def _connmark_target(r: ipt.Rule) -> Action:
    """CONNMARK as xt_connmark.c computes it: --set-xmark v/m sets ct = (ct & ~m) ^ v;
    --save-mark ct = (ct & ~ctmask) ^ (mark & nfmask); --restore-mark
    mark = (mark & ~nfmask) ^ (ct & ctmask). iptables-save always prints both masks."""

    def mask(name: str) -> int | None:
        opt = r.target_option(name)
        try:
            return int(opt.values[0], 0) & 0xFFFFFFFF if opt and opt.values else 0xFFFFFFFF
        except ValueError:
            return None

    nfmask, ctmask = mask("nfmask"), mask("ctmask")
    if nfmask is None or ctmask is None:
        return Action("unknown", reason="cannot read the CONNMARK masks")
    if r.target_option("save-mark"):
        return Action(
            "setmark",
            mark_key="ct mark",
            mark_expr=("^", ("&", "ct mark", ~ctmask & 0xFFFFFFFF), ("&", "meta mark", nfmask)),
        )
    if r.target_option("restore-mark"):
        return Action(
            "setmark",
            mark_key="meta mark",
            mark_expr=("^", ("&", "meta mark", ~nfmask & 0xFFFFFFFF), ("&", "ct mark", ctmask)),
        )
    for name in ("set-xmark", "set-mark"):
        opt = r.target_option(name)
        vm = ipt.value_and_mask(opt.values[0]) if opt and opt.values else None
        if vm:
            value, m = vm
            if name == "set-mark":  # --set-mark v/m == --set-xmark v/(v|m)
                m |= value
            return Action("setmark", mark_key="ct mark", mark_expr=("^", ("&", "ct mark", ~m & 0xFFFFFFFF), value))
    return Action("unknown", reason="the CONNMARK target's form is not evaluated by wsltui")


def _mark_target(r: ipt.Rule) -> Action:
    for name in ("set-xmark", "set-mark"):
        opt = r.target_option(name)
        if opt and opt.values:
            vm = ipt.value_and_mask(opt.values[0])
            if vm:
                value, mask = vm
                if name == "set-mark":  # --set-mark v/m == --set-xmark v/(v|m)
                    mask = mask | value
                return Action("mark", mark=(value, mask))
    for name, fn in (
        ("and-mark", lambda v: (0, ~v & 0xFFFFFFFF)),
        ("or-mark", lambda v: (v, v)),
        ("xor-mark", lambda v: (v, 0)),
    ):
        opt = r.target_option(name)
        if opt and opt.values:
            try:
                return Action("mark", mark=fn(int(opt.values[0], 0)))
            except ValueError:
                break
    return Action("unknown", reason="cannot read the MARK target")
