"""A Plan: the exact commands of a change (the fixes for a trace's blockers, or one rule action),
their exact undo, and what apply checks before and after."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from wsltui.actions.scopes import Edit, nft_handle_ref
from wsltui.simulation.simulate import SCENARIOS
from wsltui.simulation.trace import Fix, Hop, Trace, display
from wsltui.vocabulary import verdict_word

IPTABLES_FRONT_ENDS = ("iptables-legacy", "ip6tables-legacy", "iptables-nft", "ip6tables-nft")
AUTOMATIC_FRONT_ENDS = (*IPTABLES_FRONT_ENDS, "nft", "firewalld", "ufw")
WINDOWS_FRONT_ENDS = ("windows-firewall", "hyperv-firewall")
NETFILTER_TARGETS = ("iptables-legacy-4", "iptables-legacy-6", "iptables-nft-4", "iptables-nft-6", "nft")

# The undo of a step that writes a file: apply replaces it with the command that puts the file
# back from the backup (``cp``), or removes it when it did not exist before (``rm -f``).
RESTORE = "<restore-from-backup>"


class ActionError(Exception):
    """Refused before anything changed: read-only, a plan that needs a person, no backup, a plan
    made from rules that have changed since, a rule wsltui cannot address exactly."""


def iptables_target(front_end: str) -> str:
    """The backup target that saves an iptables front end: ip6tables-nft -> iptables-nft-6."""
    return front_end.replace("ip6tables", "iptables") + ("-6" if front_end.startswith("ip6") else "-4")


def restore_of(path: str) -> list[str]:
    return [RESTORE, path]


def _step_text(argv: list[str], stdin: str | None) -> str:
    """A step as a person reads it: a file write shows where its content comes from."""
    from wsltui.actions.state import SAVERS

    if argv[:1] == [RESTORE]:
        return f"put {argv[1]} back as it was before (from the backup; removed if it did not exist)"
    if argv[:1] == ["tee"] and stdin:
        path = argv[-1]
        if stdin.startswith("save:") and stdin[5:] in SAVERS:
            return f"{display(list(SAVERS[stdin[5:]]))} > {path}"
        if stdin == "nft-native":
            return f"nft -s list table ... > {path}  (every native nft table, each flushed and redefined)"
        return f"write {path}:\n" + "\n".join(f"         | {l}" for l in stdin[len("text:") :].splitlines())
    words = []
    for a in argv:
        ref = nft_handle_ref(a)
        words.append(
            f"<the handle of the rule {ref[2]}" + (f", now {ref[1]}>" if ref[1] else ">") if ref else display([a])
        )
    return " ".join(words)


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
    # Per argv step, what goes to its stdin: None; "text:<content>"; "save:<target>" (what that
    # backup target's save command prints at that moment); "nft-native" (nftables.conf content).
    stdin: list[str | None] = field(default_factory=list)
    elevated: bool = False  # Windows: argv runs an elevated PowerShell (a UAC prompt)
    script: str = ""  # Windows: the PowerShell that runs elevated (what a person reads or copies)
    undo_script: str = ""

    def stdin_of(self, step: int) -> str | None:
        return self.stdin[step] if step < len(self.stdin) else None

    @property
    def commands(self) -> list[str]:
        if self.elevated:
            return ["elevated PowerShell (UAC prompt):", *(f"  {l}" for l in self.script.splitlines())]
        return [_step_text(a, self.stdin_of(i)) for i, a in enumerate(self.argv)]

    @property
    def undo(self) -> list[str]:
        if self.elevated:
            return ["elevated PowerShell (UAC prompt):", *(f"  {l}" for l in self.undo_script.splitlines())]
        return [_step_text(a, None) for a in reversed(self.undo_argv)]


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
    scenario: dict[str, Any]  # name, src, dst, in_iface: enough to trace the same packet again
    fixes: list[PlannedFix] = field(default_factory=list)  # in the order they are applied
    manual: list[Manual] = field(default_factory=list)
    blockers: list[dict[str, str | None]] = field(default_factory=list)  # (layer, owner, rule) of what the fixes remove
    kind: str = "fix"  # fix | disable | enable | delete | add | persist | windows
    title: str = ""  # one line for a rule action ("Disable iptables-nft filter INPUT rule 3: ...")
    edits: list[Edit] = field(default_factory=list)  # checked before (stale plan) and after (verified)
    ref: dict[str, Any] | None = None  # the rule a rule action is about (RuleRef.to_json()), kept for enable
    enables: str = ""  # an enable: the journal id of the disable it reverses

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

    @property
    def elevated(self) -> bool:
        """Some step runs on Windows through an elevated PowerShell (a UAC prompt)."""
        return any(f.elevated for f in self.fixes)

    def backup_targets(self) -> list[str]:
        """What is saved before applying: every netfilter source whenever Linux changes (cheap,
        and what undo compares), the front ends' own configuration, and every file a step writes.
        A Windows-only plan saves nothing here: its elevated script reports the rule's state
        before and after into the journal."""
        linux = [f for f in self.fixes if not f.elevated]
        if not linux and not self.edits:
            return []
        targets = list(NETFILTER_TARGETS)
        if "firewalld" in self.front_ends:
            targets += ["firewalld-runtime", "firewalld-permanent", "firewalld-zones"]
        if "ufw" in self.front_ends:
            targets += ["ufw-rules"]
        for e in self.edits:
            if e.target.startswith("file:") and e.target not in targets:
                targets.append(e.target)
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

    def to_json(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "proto": self.proto,
            "scenario": self.scenario,
            "fixes": [asdict(f) for f in self.fixes],
            "manual": [asdict(m) for m in self.manual],
            "blockers": self.blockers,
            "automatic": self.automatic,
            "persistent": self.persistent,
            "needs_root": self.needs_root,
            "elevated": self.elevated,
            "backup": self.backup_targets(),
            "kind": self.kind,
            "title": self.title,
            "edits": [e.to_json() for e in self.edits],
            "ref": self.ref,
            "enables": self.enables,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            data["port"],
            data["proto"],
            data.get("scenario") or {},
            [PlannedFix(**f) for f in data.get("fixes", [])],
            [Manual(**m) for m in data.get("manual", [])],
            data.get("blockers", []),
            data.get("kind", "fix"),
            data.get("title", ""),
            [Edit(**e) for e in data.get("edits", [])],
            data.get("ref"),
            data.get("enables", ""),
        )

    def describe(self) -> str:
        """The plan as a person reads it: every command, every undo, what is backed up."""
        name = self.scenario.get("name", "")  # an id: people read what it describes
        where = SCENARIOS.get(name, name).replace("PORT", str(self.port))
        lines = [f"{self.title}:" if self.title else f"Plan for {self.proto}/{self.port} ({where}):"]
        if not self.fixes and not self.manual:
            lines.append("  nothing to change: no blocker on this path")
        for i, f in enumerate(self.fixes, 1):
            kind = "persistent" if f.persistent else "runtime only (lost at reboot)"
            needs = "; needs Windows elevation (UAC)" if f.elevated else "; needs root" if f.needs_root else ""
            lines.append(f"  {i}. {f.title}  [{f.front_end}; {kind}{needs}]")
            if f.blocker:
                lines.append(f"     fixes: {f.blocker}")
            lines += [f"     run:  {c}" for c in f.commands]
            lines += [f"     undo: {c}" for c in f.undo]
            if f.note:
                lines.append(f"     note: {f.note}")
        if self.edits:
            lines.append(
                "  Checked first: "
                + "; ".join(sorted({f"{e.target} {e.scope}" for e in self.edits}))
                + " must still be as read (else nothing changes); checked again after the change"
            )
        if self.fixes and self.backup_targets():
            lines.append(
                "  Before any change wsltui saves: " + ", ".join(self.backup_targets()) + " (undo with `wsltui undo`)"
            )
        elif self.fixes:
            lines.append("  Undo with `wsltui undo` (runs the undo above, elevated again)")
        if self.manual:
            lines.append("  Needs a person (wsltui will not apply this plan):")
            for m in self.manual:
                lines.append(f"  - {m.blocker}: {m.title}")
                lines.append(f"    why: {m.why}")
                lines += [f"    $ {c}" for c in m.commands]
        return "\n".join(lines)


def blocker_label(hop: Hop) -> str:
    where = hop.location or hop.edit
    return (
        f"{hop.layer} {verdict_word(hop.verdict)}"
        + (f" at {where}" if where else "")
        + (f": {hop.rule}" if hop.rule else "")
    )


def blocker_key(hop: Hop) -> dict[str, str | None]:
    return {"layer": hop.layer, "owner": hop.owner, "rule": hop.rule, "edit": hop.edit}


def _why_manual(fix: Fix | None, hop: Hop) -> str:
    if fix is None:
        return "wsltui knows no fix for this layer"
    if fix.manual:
        return fix.manual
    if fix.front_end == "windows":
        return "a Windows change wsltui does not run itself: run it in an elevated PowerShell"
    if fix.front_end in ("socket", "client", "wsl"):
        return "the program or the WSL configuration must change, not a firewall"
    return "there is no exact command to run for it"


def plan_for_trace(
    trace: Trace, scenario: dict[str, Any] | None = None, *, elevate: Callable[[Fix], PlannedFix | None] | None = None
) -> Plan:
    """One fix per blocker (the first automatic one), applied last blocker first, so positions
    named by earlier blockers' fixes are still right when those run. ``elevate``: how a Windows
    blocker's fix becomes an elevated step (``wsltui.actions.windows.elevated_fix``: None when it
    cannot be built exactly, ActionError when Windows cannot be reached), given only on a live
    system with Windows interop, never for a snapshot of another machine. ``wsltui.actions``
    exports the version that takes ``elevate=True``."""
    plan = Plan(trace.port, trace.proto, scenario or {"name": trace.scenario})
    seen: set = set()
    chosen: list[PlannedFix] = []
    for hop in trace.blockers:
        fix = next((f for f in hop.fixes if f.automatic and f.front_end in AUTOMATIC_FRONT_ENDS), None)
        if fix is None:
            first = hop.fixes[0] if hop.fixes else None
            why = _why_manual(first, hop)
            if elevate is not None:
                elevated, problem = _elevated(hop, elevate)
                if elevated is not None:
                    elevated.blocker = blocker_label(hop)
                    chosen.append(elevated)
                    plan.blockers.append(blocker_key(hop))
                    continue
                why = problem or why
            plan.manual.append(
                Manual(
                    blocker_label(hop),
                    first.title if first else hop.explanation,
                    why,
                    list(first.commands) if first else [],
                )
            )
            continue
        key = tuple(map(tuple, fix.argv))
        if key in seen:
            continue
        seen.add(key)
        chosen.append(
            PlannedFix(
                fix.title,
                fix.front_end,
                [list(a) for a in fix.argv],
                [list(a) for a in fix.undo_argv],
                fix.persistent,
                fix.needs_root,
                fix.note,
                blocker_label(hop),
            )
        )
        plan.blockers.append(blocker_key(hop))
    plan.fixes = list(reversed(chosen))
    return plan


def _elevated(hop: Hop, elevate: Callable[[Fix], PlannedFix | None]) -> tuple[PlannedFix | None, str | None]:
    """(the first of the hop's Windows fixes ``elevate`` can run elevated, or why none)."""
    for f in hop.fixes:
        if f.front_end != "windows" or f.manual:
            continue
        try:
            out = elevate(f)
        except ActionError as e:
            return (
                None,
                f"a Windows change, and Windows cannot be reached from here ({e}): run it in an elevated PowerShell",
            )
        if out is not None:
            return out, None
    return None, None
