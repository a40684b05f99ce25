"""Rule actions for the Linux front ends, as Plans: disable (remove, and remember exactly where),
enable (put it back there), delete, and add an allow for a port.

Inputs are the facts' own objects -- an iptables ``Rule``, an ``NftRule``, a ``UfwRule`` row, a
firewalld ``Port``/``RichRule``/``ForwardPort`` or a :class:`FirewalldItem` -- so the TUI passes
the selected row. Each builder reads the live rules once (through the runner), checks the rule is
still where the facts said, and returns a Plan with the exact commands, the exact undo, and
:class:`Edit` s that ``apply`` checks before changing anything (the plan is stale if the chain
moved) and after (exactly this rule went or came, nothing else moved).

A disabled rule is remembered in the journal (the disable's entry holds a :class:`RuleRef`:
table, chain, index, nft handle, the rules around it). :func:`disabled_rules` lists those not
enabled again; :func:`enable_plan` puts one back after the rule that was before it (or before the
one that was after it, or at its index).

Building a plan does I/O (about 50-300 ms): call it from a worker, not the UI thread.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from pathlib import Path

from wsltui.actions import persist as persistence
from wsltui.actions import state as st
from wsltui.actions.plan import IPTABLES_FRONT_ENDS, ActionError, Plan, PlannedFix, iptables_target
from wsltui.actions.scopes import (
    Edit,
    firewalld_scope,
    iptables_scope,
    nft_chains,
    nft_handle_at,
    nft_rule_handles,
    nft_scope,
    nft_table_block,
    normalise_line,
    scopes,
    ufw_tuples,
)
from wsltui.actions.windows import port_number
from wsltui.probes.runner import Job, resolve, run

UFW_DEFAULTS = "/etc/default/ufw"
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

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> RuleRef:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class FirewalldItem:
    """A firewalld zone entry a person selects: ``FirewalldItem("public", "service", "ssh")``."""

    zone: str
    kind: str  # a FIREWALLD_KINDS key
    value: str


@dataclass
class DisabledRule:
    id: str  # the journal id of the disable
    time: str
    title: str
    ref: RuleRef
    persistent: bool


# --- reading the live rules --------------------------------------------------------------------


def _live(targets: list[str]) -> dict:
    state = st.capture_state(targets, as_root=True)
    bad = [f"{k}: {s.error}" for k, s in state.items() if s.error]
    if bad:
        raise ActionError("cannot read the rules: " + "; ".join(bad))
    return state


def _nft_handles(runner) -> dict[str, list[tuple[str, int | None]]]:
    """Every nft chain's rules as (normalised text, handle)."""
    rec = runner(Job("rules.nft-handles", ("nft", "-a", "list", "ruleset"), st.SAVE_TIMEOUT, as_root=True))
    if not rec.ok:
        raise ActionError(f"cannot read the nft rules: {rec.error or rec.stderr.strip()}")
    return nft_rule_handles(rec.stdout)


# --- finding a facts object --------------------------------------------------------------------


def rule_ref(rule, facts=None) -> RuleRef:
    """A RuleRef for a facts object (the row the TUI has selected), or ``rule`` itself."""
    if isinstance(rule, RuleRef):
        return rule
    from wsltui.facts.firewalld import ForwardPort, Port, RichRule
    from wsltui.facts.iptables import Rule
    from wsltui.facts.nft import NftRule
    from wsltui.facts.ufw import UfwRule

    if isinstance(rule, Rule):
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
    if isinstance(rule, NftRule):
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
    if isinstance(rule, UfwRule):
        return RuleRef("ufw", rule.text, family="v6" if rule.v6 else "v4", kind="row")  # resolved to a tuple live
    if isinstance(rule, FirewalldItem):
        if rule.kind not in FIREWALLD_KINDS:
            raise ActionError(f"firewalld entries wsltui changes: {', '.join(FIREWALLD_KINDS)}")
        return RuleRef("firewalld", rule.value, zone=rule.zone, kind=rule.kind)
    if isinstance(rule, (Port, RichRule, ForwardPort)):
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
    raise ActionError(f"wsltui has no rule actions for {type(rule).__name__}")


# --- iptables ------------------------------------------------------------------------------------


def _spec(line: str) -> list[str]:
    """The match and target words of an iptables-save line, split the way iptables-restore does."""
    from wsltui.facts.iptables import tokenize

    words, _, err = tokenize(line)
    if err or len(words) < 2 or words[0] != "-A":
        raise ActionError(f"cannot split this rule into arguments exactly ({err or 'not an -A line'}): {line}")
    return words[2:]


