"""Rule actions in native nft tables: remove a rule and put it back next to the same neighbours
(by handle), insert the allow wsltui adds. A rule nft would not read back as itself is refused
before it is removed, so that it can always be put back exactly."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from wsltui.actions import state as st
from wsltui.actions.plan import ActionError, PlannedFix
from wsltui.actions.rules.shared import RuleRef, live_state, place, rule_ref
from wsltui.actions.scopes import (
    Edit,
    nft_chains,
    nft_handle_at,
    nft_rule_handles,
    nft_scope,
    nft_table_block,
    normalise_line,
    scopes,
)
from wsltui.facts.nft import NftChain, NftRule
from wsltui.probes.runner import Job, Runner, resolve

if TYPE_CHECKING:
    from wsltui.facts import Facts


def _handles(runner: Runner) -> dict[str, list[tuple[str, int | None]]]:
    """Every nft chain's rules as (normalised text, handle)."""
    rec = runner(Job("rules.nft-handles", ("nft", "-a", "list", "ruleset"), st.SAVE_TIMEOUT, as_root=True))
    if not rec.ok:
        raise ActionError(f"cannot read the nft rules: {rec.error or rec.stderr.strip()}")
    return nft_rule_handles(rec.stdout)


def _chain(ref: RuleRef, runner: Runner) -> tuple[str, list[str], list[tuple[str, int | None]], str]:
    """(scope, the chain's rules, the same with their handles, the whole ruleset text)."""
    scope = nft_scope(ref.family, ref.table, ref.chain)
    ruleset = live_state(["nft"])["nft"].text
    lines = scopes("nft", ruleset).get(scope)
    rows = _handles(runner).get(scope)
    if lines is None or rows is None:
        raise ActionError(f"nft has no chain {ref.chain} in table {ref.family} {ref.table} now (refresh)")
    if [t for t, _ in rows] != lines:
        raise ActionError(f"nft chain {scope} changed while wsltui read it; try again")
    return scope, lines, rows, ruleset


def _reads_back(ref: RuleRef, ruleset: str, runner: Runner) -> str | None:
    """Why nft would not read this rule's printed text back as the same rule (None: it does).
    nft prints some rules in a form it parses differently (an anonymous set whose intervals it
    merged comes back as a plain range), and then the rule could not be put back exactly. Checked
    by loading the table into a throwaway network namespace and listing it again."""
    block = nft_table_block(ruleset, ref.family, ref.table)
    if not block or resolve("unshare") is None:
        return None
    # Two nft runs in one throwaway namespace (a list inside the loading batch sees the chain
    # before the batch commits); the script is fixed, the names are its arguments.
    script = 'nft -f - && nft list chain "$1" "$2" "$3"'
    rec = runner(
        Job(
            "rules.nft-roundtrip",
            ("unshare", "--net", "sh", "-c", script, "sh", ref.family, ref.table, ref.chain),
            st.SAVE_TIMEOUT,
            as_root=True,
            stdin=block.encode(),
        )
    )
    if not rec.ok:
        return None  # cannot tell here (no unshare rights, a table that needs other tables): verified after the change
    again = [normalise_line(l) for l in nft_chains(rec.stdout).get(nft_scope(ref.family, ref.table, ref.chain), [])]
    if ref.text in again:
        return None
    read = next(
        (
            l
            for l in again
            if l
            not in [normalise_line(x) for x in nft_chains(ruleset).get(nft_scope(ref.family, ref.table, ref.chain), [])]
        ),
        "?",
    )
    return f"nft prints this rule as {ref.text!r} but reads that back as {read!r}"


def remove(ref: RuleRef, runner: Runner) -> tuple[PlannedFix, list[Edit], RuleRef]:
    """Remove the rule ``ref`` names (by handle, checked to be still that rule); the ref comes
    back with the rules around it now and their handles (where enable puts it back)."""
    scope, lines, rows, ruleset = _chain(ref, runner)
    i = next((k for k, (_, h) in enumerate(rows) if h == ref.handle), None)
    if i is None or rows[i][0] != ref.text:
        raise ActionError(f"nft rule handle {ref.handle} is no longer {ref.text!r} in {scope} (refresh)")
    why = _reads_back(ref, ruleset, runner)
    if why:
        raise ActionError(f"{why}: wsltui could not put it back exactly, so it does not remove it (edit it with nft)")
    prev: tuple[str | None, int | None] = rows[i - 1] if i else (None, None)
    nxt: tuple[str | None, int | None] = rows[i + 1] if i + 1 < len(rows) else (None, None)
    ref = dataclasses.replace(ref, index=i + 1, prev=prev[0], prev_handle=prev[1], next=nxt[0], next_handle=nxt[1])
    where = [ref.family, ref.table, ref.chain]
    # After the delete, the rule before it is still at i - 1 and the one after it moved up to i.
    if prev[0] is not None:
        back = ["nft", "add", "rule", *where, "position", nft_handle_at(i - 1, prev[1], prev[0]), ref.text]
    elif nxt[0] is not None:
        back = ["nft", "insert", "rule", *where, "position", nft_handle_at(i, nxt[1], nxt[0]), ref.text]
    else:
        back = ["nft", "add", "rule", *where, ref.text]
    fix = PlannedFix(
        "", "nft", [["nft", "delete", "rule", *where, "handle", nft_handle_at(i, ref.handle, ref.text)]], [back]
    )
    return fix, [Edit("nft", scope, "remove", ref.text, i, lines)], ref


