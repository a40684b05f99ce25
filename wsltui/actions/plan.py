"""A Plan: the exact commands for every blocker of a trace, and their exact undo."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from wsltui.simulation.trace import Fix, Hop, Trace, display

IPTABLES_FRONT_ENDS = ("iptables-legacy", "ip6tables-legacy", "iptables-nft", "ip6tables-nft")
AUTOMATIC_FRONT_ENDS = (*IPTABLES_FRONT_ENDS, "nft", "firewalld", "ufw")


@dataclass
class PlannedFix:
    title: str
    front_end: str
    argv: list[list[str]]
    undo_argv: list[list[str]]  # undo_argv[i] undoes argv[i]; run in reverse order
    persistent: bool = False
    needs_root: bool = True
    note: str = ""
    blocker: str = ""  # which blocker this fixes, as a person reads it

    @property
    def commands(self) -> list[str]:
        return [display(a) for a in self.argv]

    @property
    def undo(self) -> list[str]:
        return [display(a) for a in reversed(self.undo_argv)]


@dataclass
class Manual:
    """A blocker wsltui cannot fix by itself, and what a person does instead."""

    blocker: str
    title: str
    why: str
    commands: list[str] = field(default_factory=list)


@dataclass
class Plan:
    port: int
    proto: str
    scenario: dict  # name, src, dst, in_iface: enough to trace the same packet again
    fixes: list[PlannedFix] = field(default_factory=list)  # in the order they are applied
    manual: list[Manual] = field(default_factory=list)
    blockers: list[dict] = field(default_factory=list)  # (layer, owner, rule) of what the fixes remove

    @property
    def automatic(self) -> bool:
        """Everything in this plan can be applied and undone exactly by wsltui."""
        return bool(self.fixes) and not self.manual

    @property
    def needs_root(self) -> bool:
        return any(f.needs_root for f in self.fixes)

    @property
    def persistent(self) -> bool:
        return bool(self.fixes) and all(f.persistent for f in self.fixes)

    @property
    def front_ends(self) -> list[str]:
        return list(dict.fromkeys(f.front_end for f in self.fixes))

    def backup_targets(self) -> list[str]:
        """What is saved before applying: every netfilter source always (cheap, and what undo
        compares), plus the front ends' own configuration."""
        targets = ["iptables-legacy-4", "iptables-legacy-6", "iptables-nft-4", "iptables-nft-6", "nft"]
        if "firewalld" in self.front_ends:
            targets += ["firewalld-runtime", "firewalld-permanent", "firewalld-zones"]
        if "ufw" in self.front_ends:
            targets += ["ufw-rules"]
        return targets

    def nft_tables(self) -> list[tuple[str, str]]:
        """(family, name) of the nft tables the nft fixes change (restored one by one)."""
        out = []
        for f in self.fixes:
            if f.front_end != "nft":
                continue
            for argv in f.argv:
                if "rule" in argv:
                    i = argv.index("rule")
                    out.append((argv[i + 1], argv[i + 2]))
        return list(dict.fromkeys(out))

    def to_json(self) -> dict:
        return {"port": self.port, "proto": self.proto, "scenario": self.scenario,
                "fixes": [asdict(f) for f in self.fixes], "manual": [asdict(m) for m in self.manual],
                "blockers": self.blockers, "automatic": self.automatic, "persistent": self.persistent,
                "needs_root": self.needs_root, "backup": self.backup_targets()}

    @classmethod
    def from_json(cls, data: dict) -> Plan:
        return cls(data["port"], data["proto"], data.get("scenario") or {},
                   [PlannedFix(**f) for f in data.get("fixes", [])], [Manual(**m) for m in data.get("manual", [])],
                   data.get("blockers", []))

    def describe(self) -> str:
        """The plan as a person reads it: every command, every undo, what is backed up."""
        where = self.scenario.get("name", "")
        lines = [f"Plan for {self.proto}/{self.port} ({where}):"]
        if not self.fixes and not self.manual:
            lines.append("  nothing to change: no blocker on this path")
        for i, f in enumerate(self.fixes, 1):
            kind = "persistent" if f.persistent else "runtime only (lost at reboot)"
            lines.append(f"  {i}. {f.title}  [{f.front_end}; {kind}{'; needs root' if f.needs_root else ''}]")
            lines.append(f"     fixes: {f.blocker}")
            lines += [f"     run:  {c}" for c in f.commands]
            lines += [f"     undo: {c}" for c in f.undo]
            if f.note:
                lines.append(f"     note: {f.note}")
        if self.fixes:
            lines.append("  Before any change wsltui saves: " + ", ".join(self.backup_targets())
                         + " (undo with `wsltui undo`)")
        if self.manual:
            lines.append("  Needs a person (wsltui will not apply this plan):")
            for m in self.manual:
                lines.append(f"  - {m.blocker}: {m.title}")
                lines.append(f"    why: {m.why}")
                lines += [f"    $ {c}" for c in m.commands]
        return "\n".join(lines)


def blocker_label(hop: Hop) -> str:
    where = hop.location or hop.edit or hop.layer
    return f"{hop.layer} {hop.verdict} at {where}" + (f": {hop.rule}" if hop.rule else "")


def blocker_key(hop: Hop) -> dict:
    return {"layer": hop.layer, "owner": hop.owner, "rule": hop.rule, "edit": hop.edit}


def _why_manual(fix: Fix | None, hop: Hop) -> str:
    if fix is None:
        return "wsltui knows no fix for this layer"
    if fix.manual:
        return fix.manual
    if fix.front_end == "windows":
        return "a Windows change: run it in an elevated PowerShell (wsltui does not elevate yet)"
    if fix.front_end in ("socket", "client", "wsl"):
        return "the program or the WSL configuration must change, not a firewall"
    return "there is no exact command to run for it"


def plan_for_trace(trace: Trace, scenario: dict | None = None) -> Plan:
    """One fix per blocker (the first automatic one), applied last blocker first, so positions
    named by earlier blockers' fixes are still right when those run."""
    plan = Plan(trace.port, trace.proto, scenario or {"name": trace.scenario})
    seen: set = set()
    chosen: list[PlannedFix] = []
    for hop in trace.blockers:
        fix = next((f for f in hop.fixes if f.automatic and f.front_end in AUTOMATIC_FRONT_ENDS), None)
        if fix is None:
            first = hop.fixes[0] if hop.fixes else None
            plan.manual.append(Manual(blocker_label(hop), first.title if first else hop.explanation,
                                      _why_manual(first, hop), list(first.commands) if first else []))
            continue
        key = tuple(map(tuple, fix.argv))
        if key in seen:
            continue
        seen.add(key)
        chosen.append(PlannedFix(fix.title, fix.front_end, [list(a) for a in fix.argv], [list(a) for a in fix.undo_argv],
                                 fix.persistent, fix.needs_root, fix.note, blocker_label(hop)))
        plan.blockers.append(blocker_key(hop))
    plan.fixes = list(reversed(chosen))
    return plan