def _ipt_chain(ref: RuleRef) -> tuple[str, str, list[str], list[str]]:
    target, scope = iptables_target(ref.front_end), iptables_scope(ref.table, ref.chain)
    now = scopes(target, _live([target])[target].text)
    if scope not in now:
        raise ActionError(f"{ref.front_end} has no chain {ref.chain} in table {ref.table} now (refresh)")
    tflag = [] if ref.table == "filter" else ["-t", ref.table]
    return target, scope, now[scope], tflag


def _ipt_delete_argv(ref: RuleRef, lines: list[str], index: int, tflag: list[str]) -> list[str]:
    """Delete the rule at 1-based ``index``: by its match words when it is the only such rule in
    the chain (clearer, and right even if a rule is inserted above meanwhile), else by number."""
    line = lines[index - 1]
    if lines.count(line) == 1:
        return [ref.front_end, *tflag, "-D", ref.chain, *_spec(line)]
    return [ref.front_end, *tflag, "-D", ref.chain, str(index)]


def _ipt_remove(ref: RuleRef) -> tuple[PlannedFix, list[Edit], RuleRef]:
    target, scope, lines, tflag = _ipt_chain(ref)
    line = normalise_line(ref.text)
    if not (0 < ref.index <= len(lines)) or lines[ref.index - 1] != line:
        raise ActionError(f"the rule is no longer rule {ref.index} of {ref.table} {ref.chain} (refresh): {ref.text}")
    i = ref.index
    ref = dataclasses.replace(ref, prev=lines[i - 2] if i > 1 else None, next=lines[i] if i < len(lines) else None)
    fix = PlannedFix(
        "",
        ref.front_end,
        [_ipt_delete_argv(ref, lines, i, tflag)],
        [[ref.front_end, *tflag, "-I", ref.chain, str(i), *_spec(line)]],
    )
    return fix, [Edit(target, scope, "remove", line, i - 1, lines)], ref


def _place(lines: list[str], ref: RuleRef) -> int:
    """Where a remembered rule goes back (0-based): after the rule that was before it, else
    before the rule that was after it, else at its old index (or the end)."""
    if ref.prev is not None and lines.count(ref.prev) == 1:
        return lines.index(ref.prev) + 1
    if ref.next is not None and lines.count(ref.next) == 1:
        return lines.index(ref.next)
    if ref.prev is None and ref.index <= 1:
        return 0
    return min(max(ref.index - 1, 0), len(lines))


def _ipt_insert(ref: RuleRef, line: str, at: int | None = None) -> tuple[PlannedFix, list[Edit]]:
    """Insert iptables-save ``line`` into ``ref``'s chain at 0-based ``at`` (default: where
    ``ref`` remembers it was)."""
    target, scope, lines, tflag = _ipt_chain(ref)
    i = _place(lines, ref) if at is None else at
    after = lines[:i] + [line] + lines[i:]
    fix = PlannedFix(
        "",
        ref.front_end,
        [[ref.front_end, *tflag, "-I", ref.chain, str(i + 1), *_spec(line)]],
        [_ipt_delete_argv(ref, after, i + 1, tflag)],
    )
    return fix, [Edit(target, scope, "insert", line, i, lines)]


# --- nft -----------------------------------------------------------------------------------------


def _nft_chain(ref: RuleRef, runner) -> tuple[str, list[str], list[tuple[str, int | None]], str]:
    """(scope, the chain's rules, the same with their handles, the whole ruleset text)."""
    scope = nft_scope(ref.family, ref.table, ref.chain)
    ruleset = _live(["nft"])["nft"].text
    lines = scopes("nft", ruleset).get(scope)
    rows = _nft_handles(runner).get(scope)
    if lines is None or rows is None:
        raise ActionError(f"nft has no chain {ref.chain} in table {ref.family} {ref.table} now (refresh)")
    if [t for t, _ in rows] != lines:
        raise ActionError(f"nft chain {scope} changed while wsltui read it; try again")
    return scope, lines, rows, ruleset


def _nft_reads_back(ref: RuleRef, ruleset: str, runner) -> str | None:
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


