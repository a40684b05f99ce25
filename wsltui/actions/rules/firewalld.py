"""Rule actions in firewalld: remove or add back a zone entry (port, service, rich rule ...) in
the runtime configuration, and in the permanent one when asked; open a port in a zone. No
``--reload``: it would drop other runtime-only changes."""

from __future__ import annotations

import dataclasses

from wsltui.actions.plan import ActionError, PlannedFix
from wsltui.actions.rules.shared import FIREWALLD_KINDS, RuleRef, live_state
from wsltui.actions.scopes import Edit, firewalld_scope, scopes

RUNTIME, PERMANENT = "firewalld-runtime", "firewalld-permanent"


def _lists(ref: RuleRef) -> dict[str, list[str]]:
    """The entries of ``ref``'s kind in its zone, per configuration (runtime, permanent)."""
    state = live_state([RUNTIME, PERMANENT])
    scope = firewalld_scope(ref.zone, FIREWALLD_KINDS[ref.kind][1])
    out = {}
    for target in (RUNTIME, PERMANENT):
        all_scopes = scopes(target, state[target].text)
        if firewalld_scope(ref.zone, ":settings") not in all_scopes:
            raise ActionError(f"firewalld has no zone {ref.zone} ({target[len('firewalld-') :]} configuration)")
        out[target] = all_scopes.get(scope, [])
    return out


def _change(ref: RuleRef, add: bool, targets: list[str], lists: dict[str, list[str]]) -> tuple[PlannedFix, list[Edit]]:
    stem, scope_kind = FIREWALLD_KINDS[ref.kind]
    scope = firewalld_scope(ref.zone, scope_kind)
    argv: list[list[str]] = []
    undo: list[list[str]] = []
    edits: list[Edit] = []
    for target in targets:
        perm = ["--permanent"] if target == PERMANENT else []
        do, back = ("add", "remove") if add else ("remove", "add")
        argv.append(["firewall-cmd", *perm, f"--zone={ref.zone}", f"--{do}-{stem}={ref.text}"])
        undo.append(["firewall-cmd", *perm, f"--zone={ref.zone}", f"--{back}-{stem}={ref.text}"])
        edits.append(Edit(target, scope, "insert" if add else "remove", ref.text, None, lists[target]))
    persistent = PERMANENT in targets
    note = (
        "runtime and permanent configuration (no --reload: it would drop other runtime-only changes)"
        if persistent
        else "runtime only: a reload or restart of firewalld brings the permanent configuration back"
    )
    return PlannedFix("", "firewalld", argv, undo, persistent=persistent, note=note), edits


def remove(ref: RuleRef, persist: bool) -> tuple[PlannedFix, list[Edit], RuleRef]:
    """Remove the entry from the runtime configuration (and the permanent one with ``persist``,
    where it is there too); the ref comes back saying whether the permanent one changed."""
    lists = _lists(ref)
    if ref.text not in lists[RUNTIME]:
        raise ActionError(f"{ref.label} is not in the runtime configuration now (refresh)")
    targets = [RUNTIME] + ([PERMANENT] if persist and ref.text in lists[PERMANENT] else [])
    ref = dataclasses.replace(ref, permanent=PERMANENT in targets)
    fix, edits = _change(ref, False, targets, lists)
    return fix, edits, ref


def insert(ref: RuleRef) -> tuple[PlannedFix, list[Edit]]:
    """Add a removed entry back where the disable removed it from (runtime, and permanent)."""
    lists = _lists(ref)
    targets = [RUNTIME] + ([PERMANENT] if ref.permanent else [])
    there = [t for t in targets if ref.text in lists[t]]
    if there:
        raise ActionError(f"{ref.label} is already there ({', '.join(there)})")
    return _change(ref, True, targets, lists)


def allow(zone: str, spec: str, persist: bool) -> tuple[PlannedFix, list[Edit], RuleRef]:
    """``--add-port=spec`` in ``zone`` (and in its permanent configuration with ``persist``)."""
    ref = RuleRef("firewalld", spec, zone=zone, kind="port")
    lists = _lists(ref)
    targets = [RUNTIME] + ([PERMANENT] if persist else [])
    there = [t for t in targets if spec in lists[t]]
    if there:
        raise ActionError(f"{spec} is already open in firewalld zone {zone} ({', '.join(there)})")
    fix, edits = _change(ref, True, targets, lists)
    return fix, edits, ref
