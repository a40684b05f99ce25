"""Rule actions in ufw: its rules files' tuples (:class:`UfwTuple`), the ``ufw status`` row a
person selects turned into the tuple it shows, remove / put back by ``ufw status numbered``
number, and the allow wsltui adds. ufw changes are always persistent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from wsltui.actions import state as st
from wsltui.actions.plan import ActionError, Plan, PlannedFix
from wsltui.actions.rules.shared import RuleRef, live_state, place
from wsltui.actions.scopes import Edit, ufw_tuples
from wsltui.facts.ufw import UfwRule

if TYPE_CHECKING:
    from wsltui.facts import Facts

UFW_DEFAULTS = "/etc/default/ufw"


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

    def matches_row(self, row: UfwRule) -> bool:
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


def _lists() -> dict[str, list[str]]:
    """ufw's rule tuples per family ("v4": user.rules, "v6": user6.rules), in order."""
    state = live_state(["ufw-rules"])
    return {fam: ufw_tuples(state[f"ufw:{path}"].text) for fam, path in zip(("v4", "v6"), st.UFW_FILES)}


def row_to_ref(ref: RuleRef, facts: Facts | None) -> RuleRef:
    """A ``ufw status`` row -> the tuple it shows (index = 1-based in its family's file)."""
    lists = _lists()
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


def _number(lists: dict[str, list[str]], family: str, index: int) -> int:
    """``ufw status numbered``'s number of the rule at 1-based ``index`` of ``family``: the IPv4
    rules come first, then the IPv6 ones."""
    return index + (len(lists["v4"]) if family == "v6" else 0)


def remove(ref: RuleRef) -> tuple[PlannedFix, list[Edit], RuleRef]:
    """Remove the tuple ``ref`` names (checked to be still at its index) by its number."""
    lists = _lists()
    fam = lists[ref.family]
    if not (0 < ref.index <= len(fam)) or fam[ref.index - 1] != ref.text:
        raise ActionError(f"ufw rule {ref.index} ({ref.family}) is no longer {ref.text!r} (refresh)")
    n = _number(lists, ref.family, ref.index)
    words = UfwTuple.parse(ref.text).argv()
    back = ["ufw", "insert", str(n), *words] if ref.index <= len(fam) - 1 else ["ufw", *words]
    target = f"ufw:{st.UFW_FILES[0 if ref.family == 'v4' else 1]}"
    fix = PlannedFix(
        "", "ufw", [["ufw", "--force", "delete", str(n)]], [back], persistent=True, note="ufw rules are persistent"
    )
    return fix, [Edit(target, "tuples", "remove", ref.text, ref.index - 1, fam)], ref


def insert(ref: RuleRef) -> tuple[PlannedFix, list[Edit]]:
    """Put the remembered tuple ``ref`` back where it was."""
    lists = _lists()
    fam = lists[ref.family]
    i = place(fam, ref)
    words = UfwTuple.parse(ref.text).argv()
    argv = ["ufw", "insert", str(_number(lists, ref.family, i + 1)), *words] if i < len(fam) else ["ufw", *words]
    target = f"ufw:{st.UFW_FILES[0 if ref.family == 'v4' else 1]}"
    fix = PlannedFix(
        "",
        "ufw",
        [argv],
        [["ufw", "--force", "delete", str(_number(lists, ref.family, i + 1))]],
        persistent=True,
        note="ufw rules are persistent",
    )
    return fix, [Edit(target, "tuples", "insert", ref.text, i, fam)]


def _ipv6() -> bool:
    """Does ufw manage IPv6 too (``IPV6=yes`` in /etc/default/ufw, its default)?"""
    text, _, _ = st.read_file(UFW_DEFAULTS, True)
    values = [
        l.split("=", 1)[1].strip().strip('"').lower()
        for l in (text or "").splitlines()
        if l.strip().startswith("IPV6=")
    ]
    return (values[-1] if values else "yes") == "yes"


def allow_plan(port: int, proto: str) -> Plan:
    """``ufw prepend allow PORT/PROTO`` (both families when ufw manages IPv6; ahead of every other
    rule), or, where a rule for exactly that port exists with another action, ufw changes that
    rule in place."""
    lists = _lists()
    spec = f"{port}/{proto}"
    families = ["v4", "v6"] if _ipv6() else ["v4"]
    edits: list[Edit] = []
    same: list[str] = []
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