def _nft_remove(ref: RuleRef, runner) -> tuple[PlannedFix, list[Edit], RuleRef]:
    scope, lines, rows, ruleset = _nft_chain(ref, runner)
    i = next((k for k, (_, h) in enumerate(rows) if h == ref.handle), None)
    if i is None or rows[i][0] != ref.text:
        raise ActionError(f"nft rule handle {ref.handle} is no longer {ref.text!r} in {scope} (refresh)")
    why = _nft_reads_back(ref, ruleset, runner)
    if why:
        raise ActionError(f"{why}: wsltui could not put it back exactly, so it does not remove it (edit it with nft)")
    prev = rows[i - 1] if i else (None, None)
    nxt = rows[i + 1] if i + 1 < len(rows) else (None, None)
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


def _nft_insert(ref: RuleRef, text: str, runner, at: int | None = None) -> tuple[PlannedFix, list[Edit]]:
    """Insert nft rule ``text`` into ``ref``'s chain at 0-based ``at`` (default: where ``ref``
    remembers it was: after the rule that was before it, else before the one after it)."""
    scope, lines, rows, _ = _nft_chain(ref, runner)
    where = [ref.family, ref.table, ref.chain]
    handles = [h for _, h in rows]
    if at is None:
        if (
            ref.prev_handle is not None
            and ref.prev_handle in handles
            and rows[handles.index(ref.prev_handle)][0] == ref.prev
        ):
            at = handles.index(ref.prev_handle) + 1
        elif (
            ref.next_handle is not None
            and ref.next_handle in handles
            and rows[handles.index(ref.next_handle)][0] == ref.next
        ):
            at = handles.index(ref.next_handle)
        else:
            at = _place(lines, ref)
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


# --- ufw -----------------------------------------------------------------------------------------


@dataclass
class UfwTuple:
    """One rule of ufw's rules files: ``[route:]ACTION[_log|_log-all] PROTO DPORT DST SPORT SRC
    [DAPP SAPP] DIRECTION[_IFACE][!out_IFACE] [comment=HEX]``."""

    text: str
    route: bool
    action: str
    log: str
    proto: str
    dport: str
    dst: str
    sport: str
    src: str
    dapp: str
    sapp: str
    direction: str  # in | out
    iface_in: str
    iface_out: str
    comment: str

    @classmethod
    def parse(cls, text: str) -> UfwTuple:
        body, _, hexc = text.partition(" comment=")
        w = body.split()
        if len(w) not in (7, 9):
            raise ActionError(f"a ufw rule wsltui cannot read back exactly: {text}")
        route = w[0].startswith("route:")
        action = w[0].split(":")[-1]
        log = ""
        for suffix in ("_log-all", "_log"):
            if action.endswith(suffix):
                action, log = action[: -len(suffix)], suffix[1:]
                break
        dapp, sapp = (w[6], w[7]) if len(w) == 9 else ("-", "-")
        d = w[-1]
        iface_in = iface_out = ""
        for part in d.split("!"):
            side, _, name = part.partition("_")
            if side == "in":
                iface_in = name
            elif side == "out":
                iface_out = name
        try:
            comment = bytes.fromhex(hexc.strip()).decode("utf-8") if hexc else ""
        except ValueError:
            comment = ""
        return cls(
            text,
            route,
            action,
            log,
            w[1],
            w[2],
            w[3],
            w[4],
            w[5],
            dapp.replace("%20", " "),
            sapp.replace("%20", " "),
            d.split("_")[0],
            iface_in,
            iface_out,
            comment,
        )

    def argv(self) -> list[str]:
        """The ufw words that make exactly this rule (explicit addresses keep it to one family)."""
        out = (["route"] if self.route else []) + [self.action]
        if self.route:
            out += ["in", "on", self.iface_in] if self.iface_in else []
            out += ["out", "on", self.iface_out] if self.iface_out else []
        elif self.iface_in or self.iface_out:
            out += [self.direction, "on", self.iface_in or self.iface_out]
        else:
            out += [self.direction]
        out += [self.log] if self.log else []
        for word, addr, app, port in (
            ("from", self.src, self.sapp, self.sport),
            ("to", self.dst, self.dapp, self.dport),
        ):
            out += [word, addr] + (["app", app] if app != "-" else ["port", port] if port != "any" else [])
        if self.proto != "any" and self.dapp == "-" and self.sapp == "-":
            out += ["proto", self.proto]
        return out + (["comment", self.comment] if self.comment else [])

    def matches_row(self, row) -> bool:
        """Is this the rule a ``ufw status verbose`` row (facts UfwRule) shows?"""
        anywhere = ("0.0.0.0/0", "::/0")

        def addr(a: str) -> str:
            return "" if a in anywhere else a

        def ports(p: str) -> str:
            return "" if p == "any" else p

        direction = "fwd" if self.route else self.direction
        return (
            row.action == self.action
            and row.direction == direction
            and (row.log or "") == self.log
            and (row.comment or "") == self.comment
            and addr(self.dst) == row.dst.address
            and addr(self.src) == row.src.address
            and ports(self.dport) == (row.ports or row.dst.ports)
            and ports(self.sport) == row.src.ports
            and (self.dapp if self.dapp != "-" else "") == row.dst.app
            and (self.sapp if self.sapp != "-" else "") == row.src.app
            and (self.proto if self.proto != "any" else "") in ("", row.proto or row.dst.proto or row.src.proto)
            and self.iface_in == (row.iface_in or "")
            and self.iface_out == (row.iface_out or "")
        )


