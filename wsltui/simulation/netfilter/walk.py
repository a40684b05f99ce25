"""A chain as one packet walks it: the candidates of the pre-filter, with the conditions on the
packet alone decided once per packet, kept per table for the next trace of an equal packet."""

from __future__ import annotations

import threading
from bisect import bisect_right

from wsltui.simulation.netfilter.data import Rule, Table
from wsltui.simulation.netfilter.index import Chain
from wsltui.simulation.netfilter.match import Assumed
from wsltui.simulation.packet import HostView, Packet


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


MAX_PACKETS = 32  # per table, in packet_views()


def packet_views(table: Table, pkt: Packet) -> dict[Chain, ChainView]:
    """{chain: ChainView} of ``table`` for this packet, kept for the next trace of an equal packet.
    A few packets are kept (a trace makes one to four); then the oldest are forgotten."""
    kept = table.packet_views
    found = kept.get(pkt)
    if found is None:
        with _DECIDING:
            found = kept.get(pkt)
            if found is None:
                if len(kept) >= MAX_PACKETS:
                    del kept[next(iter(kept))]
                found = kept[pkt] = {}
    return found
