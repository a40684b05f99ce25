"""What the simulator answers: hops in order, the blockers, the symptom, the fixes."""

from __future__ import annotations

from dataclasses import dataclass, field

# Layer ids (documented in the README).
LAYERS = ("windows-firewall", "hyperv-firewall", "excluded-ports", "windows-listener", "localhost-relay", "portproxy",
          "netfilter", "socket", "path")

BLOCKING = frozenset({"drop", "reject", "no-listener"})


@dataclass
class Fix:
    title: str  # one line a person reads: "Open tcp/8080 in firewalld zone public"
    commands: list[str] = field(default_factory=list)  # exact commands, in order
    undo: list[str] = field(default_factory=list)
    front_end: str = ""  # firewalld | ufw | iptables-nft | iptables-legacy | nft | socket | windows | wsl
    needs_root: bool = True
    note: str = ""  # runtime vs persistent, and anything else worth knowing


@dataclass
class Hop:
    layer: str
    verdict: str  # allow drop reject no-listener unknown not-applicable assumed
    explanation: str  # one plain sentence
    packet: str = ""  # the packet as this layer sees it (after NAT)
    rule: str | None = None  # the deciding rule, verbatim
    location: str | None = None  # table/chain/position, zone, rule name
    owner: str | None = None  # the front end that owns the rule: firewalld, ufw, docker, wsl, iptables, nft
    edit: str | None = None  # the object a person edits ("firewalld zone public", "ufw rule 3")
    assumption: str | None = None  # for verdict "assumed"
    reason: str | None = None  # for "unknown": why, and the command that would tell
    symptom: str | None = None  # what the user sees if this hop stops the packet
    fixes: list[Fix] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)  # e.g. each netfilter base chain passed
    behind: list[Hop] = field(default_factory=list)  # blockers in this layer that would stop it next
    # Other symptoms the kernel may produce instead (same-priority chains of unknown order).
    alternatives: list[str] = field(default_factory=list)

    @property
    def blocks(self) -> bool:
        return self.verdict in BLOCKING


@dataclass
class Trace:
    scenario: str
    mode: str  # effective networking mode used for the path
    proto: str
    port: int
    hops: list[Hop] = field(default_factory=list)
    blockers: list[Hop] = field(default_factory=list)  # every blocker, first first (may include what-ifs)
    notes: list[str] = field(default_factory=list)

    @property
    def first_blocker(self) -> Hop | None:
        return self.blockers[0] if self.blockers else None

    @property
    def reachable(self) -> bool | None:
        if self.blockers:
            return False
        if any(h.verdict == "unknown" for h in self.hops):
            return None
        return True

    @property
    def symptom(self) -> str | None:
        first = self.first_blocker
        if first is not None:
            return first.symptom
        return None if self.reachable is None else "connects"

    def to_json(self) -> dict:
        def hop(h: Hop) -> dict:
            return {
                "layer": h.layer, "verdict": h.verdict, "rule": h.rule, "location": h.location, "owner": h.owner,
                "edit": h.edit, "explanation": h.explanation, "packet": h.packet, "assumption": h.assumption,
                "reason": h.reason, "symptom": h.symptom, "symptom_alternatives": h.alternatives, "steps": h.steps,
                "fixes": [{"title": f.title, "commands": f.commands, "undo": f.undo, "front_end": f.front_end,
                           "needs_root": f.needs_root, "note": f.note} for f in h.fixes],
            }

        first = self.first_blocker
        return {
            "scenario": self.scenario, "mode": self.mode, "proto": self.proto, "port": self.port,
            "reachable": self.reachable, "symptom": self.symptom,
            "first_blocker": hop(first) if first else None,
            "blockers": [hop(b) for b in self.blockers],
            "hops": [hop(h) for h in self.hops],
            "notes": self.notes,
        }


def reject_symptom(reject_with: str | None, family: int) -> str:
    """What connect()/recv() reports for a reject, as the kernel maps ICMP errors to errno
    (net/ipv4/icmp.c icmp_err_convert, net/ipv6/icmp.c tab_unreach)."""
    r = (reject_with or "").lower()
    if "tcp-reset" in r or "tcp reset" in r or "port-unreach" in r or "port-unreachable" in r:
        return "refused"
    if family == 6 or "icmp6" in r or "icmpv6" in r:
        if "adm" in r or "admin" in r or "policy" in r or "reject-route" in r:
            return "permission denied"
        if "no-route" in r or "noroute" in r or "net" in r:
            return "network unreachable"
        return "no route to host"
    if "net-unreach" in r or "net-prohib" in r or "no-route" in r:
        return "network unreachable"
    if "proto-unreach" in r:
        return "protocol not available"
    return "no route to host"  # host-unreachable, host-prohibited, admin-prohibited