def _ufw_lists() -> dict[str, list[str]]:
    """ufw's rule tuples per family ("v4": user.rules, "v6": user6.rules), in order."""
    state = _live(["ufw-rules"])
    return {fam: ufw_tuples(state[f"ufw:{path}"].text) for fam, path in zip(("v4", "v6"), st.UFW_FILES)}


def _ufw_row_to_ref(ref: RuleRef, facts) -> RuleRef:
    """A ``ufw status`` row -> the tuple it shows (index = 1-based in its family's file)."""
    lists = _ufw_lists()
    row = None
    for r in facts.ufw.rules if facts is not None and facts.ufw is not None else ():
        if r.text == ref.text and bool(r.v6) == (ref.family == "v6"):
            row = r
            break
    if row is None:
        raise ActionError("this ufw row is not in the facts given (pass the facts it came from)")
    found = [(i, t) for i, t in enumerate(lists[ref.family]) if UfwTuple.parse(t).matches_row(row)]
    if len(found) != 1:
        raise ActionError(
            f"cannot tell which ufw rule the row {row.text.strip()!r} is ({len(found)} candidates); "
            "refresh, or use `ufw status numbered`"
        )
    i, t = found[0]
    fam = lists[ref.family]
    return RuleRef(
        "ufw",
        t,
        family=ref.family,
        index=i + 1,
        prev=fam[i - 1] if i else None,
        next=fam[i + 1] if i + 1 < len(fam) else None,
    )


def _ufw_number(lists: dict[str, list[str]], family: str, index: int) -> int:
    """``ufw status numbered``'s number of the rule at 1-based ``index`` of ``family``: the IPv4
    rules come first, then the IPv6 ones."""
    return index + (len(lists["v4"]) if family == "v6" else 0)


def _ufw_remove(ref: RuleRef) -> tuple[PlannedFix, list[Edit], RuleRef]:
    lists = _ufw_lists()
    fam = lists[ref.family]
    if not (0 < ref.index <= len(fam)) or fam[ref.index - 1] != ref.text:
        raise ActionError(f"ufw rule {ref.index} ({ref.family}) is no longer {ref.text!r} (refresh)")
    n = _ufw_number(lists, ref.family, ref.index)
    words = UfwTuple.parse(ref.text).argv()
    back = ["ufw", "insert", str(n), *words] if ref.index <= len(fam) - 1 else ["ufw", *words]
    target = f"ufw:{st.UFW_FILES[0 if ref.family == 'v4' else 1]}"
    fix = PlannedFix(
        "", "ufw", [["ufw", "--force", "delete", str(n)]], [back], persistent=True, note="ufw rules are persistent"
    )
    return fix, [Edit(target, "tuples", "remove", ref.text, ref.index - 1, fam)], ref


def _ufw_insert(ref: RuleRef) -> tuple[PlannedFix, list[Edit]]:
    lists = _ufw_lists()
    fam = lists[ref.family]
    i = _place(fam, ref)
    words = UfwTuple.parse(ref.text).argv()
    argv = ["ufw", "insert", str(_ufw_number(lists, ref.family, i + 1)), *words] if i < len(fam) else ["ufw", *words]
    target = f"ufw:{st.UFW_FILES[0 if ref.family == 'v4' else 1]}"
    fix = PlannedFix(
        "",
        "ufw",
        [argv],
        [["ufw", "--force", "delete", str(_ufw_number(lists, ref.family, i + 1))]],
        persistent=True,
        note="ufw rules are persistent",
    )
    return fix, [Edit(target, "tuples", "insert", ref.text, i, fam)]


