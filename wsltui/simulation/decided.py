"""Which rule decided which hop: the one place the views ask.

The simulator names what decided a hop in ``Hop.decided_by`` (``RuleKey``: the rule's identity as
the facts hold it). ``decisions`` numbers them by hop, as the Flow panel numbers its hops, so
every panel that lists rules marks the same rule for the same hop. ``netfilter_keys`` builds the
keys from a netfilter evaluation: the base chain that stopped the packet, or every base chain's
rule (or policy) that let it through.
"""

from __future__ import annotations

from dataclasses import dataclass

from wsltui.facts import Facts
from wsltui.facts.firewalld import FirewalldFacts
from wsltui.facts.iptables import IptablesFacts, Value
from wsltui.facts.iptables import Rule as IptablesRule
from wsltui.facts.ufw import UfwRule
from wsltui.facts.windows import FwRule

from wsltui.simulation.attribution import attribute, firewalld_zone_for
from wsltui.simulation.netfilter.evaluate import NetfilterTrace, Step
from wsltui.simulation.trace import RuleKey, Trace


@dataclass(frozen=True)
class Decision:
    """Hop number ``hop`` (1-based, as Flow numbers it) was decided by ``key``."""

    hop: int
    key: RuleKey
    layer: str
    hop_verdict: str  # the hop's own verdict (allow drop reject unknown assumed …)

    @property
    def blocks(self) -> bool:
        return self.key.blocks and self.hop_verdict in ("drop", "reject")


def decisions(trace: Trace | None, firewall: str | None = None) -> list[Decision]:
    """Every (hop number, rule) of ``trace``, in hop order; only ``firewall``'s when given
    (netfilter | windows | hyperv)."""
    if trace is None:
        return []
    return [
        Decision(n, key, hop.layer, hop.verdict)
        for n, hop in enumerate(trace.hops, 1)
        for key in hop.decided_by
        if firewall is None or key.firewall == firewall
    ]


def netfilter_keys(nft: NetfilterTrace, firewalld_facts: FirewalldFacts | None) -> tuple[RuleKey, ...]:
    """The rules that decided a netfilter evaluation: the decisive base chain's rule (or policy)
    when it was stopped or undecided; every base chain's when it was let through."""
    if nft.verdict in ("drop", "reject", "unknown"):
        return (_key(nft.decisive, firewalld_facts),) if nft.decisive is not None else ()
    if nft.verdict != "accept":  # forwarded: decided further on
        return ()
    return tuple(dict.fromkeys(_key(s, firewalld_facts) for hook in nft.hooks for s in hook.steps))


def _key(step: Step, firewalld_facts: FirewalldFacts | None) -> RuleKey:
    table, out = step.base.table, step.outcome
    rule = out.rule
    attr = attribute(step)
    zone = attr.zone
    if attr.owner == "firewalld" and zone is None and out.verdict in ("drop", "reject"):
        # firewalld's catch-all reject after the zone dispatch: the packet's zone did not take it
        zone = firewalld_zone_for(firewalld_facts, step.before)
    where = dict(source=table.source, family=table.family, table=table.name)
    if rule is not None:
        where.update(source=rule.source, family=rule.family, table=rule.table)
    return RuleKey(
        "netfilter",
        out.verdict,
        chain=rule.chain if rule is not None else step.base.chain.name,
        position=rule.position if rule is not None else None,
        zone=zone if attr.owner == "firewalld" else None,
        part=attr.part,
        owner=attr.owner,
        **where,
    )


def windows_key(
    firewall: str, verdict: str, rule: FwRule | None = None, *, profile: str | None = None, setting: str | None = None
) -> tuple[RuleKey, ...]:
    """``decided_by`` for a Windows or Hyper-V firewall hop: a rule (``rule.id``) or a setting."""
    return (
        RuleKey(firewall, verdict, rule_id=rule.id if rule is not None else None, profile=profile, setting=setting),
    )


# --- ufw: which line of `ufw status` a rule of ufw-user-input is ----------------------------------

_UFW_USER_CHAINS = ("ufw-user-input", "ufw6-user-input")
_UFW_ACTION = {"ACCEPT": "allow", "DROP": "deny", "REJECT": "reject"}


def ufw_rows(facts: Facts, key: RuleKey) -> list[UfwRule]:
    """The rows of ``ufw status`` (facts.ufw.rules) that could have written the iptables rule
    ``key`` names: same direction, family, action, protocol, ports, addresses and interface.
    ufw writes each row as one or more rules of ufw-user-input without naming the row, so this
    is a correspondence of fields; a view marks a row only when exactly one fits. [] for a rule
    ufw's user chains do not hold (its built-in rules, a policy)."""
    if key.firewall != "netfilter" or key.chain not in _UFW_USER_CHAINS or key.position is None:
        return []
    rule = _iptables_rule(facts.iptables, key)
    ufw = facts.ufw
    if rule is None or ufw is None or rule.target not in _UFW_ACTION:
        return []
    proto = rule.protocol.value if rule.protocol is not None and not rule.protocol.negated else ""
    ports = _dports(rule)
    return [
        row
        for row in ufw.rules
        if row.direction == "in"
        and row.v6 == (key.family == "ipv6")
        and row.action == _UFW_ACTION[rule.target]
        and row.proto in ("", proto)
        and sorted(row.port_ranges) == ports
        and _same_net(row.src.address, rule.source)
        and _same_net(row.dst.address, rule.destination)
        and row.iface_in == (rule.in_iface.value if rule.in_iface is not None else "")
    ]


def _iptables_rule(iptables: IptablesFacts | None, key: RuleKey) -> IptablesRule | None:
    if iptables is None:
        return None
    for rs in iptables.rulesets():
        if f"iptables-{rs.backend}" == key.source and rs.family == key.family and rs.unknown is None:
            table = rs.table(key.table)
            chain = table.chain(key.chain) if table is not None else None
            if chain is not None and key.position is not None and 0 < key.position <= len(chain.rules):
                return chain.rules[key.position - 1]
    return None


def _dports(rule: IptablesRule) -> list[tuple[int, int]] | None:
    """The destination ports of an iptables rule as (low, high) ranges, sorted; [] for any port,
    None when they cannot be read (a negated or unreadable port match)."""
    out: list[tuple[int, int]] = []
    for m in rule.matches:
        for opt in m.options:
            if opt.name not in ("dport", "dports", "destination-port", "destination-ports"):
                continue
            if opt.negated:
                return None
            for token in ",".join(opt.values).split(","):
                low, _, high = token.partition(":")
                if not low.isdigit() or (high and not high.isdigit()):
                    return None
                out.append((int(low), int(high or low)))
    return sorted(out)


def _same_net(ufw_address: str, value: Value | None) -> bool:
    """A ufw address cell ("" anywhere) and an iptables -s/-d value denote the same network."""
    import ipaddress

    if value is None or value.negated:
        return not ufw_address and value is None
    try:
        return bool(ufw_address) and ipaddress.ip_network(ufw_address, strict=False) == ipaddress.ip_network(
            value.value, strict=False
        )
    except ValueError:
        return False
