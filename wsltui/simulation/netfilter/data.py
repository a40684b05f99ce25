"""One compiled form for every netfilter source: iptables-legacy, iptables-nft and native nft.

The adapters (``from_iptables``, ``from_nft``) compile parsed rules into this form once; the
evaluator then only walks it. A rule is a tuple of conditions (``match``) and one action; a
chain's rules are compiled on demand behind a pre-filter (``index``); a walk reads a chain through
the packet's view of it (``walk``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wsltui.simulation.netfilter.match import MarkExpr
from wsltui.simulation.packet import Address

if TYPE_CHECKING:  # (index imports this module: the chains are only named here)
    from wsltui.simulation.netfilter.index import Chain


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


@dataclass(frozen=True)
class Action:
    kind: str  # accept drop reject jump goto return continue dnat redirect snat mark setmark notrack vmap unknown
    target: str | None = None  # chain for jump/goto
    reject_with: str | None = None  # tcp-reset, icmp-port-unreachable, admin-prohibited, …
    nat_addr: Address | None = None  # None: keep the address
    nat_port: tuple[int, int] | None = None
    mark: tuple[int, int] | None = None  # (value, mask): new = (old & ~mask) ^ value  (xt MARK --set-xmark)
    vmap_key: str | None = None
    vmap: tuple = ()  # ((element, Action), ...)
    vmap_requires: tuple = ()  # like Compare.requires: the map does not apply to other packets
    reason: str | None = None  # for kind="unknown"
    # kind="setmark": ``mark_key`` ("meta mark" or "ct mark") becomes ``mark_expr`` evaluated on
    # the packet: an int, a key name, or (op, left, right) with op "&", "|", "^" (MarkExpr)
    mark_key: str | None = None
    mark_expr: MarkExpr | None = None

    @property
    def terminal(self) -> bool:
        return self.kind in ("accept", "drop", "reject", "dnat", "redirect", "snat", "unknown")


CONTINUE = Action("continue")


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


@dataclass
class Table:
    source: str
    family: str  # "ipv4", "ipv6", or nft "ip", "ip6", "inet", "arp", "bridge", "netdev"
    name: str
    chains: dict[str, Chain] = field(default_factory=dict)
    # {packet: {chain: ChainView}}: what walks decided for a few recent packets (walk.packet_views)
    packet_views: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def forget_views(self) -> None:
        """Drop every ChainView (after a change to the compiled rules)."""
        self.packet_views.clear()

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
