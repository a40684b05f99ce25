"""The fast lookup: a chain's rules, compiled on demand, behind a pre-filter per rule that lets a
packet skip the rules it cannot match without compiling or testing them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wsltui.simulation.netfilter.data import Rule
from wsltui.simulation.netfilter.match import KEYS, Compare, Interval, NetInts, net_ints
from wsltui.simulation.packet import Packet


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
        sources: list[Any] | None = None,
        build: Callable[[Any], Rule] | None = None,
        prefilter: list[Prefilter] | None = None,
    ) -> None:
        self.name = name
        self._sources: list[Any] = sources if sources is not None else (rules or [])
        self._build = build  # source -> Rule; None when ``rules`` are already compiled
        self._compiled: list[Rule | None] = list(rules) if rules is not None else [None] * len(self._sources)
        # (sources come with their pre-filter: it is what saves compiling them)
        self.prefilter = prefilter if prefilter is not None else [prefilter_of(r) for r in rules or ()]
        self._memo: dict[tuple, list[int]] = {}

    def __len__(self) -> int:
        return len(self._compiled)

    def rule(self, i: int) -> Rule:
        r = self._compiled[i]
        if r is None:
            assert self._build is not None  # (only a chain built from sources has rules left to compile)
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


# (protocols, destination port ranges, source nets, destination nets, input interfaces); None: any
Prefilter = tuple[
    frozenset[str] | None, tuple[tuple[int, int], ...] | None, NetInts | None, NetInts | None, frozenset[str] | None
]


def prefilter_of(rule: Rule) -> Prefilter:
    """(protocols, destination port ranges, source nets, destination nets, input interfaces)
    from a compiled rule's positive conditions; None in a slot the rule does not constrain."""
    protos: frozenset[str] | None = None
    ports: tuple[tuple[int, int], ...] | None = None
    srcs: NetInts | None = None
    dsts: NetInts | None = None
    iifs: frozenset[str] | None = None
    for c in rule.conds:
        if c.__class__ is not Compare or c.op not in ("in", "=="):
            continue
        values = c.right if c.op == "in" else [c.right]
        if c.keyname == "meta l4proto":
            if all(isinstance(v, str) for v in values):
                protos = frozenset(values) if protos is None else protos & frozenset(values)
        elif c.keyname == "dport":
            ranges: list[tuple[int, int]] = []
            for v in values:
                if isinstance(v, int):
                    ranges.append((v, v))
                elif isinstance(v, Interval) and isinstance(v.lo, int) and isinstance(v.hi, int):
                    ranges.append((v.lo, v.hi))
                else:
                    break  # a port the pre-filter cannot hold: any port
            else:
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
