"""What a rule is and where: :class:`RuleRef` (table, chain, index, nft handle, the rules around
it), the facts objects it is made from (:func:`rule_ref`), and the plumbing every front end
shares: reading the live rules once, and finding where a remembered rule goes back."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from wsltui.actions import state as st
from wsltui.actions.plan import ActionError
from wsltui.actions.scopes import normalise_line
from wsltui.facts.firewalld import ForwardPort, Port, RichRule
from wsltui.facts.iptables import Rule
from wsltui.facts.nft import NftRule
from wsltui.facts.ufw import UfwRule

if TYPE_CHECKING:
    from wsltui.facts import Facts

FIREWALLD_KINDS = {  # kind -> (firewall-cmd option stem, scope in --list-all-zones)
    "port": ("port", "ports"),
    "service": ("service", "services"),
    "protocol": ("protocol", "protocols"),
    "source-port": ("source-port", "source-ports"),
    "forward-port": ("forward-port", "forward-ports"),
    "icmp-block": ("icmp-block", "icmp-blocks"),
    "rich-rule": ("rich-rule", "rich rules"),
}


@dataclass
class RuleRef:
    """Which rule, and exactly where it is (or was)."""

    front_end: str  # iptables-nft | ip6tables-nft | iptables-legacy | ip6tables-legacy | nft | ufw | firewalld
    text: str  # iptables-save line | nft rule (no handle, counters aside) | ufw tuple | firewalld value
    table: str = ""  # iptables or nft table
    family: str = ""  # nft family; ufw: "v4" or "v6"
    chain: str = ""
    index: int = 0  # 1-based in its chain (ufw: in its family's rules file)
    handle: int | None = None  # nft
    prev: str | None = None  # the rule just before it (same form as text)
    next: str | None = None
    prev_handle: int | None = None
    next_handle: int | None = None
    zone: str = ""  # firewalld
    kind: str = ""  # firewalld: a FIREWALLD_KINDS key
    permanent: bool = False  # firewalld: the action changed the permanent configuration too

    @property
    def label(self) -> str:
        if self.front_end == "firewalld":
            return f"firewalld zone {self.zone} {self.kind} {self.text}"
        if self.front_end == "ufw":
            return f"ufw rule {self.index} ({'IPv6' if self.family == 'v6' else 'IPv4'}): {self.text}"
        if self.front_end == "nft":
            return f"nft {self.family} {self.table} chain {self.chain} rule {self.index}: {self.text}"
        return f"{self.front_end} {self.table} {self.chain} rule {self.index}: {self.text}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RuleRef:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class FirewalldItem:
    """A firewalld zone entry a person selects: ``FirewalldItem("public", "service", "ssh")``."""

    zone: str
    kind: str  # a FIREWALLD_KINDS key
    value: str


# What a rule action takes: a RuleRef, or the facts row the TUI has selected.
RuleLike = RuleRef | Rule | NftRule | UfwRule | FirewalldItem | Port | RichRule | ForwardPort


def live_state(targets: list[str]) -> dict[str, st.Saved]:
    """The live rules of ``targets`` (backup targets), read once; refuses when one cannot be read."""
    state = st.capture_state(targets, as_root=True)
    bad = [f"{k}: {s.error}" for k, s in state.items() if s.error]
    if bad:
        raise ActionError("cannot read the rules: " + "; ".join(bad))
    return state


def place(lines: list[str], ref: RuleRef) -> int:
    """Where a remembered rule goes back (0-based): after the rule that was before it, else
    before the rule that was after it, else at its old index (or the end)."""
    if ref.prev is not None and lines.count(ref.prev) == 1:
        return lines.index(ref.prev) + 1
    if ref.next is not None and lines.count(ref.next) == 1:
        return lines.index(ref.next)
    if ref.prev is None and ref.index <= 1:
        return 0
    return min(max(ref.index - 1, 0), len(lines))


def rule_ref(rule: RuleLike, facts: Facts | None = None) -> RuleRef:
    """A RuleRef for a facts object (the row the TUI has selected), or ``rule`` itself."""
    if isinstance(rule, RuleRef):
        return rule
    if isinstance(rule, Rule):
        return _iptables_ref(rule, facts)
    if isinstance(rule, NftRule):
        return _nft_ref(rule, facts)
    if isinstance(rule, UfwRule):
        return RuleRef("ufw", rule.text, family="v6" if rule.v6 else "v4", kind="row")  # resolved to a tuple live
    if isinstance(rule, FirewalldItem):
        if rule.kind not in FIREWALLD_KINDS:
            raise ActionError(f"firewalld entries wsltui changes: {', '.join(FIREWALLD_KINDS)}")
        return RuleRef("firewalld", rule.value, zone=rule.zone, kind=rule.kind)
    if isinstance(rule, (Port, RichRule, ForwardPort)):
        return _firewalld_ref(rule, facts)
    raise ActionError(f"wsltui has no rule actions for {type(rule).__name__}")


def _iptables_ref(rule: Rule, facts: Facts | None) -> RuleRef:
    for rs in facts.iptables.rulesets() if facts is not None and facts.iptables is not None else ():
        for t in rs.tables:
            for c in t.chains:
                for i, r in enumerate(c.rules):
                    if r is rule:
                        fe = f"{'ip6tables' if rs.family == 'ipv6' else 'iptables'}-{rs.backend}"
                        return RuleRef(
                            fe,
                            r.verbatim,
                            t.name,
                            "",
                            c.name,
                            i + 1,
                            prev=c.rules[i - 1].verbatim if i else None,
                            next=c.rules[i + 1].verbatim if i + 1 < len(c.rules) else None,
                        )
    raise ActionError("this iptables rule is not in the facts given (pass the facts it came from)")


def _nft_ref(rule: NftRule, facts: Facts | None) -> RuleRef:
    chain = None
    if facts is not None and facts.nft is not None:
        t = facts.nft.table(rule.family, rule.table)
        if t is not None and t.managed_by_iptables:
            raise ActionError(
                f"nft table {rule.family} {rule.table} belongs to iptables-nft: change it with "
                "iptables-nft (its rules show in the iptables view)"
            )
        chain = facts.nft.chain(rule.family, rule.table, rule.chain)
    if rule.opaque:
        raise ActionError(
            "this nft rule holds iptables-nft (xt) expressions nft cannot print back exactly; "
            "change it with iptables-nft"
        )
    rules = chain.rules if chain is not None else [rule]
    i = next((k for k, r in enumerate(rules) if r is rule), 0)
    return RuleRef(
        "nft",
        normalise_line(rule.text),
        rule.table,
        rule.family,
        rule.chain,
        rule.position,
        rule.handle,
        normalise_line(rules[i - 1].text) if i else None,
        normalise_line(rules[i + 1].text) if i + 1 < len(rules) else None,
        rules[i - 1].handle if i else None,
        rules[i + 1].handle if i + 1 < len(rules) else None,
    )


def _firewalld_ref(rule: Port | RichRule | ForwardPort, facts: Facts | None) -> RuleRef:
    for z in facts.firewalld.zones if facts is not None and facts.firewalld is not None else ():
        for kind, items in (
            ("port", z.ports),
            ("source-port", z.source_ports),
            ("rich-rule", z.rich_rules),
            ("forward-port", z.forward_ports),
        ):
            if any(x is rule for x in items):
                return RuleRef("firewalld", rule.text, zone=z.name, kind=kind)
    raise ActionError("this firewalld entry is not in the facts given (pass the facts it came from)")