def _ufw_ipv6() -> bool:
    """Does ufw manage IPv6 too (``IPV6=yes`` in /etc/default/ufw, its default)?"""
    text, _, _ = st.read_file(UFW_DEFAULTS, True)
    values = [
        l.split("=", 1)[1].strip().strip('"').lower()
        for l in (text or "").splitlines()
        if l.strip().startswith("IPV6=")
    ]
    return (values[-1] if values else "yes") == "yes"


# --- firewalld -----------------------------------------------------------------------------------


def _fw_lists(ref: RuleRef) -> dict[str, list[str]]:
    state = _live(["firewalld-runtime", "firewalld-permanent"])
    scope = firewalld_scope(ref.zone, FIREWALLD_KINDS[ref.kind][1])
    out = {}
    for target in ("firewalld-runtime", "firewalld-permanent"):
        all_scopes = scopes(target, state[target].text)
        if firewalld_scope(ref.zone, ":settings") not in all_scopes:
            raise ActionError(f"firewalld has no zone {ref.zone} ({target[len('firewalld-') :]} configuration)")
        out[target] = all_scopes.get(scope, [])
    return out


def _fw_change(ref: RuleRef, add: bool, targets: list[str], lists: dict) -> tuple[PlannedFix, list[Edit]]:
    stem, scope_kind = FIREWALLD_KINDS[ref.kind]
    scope = firewalld_scope(ref.zone, scope_kind)
    argv, undo, edits = [], [], []
    for target in targets:
        perm = ["--permanent"] if target == "firewalld-permanent" else []
        do, back = ("add", "remove") if add else ("remove", "add")
        argv.append(["firewall-cmd", *perm, f"--zone={ref.zone}", f"--{do}-{stem}={ref.text}"])
        undo.append(["firewall-cmd", *perm, f"--zone={ref.zone}", f"--{back}-{stem}={ref.text}"])
        edits.append(Edit(target, scope, "insert" if add else "remove", ref.text, None, lists[target]))
    persistent = "firewalld-permanent" in targets
    note = (
        "runtime and permanent configuration (no --reload: it would drop other runtime-only changes)"
        if persistent
        else "runtime only: a reload or restart of firewalld brings the permanent configuration back"
    )
    return PlannedFix("", "firewalld", argv, undo, persistent=persistent, note=note), edits


# --- plans ---------------------------------------------------------------------------------------


def _finish(
    kind: str,
    title: str,
    fix: PlannedFix,
    edits: list[Edit],
    ref: RuleRef,
    persist: bool,
    root,
    port: int = 0,
    proto: str = "",
) -> Plan:
    fix.title = title
    fixes, more = [fix], []
    if persist and ref.front_end in (*IPTABLES_FRONT_ENDS, "nft"):
        pf, more = persistence.fixes(ref.front_end, root)
        fixes += pf
        fix.persistent = True
        fix.note = (fix.note + "; " if fix.note else "") + "made persistent by the next step"
    elif ref.front_end in (*IPTABLES_FRONT_ENDS, "nft"):
        fix.note = (fix.note + "; " if fix.note else "") + "runtime only: lost at the next restart unless persisted"
    return Plan(port, proto, {"name": kind}, fixes, kind=kind, title=title, edits=edits + more, ref=ref.to_json())


def _remove(kind: str, rule, facts, persist: bool, root, runner) -> Plan:
    ref = rule_ref(rule, facts)
    if ref.front_end in IPTABLES_FRONT_ENDS:
        fix, edits, ref = _ipt_remove(ref)
    elif ref.front_end == "nft":
        fix, edits, ref = _nft_remove(ref, runner)
    elif ref.front_end == "ufw":
        if ref.kind == "row":
            ref = _ufw_row_to_ref(ref, facts)
        fix, edits, ref = _ufw_remove(ref)
    elif ref.front_end == "firewalld":
        lists = _fw_lists(ref)
        if ref.text not in lists["firewalld-runtime"]:
            raise ActionError(f"{ref.label} is not in the runtime configuration now (refresh)")
        targets = ["firewalld-runtime"] + (
            ["firewalld-permanent"] if persist and ref.text in lists["firewalld-permanent"] else []
        )
        ref = dataclasses.replace(ref, permanent="firewalld-permanent" in targets)
        fix, edits = _fw_change(ref, False, targets, lists)
    else:
        raise ActionError(f"no rule actions for {ref.front_end}")
    verb = "Disable" if kind == "disable" else "Delete"
    return _finish(kind, f"{verb} {ref.label}", fix, edits, ref, persist, root)