def _remembered_place(ref: RuleRef, rows: list[tuple[str, int | None]], lines: list[str]) -> int:
    """Where a remembered rule goes back (0-based): after the rule that was before it, else
    before the one after it (both by handle, checked to be still the same rule), else by text."""
    handles = [h for _, h in rows]
    if (
        ref.prev_handle is not None
        and ref.prev_handle in handles
        and rows[handles.index(ref.prev_handle)][0] == ref.prev
    ):
        return handles.index(ref.prev_handle) + 1
    if (
        ref.next_handle is not None
        and ref.next_handle in handles
        and rows[handles.index(ref.next_handle)][0] == ref.next
    ):
        return handles.index(ref.next_handle)
    return place(lines, ref)


def insert(ref: RuleRef, text: str, runner: Runner, at: int | None = None) -> tuple[PlannedFix, list[Edit]]:
    """Insert nft rule ``text`` into ``ref``'s chain at 0-based ``at`` (default: where ``ref``
    remembers it was: after the rule that was before it, else before the one after it)."""
    scope, lines, rows, _ = _chain(ref, runner)
    where = [ref.family, ref.table, ref.chain]
    if at is None:
        at = _remembered_place(ref, rows, lines)
    if at < len(rows):
        pos = ["insert", "rule", *where, "position", nft_handle_at(at, rows[at][1], rows[at][0])]
    elif at > 0:
        pos = ["add", "rule", *where, "position", nft_handle_at(at - 1, rows[at - 1][1], rows[at - 1][0])]
    else:
        pos = ["add", "rule", *where]
    item = normalise_line(text)
    fix = PlannedFix(
        "", "nft", [["nft", *pos, text]], [["nft", "delete", "rule", *where, "handle", nft_handle_at(at, None, item)]]
    )
    return fix, [Edit("nft", scope, "insert", item, at, lines)]


def _target(at: object, facts: Facts | None) -> tuple[RuleRef, int]:
    """The chain an allow goes in and where (0-based): just before the NftRule ``at``, first in
    the NftChain ``at``, or (None) first in the first native filter input chain of ``facts``."""
    if isinstance(at, NftRule):
        ref = rule_ref(at, facts)
        return ref, ref.index - 1
    chain = at if isinstance(at, NftChain) else None
    if chain is None and facts is not None and facts.nft is not None:
        managed = {(t.family, t.name) for t in facts.nft.tables if t.managed_by_iptables}
        chain = next(
            (
                c
                for c in facts.nft.base_chains("input")
                if c.type == "filter"
                and (c.family, c.table) not in managed
                and (c.family, c.table) != ("inet", "firewalld")
            ),
            None,
        )
    if chain is None:
        raise ActionError("no native nft filter input chain to add the allow to (pick a chain)")
    if facts is not None and facts.nft is not None:
        t = facts.nft.table(chain.family, chain.table)
        if t is not None and t.managed_by_iptables:
            raise ActionError(f"nft table {chain.family} {chain.table} belongs to iptables-nft: add the allow there")
    if chain.family not in ("ip", "ip6", "inet"):
        raise ActionError(f"an allow for a port goes in an ip, ip6 or inet table, not {chain.family}")
    return RuleRef("nft", "", chain.table, chain.family, chain.name), 0


def allow(
    port: int, proto: str, at: object, facts: Facts | None, runner: Runner
) -> tuple[PlannedFix, list[Edit], RuleRef, str]:
    """Accept ``proto/port`` in a native nft chain (see :func:`_target`): the fix, its edits,
    the chain's ref and the plan's title."""
    ref, pos = _target(at, facts)
    text = f'{proto} dport {port} accept comment "wsltui: allow {proto}/{port}"'
    fix, edits = insert(ref, text, runner, pos)
    title = f"Allow {port}/{proto} in nft {ref.family} {ref.table} chain {ref.chain} at position {pos + 1}"
    return fix, edits, ref, title
