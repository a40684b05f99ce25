"""Rule actions in the four iptables front ends (iptables / ip6tables, nft and legacy): remove a
rule and put it back, insert the allow wsltui adds. Rules are addressed by their iptables-save
line (by number only where the same line is in the chain twice)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from wsltui.actions.plan import ActionError, PlannedFix, iptables_target
from wsltui.actions.rules.shared import RuleRef, live_state, place, rule_ref
from wsltui.actions.scopes import Edit, iptables_scope, normalise_line, scopes
from wsltui.facts.iptables import Rule, tokenize

if TYPE_CHECKING:
    from wsltui.facts import Facts


def _spec(line: str) -> list[str]:
    """The match and target words of an iptables-save line, split the way iptables-restore does."""
    words, _, err = tokenize(line)
    if err or len(words) < 2 or words[0] != "-A":
        raise ActionError(f"cannot split this rule into arguments exactly ({err or 'not an -A line'}): {line}")
    return words[2:]


def _chain(ref: RuleRef) -> tuple[str, str, list[str], list[str]]:
    """(backup target, scope, the chain's rules now, the ``-t TABLE`` words)."""
    target, scope = iptables_target(ref.front_end), iptables_scope(ref.table, ref.chain)
    now = scopes(target, live_state([target])[target].text)
    if scope not in now:
        raise ActionError(f"{ref.front_end} has no chain {ref.chain} in table {ref.table} now (refresh)")
    tflag = [] if ref.table == "filter" else ["-t", ref.table]
    return target, scope, now[scope], tflag


def _delete_argv(ref: RuleRef, lines: list[str], index: int, tflag: list[str]) -> list[str]:
    """Delete the rule at 1-based ``index``: by its match words when it is the only such rule in
    the chain (clearer, and right even if a rule is inserted above meanwhile), else by number."""
    line = lines[index - 1]
    if lines.count(line) == 1:
        return [ref.front_end, *tflag, "-D", ref.chain, *_spec(line)]
    return [ref.front_end, *tflag, "-D", ref.chain, str(index)]


def remove(ref: RuleRef) -> tuple[PlannedFix, list[Edit], RuleRef]:
    """Remove the rule ``ref`` names, checked to be still there; the ref comes back with the
    rules around it now (where enable puts it back)."""
    target, scope, lines, tflag = _chain(ref)
    line = normalise_line(ref.text)
    if not (0 < ref.index <= len(lines)) or lines[ref.index - 1] != line:
        raise ActionError(f"the rule is no longer rule {ref.index} of {ref.table} {ref.chain} (refresh): {ref.text}")
    i = ref.index
    ref = dataclasses.replace(ref, prev=lines[i - 2] if i > 1 else None, next=lines[i] if i < len(lines) else None)
    fix = PlannedFix(
        "",
        ref.front_end,
        [_delete_argv(ref, lines, i, tflag)],
        [[ref.front_end, *tflag, "-I", ref.chain, str(i), *_spec(line)]],
    )
    return fix, [Edit(target, scope, "remove", line, i - 1, lines)], ref


def insert(ref: RuleRef, line: str, at: int | None = None) -> tuple[PlannedFix, list[Edit]]:
    """Insert iptables-save ``line`` into ``ref``'s chain at 0-based ``at`` (default: where
    ``ref`` remembers it was)."""
    target, scope, lines, tflag = _chain(ref)
    i = place(lines, ref) if at is None else at
    after = lines[:i] + [line] + lines[i:]
    fix = PlannedFix(
        "",
        ref.front_end,
        [[ref.front_end, *tflag, "-I", ref.chain, str(i + 1), *_spec(line)]],
        [_delete_argv(ref, after, i + 1, tflag)],
    )
    return fix, [Edit(target, scope, "insert", line, i, lines)]


def added_iptables_line(chain: str, port: int, proto: str) -> tuple[list[str], str]:
    """The match words of an allow wsltui adds, and the line iptables-save prints for it."""
    comment = f"wsltui: allow {proto}/{port}"
    words = ["-p", proto, "-m", proto, "--dport", str(port), "-m", "comment", "--comment", comment, "-j", "ACCEPT"]
    return words, f'-A {chain} -p {proto} -m {proto} --dport {port} -m comment --comment "{comment}" -j ACCEPT'


def allow(
    front_end: str, port: int, proto: str, at: object, facts: Facts | None
) -> tuple[PlannedFix, list[Edit], RuleRef, str]:
    """Accept ``proto/port`` just before the facts Rule ``at`` (None: first in filter INPUT):
    the fix, its edits, the chain's ref and where, as a person reads it."""
    if isinstance(at, Rule):
        ref = rule_ref(at, facts)
        if ref.front_end != front_end:
            raise ActionError(f"that rule is in {ref.front_end}, not {front_end}")
        pos = ref.index - 1
    elif at is None:
        ref, pos = RuleRef(front_end, "", "filter", "", "INPUT"), 0
    else:
        raise ActionError("for iptables, add an allow before a rule (or at the top of filter INPUT)")
    _, line = added_iptables_line(ref.chain, port, proto)
    _, _, lines, _ = _chain(ref)
    if line in lines:
        raise ActionError(f"{front_end} {ref.table} {ref.chain} already has this allow: {line}")
    fix, edits = insert(ref, line, pos)
    return fix, edits, ref, f"{front_end} {ref.table} {ref.chain} at position {pos + 1}"
