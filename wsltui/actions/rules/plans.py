"""The rule actions as Plans, whatever the front end: disable (remove, and remember exactly
where), delete, enable (put a disabled rule back there), and add an allow for a port. Each front
end's module builds the fix and its edits; this one titles it and adds the persistence steps."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from wsltui.actions import persist as persistence
from wsltui.actions.plan import IPTABLES_FRONT_ENDS, ActionError, Plan, PlannedFix
from wsltui.actions.rules import firewalld, iptables, nftables, ufw
from wsltui.actions.rules.disabled import DisabledRule
from wsltui.actions.rules.shared import RuleLike, RuleRef, rule_ref
from wsltui.actions.scopes import Edit
from wsltui.actions.windows import port_number
from wsltui.probes.runner import Runner, run

if TYPE_CHECKING:
    from wsltui.facts import Facts


def _finish(
    kind: str,
    title: str,
    fix: PlannedFix,
    edits: list[Edit],
    ref: RuleRef,
    persist: bool,
    root: str | os.PathLike[str] | None,
    port: int = 0,
    proto: str = "",
) -> Plan:
    fix.title = title
    fixes = [fix]
    more: list[Edit] = []
    if persist and ref.front_end in (*IPTABLES_FRONT_ENDS, "nft"):
        pf, more = persistence.fixes(ref.front_end, root)
        fixes += pf
        fix.persistent = True
        fix.note = (fix.note + "; " if fix.note else "") + "made persistent by the next step"
    elif ref.front_end in (*IPTABLES_FRONT_ENDS, "nft"):
        fix.note = (fix.note + "; " if fix.note else "") + "runtime only: lost at the next restart unless persisted"
    return Plan(port, proto, {"name": kind}, fixes, kind=kind, title=title, edits=edits + more, ref=ref.to_json())


def _remove(
    kind: str, rule: RuleLike, facts: Facts | None, persist: bool, root: str | os.PathLike[str] | None, runner: Runner
) -> Plan:
    ref = rule_ref(rule, facts)
    if ref.front_end in IPTABLES_FRONT_ENDS:
        fix, edits, ref = iptables.remove(ref)
    elif ref.front_end == "nft":
        fix, edits, ref = nftables.remove(ref, runner)
    elif ref.front_end == "ufw":
        if ref.kind == "row":
            ref = ufw.row_to_ref(ref, facts)
        fix, edits, ref = ufw.remove(ref)
    elif ref.front_end == "firewalld":
        fix, edits, ref = firewalld.remove(ref, persist)
    else:
        raise ActionError(f"no rule actions for {ref.front_end}")
    verb = "Disable" if kind == "disable" else "Delete"
    return _finish(kind, f"{verb} {ref.label}", fix, edits, ref, persist, root)


def disable_plan(
    rule: RuleLike,
    facts: Facts | None = None,
    *,
    persist: bool = False,
    root: str | os.PathLike[str] | None = None,
    runner: Runner = run,
) -> Plan:
    """Remove ``rule`` and remember exactly where it was (see :func:`disabled_rules`).
    ``persist``: iptables/nft: also write the rules the distro restores at boot; firewalld: the
    permanent configuration too. ufw changes are always persistent."""
    return _remove("disable", rule, facts, persist, root, runner)


def delete_plan(
    rule: RuleLike,
    facts: Facts | None = None,
    *,
    persist: bool = False,
    root: str | os.PathLike[str] | None = None,
    runner: Runner = run,
) -> Plan:
    """Remove ``rule`` (undo with ``wsltui undo``; it is not kept for enable)."""
    return _remove("delete", rule, facts, persist, root, runner)


def enable_plan(
    disabled: DisabledRule,
    *,
    persist: bool | None = None,
    root: str | os.PathLike[str] | None = None,
    runner: Runner = run,
) -> Plan:
    """Put a disabled rule back where it was. ``persist`` defaults to what the disable did."""
    ref = disabled.ref
    persist = disabled.persistent if persist is None else persist
    if ref.front_end in IPTABLES_FRONT_ENDS:
        fix, edits = iptables.insert(ref, ref.text)
    elif ref.front_end == "nft":
        fix, edits = nftables.insert(ref, ref.text, runner)
    elif ref.front_end == "ufw":
        fix, edits = ufw.insert(ref)
    elif ref.front_end == "firewalld":
        fix, edits = firewalld.insert(ref)
    else:
        raise ActionError(f"no rule actions for {ref.front_end}")
    plan = _finish("enable", f"Enable again {ref.label}", fix, edits, ref, persist, root)
    plan.enables = disabled.id
    return plan


def add_allow_plan(
    front_end: str,
    port: int | str,
    proto: str = "tcp",
    *,
    at: object = None,
    zone: str | None = None,
    facts: Facts | None = None,
    persist: bool = False,
    root: str | os.PathLike[str] | None = None,
    runner: Runner = run,
) -> Plan:
    """Accept ``proto/port`` in ``front_end``.

    - iptables (all four): ``at`` = a facts Rule (insert just before it) or None (filter INPUT,
      first); the rule carries the comment ``wsltui: allow PROTO/PORT``.
    - nft: ``at`` = an NftRule (just before it) or an NftChain (first in it); None: the first
      native filter input chain in ``facts``.
    - firewalld: ``--add-port`` in ``zone`` (default: the default zone); ``persist`` adds it to the
      permanent configuration too.
    - ufw: ``ufw prepend allow PORT/PROTO`` (both families; ahead of every other rule), or, where
      a rule for exactly that port exists with another action, ufw changes that rule in place."""
    number = port_number(port)
    proto = str(proto).lower()
    if proto not in ("tcp", "udp"):
        raise ActionError(f"protocol must be tcp or udp, not {proto!r}")
    spec = f"{number}/{proto}"
    if front_end in IPTABLES_FRONT_ENDS:
        fix, edits, ref, where = iptables.allow(front_end, number, proto, at, facts)
        return _finish("add", f"Allow {spec} in {where}", fix, edits, ref, persist, root, number, proto)
    if front_end == "nft":
        fix, edits, ref, title = nftables.allow(number, proto, at, facts, runner)
        return _finish("add", title, fix, edits, ref, persist, root, number, proto)
    if front_end == "firewalld":
        z = zone or (facts.firewalld.default_zone if facts is not None and facts.firewalld is not None else None)
        if not z:
            raise ActionError("which firewalld zone? (the default zone is not known)")
        fix, edits, ref = firewalld.allow(z, spec, persist)
        return _finish("add", f"Open {spec} in firewalld zone {z}", fix, edits, ref, persist, root, number, proto)
    if front_end == "ufw":
        return ufw.allow_plan(number, proto)
    raise ActionError(f"no rule actions for {front_end}")