def disable_plan(rule, facts=None, *, persist: bool = False, root=None, runner=run) -> Plan:
    """Remove ``rule`` and remember exactly where it was (see :func:`disabled_rules`).
    ``persist``: iptables/nft: also write the rules the distro restores at boot; firewalld: the
    permanent configuration too. ufw changes are always persistent."""
    return _remove("disable", rule, facts, persist, root, runner)


def delete_plan(rule, facts=None, *, persist: bool = False, root=None, runner=run) -> Plan:
    """Remove ``rule`` (undo with ``wsltui undo``; it is not kept for enable)."""
    return _remove("delete", rule, facts, persist, root, runner)


def enable_plan(disabled: DisabledRule, *, persist: bool | None = None, root=None, runner=run) -> Plan:
    """Put a disabled rule back where it was. ``persist`` defaults to what the disable did."""
    ref = disabled.ref
    persist = disabled.persistent if persist is None else persist
    if ref.front_end in IPTABLES_FRONT_ENDS:
        fix, edits = _ipt_insert(ref, ref.text)
    elif ref.front_end == "nft":
        fix, edits = _nft_insert(ref, ref.text, runner)
    elif ref.front_end == "ufw":
        fix, edits = _ufw_insert(ref)
    elif ref.front_end == "firewalld":
        lists = _fw_lists(ref)
        targets = ["firewalld-runtime"] + (["firewalld-permanent"] if ref.permanent else [])
        there = [t for t in targets if ref.text in lists[t]]
        if there:
            raise ActionError(f"{ref.label} is already there ({', '.join(there)})")
        fix, edits = _fw_change(ref, True, targets, lists)
    else:
        raise ActionError(f"no rule actions for {ref.front_end}")
    plan = _finish("enable", f"Enable again {ref.label}", fix, edits, ref, persist, root)
    plan.enables = disabled.id
    return plan


def added_iptables_line(chain: str, port: int, proto: str) -> tuple[list[str], str]:
    """The match words of an allow wsltui adds, and the line iptables-save prints for it."""
    comment = f"wsltui: allow {proto}/{port}"
    words = ["-p", proto, "-m", proto, "--dport", str(port), "-m", "comment", "--comment", comment, "-j", "ACCEPT"]
    return words, f'-A {chain} -p {proto} -m {proto} --dport {port} -m comment --comment "{comment}" -j ACCEPT'


def add_allow_plan(
    front_end: str,
    port,
    proto: str = "tcp",
    *,
    at=None,
    zone: str | None = None,
    facts=None,
    persist: bool = False,
    root=None,
    runner=run,
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
    port = port_number(port)
    proto = str(proto).lower()
    if proto not in ("tcp", "udp"):
        raise ActionError(f"protocol must be tcp or udp, not {proto!r}")
    spec = f"{port}/{proto}"
    if front_end in IPTABLES_FRONT_ENDS:
        from wsltui.facts.iptables import Rule

        if isinstance(at, Rule):
            ref = rule_ref(at, facts)
            if ref.front_end != front_end:
                raise ActionError(f"that rule is in {ref.front_end}, not {front_end}")
            pos = ref.index - 1
        elif at is None:
            ref, pos = RuleRef(front_end, "", "filter", "", "INPUT"), 0
        else:
            raise ActionError("for iptables, add an allow before a rule (or at the top of filter INPUT)")
        words, line = added_iptables_line(ref.chain, port, proto)
        _, _, lines, _ = _ipt_chain(ref)
        if line in lines:
            raise ActionError(f"{front_end} {ref.table} {ref.chain} already has this allow: {line}")
        fix, edits = _ipt_insert(ref, line, pos)
        where = f"{front_end} {ref.table} {ref.chain} at position {pos + 1}"
        return _finish("add", f"Allow {spec} in {where}", fix, edits, ref, persist, root, port, proto)
    if front_end == "nft":
        ref, pos = _nft_target(at, facts)
        text = f'{proto} dport {port} accept comment "wsltui: allow {proto}/{port}"'
        fix, edits = _nft_insert(ref, text, runner, pos)
        title = f"Allow {spec} in nft {ref.family} {ref.table} chain {ref.chain} at position {edits[0].index + 1}"
        return _finish("add", title, fix, edits, ref, persist, root, port, proto)
    if front_end == "firewalld":
        z = zone or (facts.firewalld.default_zone if facts is not None and facts.firewalld is not None else None)
        if not z:
            raise ActionError("which firewalld zone? (the default zone is not known)")
        ref = RuleRef("firewalld", spec, zone=z, kind="port")
        lists = _fw_lists(ref)
        targets = ["firewalld-runtime"] + (["firewalld-permanent"] if persist else [])
        there = [t for t in targets if spec in lists[t]]
        if there:
            raise ActionError(f"{spec} is already open in firewalld zone {z} ({', '.join(there)})")
        fix, edits = _fw_change(ref, True, targets, lists)
        return _finish("add", f"Open {spec} in firewalld zone {z}", fix, edits, ref, persist, root, port, proto)
    if front_end == "ufw":
        return _ufw_allow(port, proto)
    raise ActionError(f"no rule actions for {front_end}")


def _nft_target(at, facts) -> tuple[RuleRef, int | None]:
    from wsltui.facts.nft import NftChain, NftRule

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


def _ufw_allow(port: int, proto: str) -> Plan:
    lists = _ufw_lists()
    spec = f"{port}/{proto}"
    families = ["v4", "v6"] if _ufw_ipv6() else ["v4"]
    edits, same = [], []
    for fam in families:
        anywhere = "0.0.0.0/0" if fam == "v4" else "::/0"
        new = f"allow {proto} {port} {anywhere} any {anywhere} in"
        target = f"ufw:{st.UFW_FILES[0 if fam == 'v4' else 1]}"
        if new in lists[fam]:
            raise ActionError(f"ufw already allows {spec} ({fam})")
        for i, t in enumerate(lists[fam]):
            body, _, _ = t.partition(" comment=")
            w = body.split()
            if len(w) == 7 and w[1:] == new.split()[1:] and w[0] in ("deny", "reject", "limit"):
                same.append(w[0])
                edits.append(Edit(target, "tuples", "remove", t, i, lists[fam]))
                break
        else:
            edits.append(Edit(target, "tuples", "insert", new, 0, lists[fam]))
    ref = RuleRef("ufw", f"allow {spec}")
    if same:
        # ufw treats "allow 8080/tcp" as the same rule as "deny 8080/tcp" and updates it where it
        # is; the exact undo is the old action again.
        if len(set(same)) != 1 or len(same) != len(families):
            raise ActionError(f"ufw has different rules for {spec} per family: change them with ufw")
        for e in edits:
            e.op, e.item = "replace", e.item.replace(same[0], "allow", 1)
        fix = PlannedFix(
            f"Change the ufw rule for {spec} from {same[0]} to allow",
            "ufw",
            [["ufw", "allow", spec]],
            [["ufw", same[0], spec]],
            persistent=True,
            note="ufw updates the rule where it is",
        )
    else:
        fix = PlannedFix(
            f"Allow {spec} in ufw, ahead of every other rule",
            "ufw",
            [["ufw", "prepend", "allow", spec]],
            [["ufw", "delete", "allow", spec]],
            persistent=True,
            note="ufw rules are persistent",
        )
    return Plan(port, proto, {"name": "add"}, [fix], kind="add", title=fix.title, edits=edits, ref=ref.to_json())


# --- the disabled rules --------------------------------------------------------------------------


def disabled_rules(base: Path | None = None) -> list[DisabledRule]:
    """Linux rules disabled with wsltui and not enabled again (nor the disable undone), oldest
    first. (A disabled Windows rule stays in Windows, Enabled=False: the facts show it.)"""
    entries = st.Journal(base).entries()
    enabled = {
        e["plan"].get("enables") for e in entries if e.get("action") == "enable" and e.get("result") == "applied"
    }
    out = []
    for e in entries:
        plan = e.get("plan") or {}
        ref = plan.get("ref")
        if e.get("action") != "disable" or e.get("result") != "applied" or e["id"] in enabled or not ref:
            continue
        if ref.get("front_end") in ("windows-firewall", "hyperv-firewall"):
            continue
        out.append(
            DisabledRule(
                e["id"], e.get("time", ""), plan.get("title", ""), RuleRef.from_json(ref), bool(plan.get("persistent"))
            )
        )
    return out
