"""ufw: status, defaults, logging and the rules, plus the "inactive but still filtering" trap.
What of ufw decides the Flow packet is said on top (a rule, the default policy, or ufw's built-in
rules) and its row marked, ``b`` goes to it; ``/`` filters the rules."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from wsltui.tui.changes import allow_binding, propose_allow, propose_removal
from wsltui.tui.panels.base import Panel, SearchBox, blocker_binding, decision_mark
from wsltui.tui.panels.tables import VimTable
from wsltui.tui.render import bool_word, tone, unknown_text
from wsltui.tui.safe_static import SafeStatic


RULE_COLUMNS = ("#", "to", "action", "from", "v6", "comment")
FLOW = "flow"  # the last column: the mark of the row deciding the Flow packet


class UfwPanel(Panel):
    HAS_FILTER = True
    FIREWALL = "netfilter"  # the decisions in chains ufw owns
    CHANGE_ACTIONS = frozenset({"add_allow", "disable_rule", "delete_rule"})
    BINDINGS = [
        Binding(
            "space",
            "disable_rule",
            "Disable",
            id="ufw-disable",
            tooltip="Remove the selected rule, remembered to enable again from the Netfilter panel's list",
        ),
        allow_binding("ufw", "ufw"),
        Binding("d", "delete_rule", "Delete", id="ufw-delete"),
        blocker_binding("ufw"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: dict[str, object] = {}  # row key -> facts UfwRule
        self._decided: dict[str, object] = {}  # row key -> the decided.Decision it is (the Flow packet)
        self._flow_lines = Text()  # what of ufw decides the Flow packet, said above the rules

    def compose_body(self):
        yield SafeStatic(id="ufw-body")
        yield SearchBox(placeholder="filter rules: port, action, address, comment… (esc clears)", id="ufw-search")
        yield VimTable(id="ufw-rules", cursor_type="row", zebra_stripes=True)

    def main_widget(self):
        return self.query_one("#ufw-rules")

    def show(self, a) -> None:
        u = a.facts.ufw
        self.query_one("#ufw-body", Static).update(render_ufw(u, a.facts.ufw_trap, self._flow_lines))
        table = self.query_one("#ufw-rules", VimTable)
        row = table.cursor_row
        table.clear(columns=not table.columns)
        if not table.columns:
            for label in RULE_COLUMNS:
                table.add_column(label, key=label)
            table.add_column("", key=FLOW)
        self.rows = {}
        text = self.search_text().lower()
        for i, r in enumerate(u.rules if u is not None else ()):
            if text and text not in r.text.lower():
                continue
            style = tone("ok") if r.action == "allow" else tone("blocked") if r.action in ("deny", "reject") else ""
            key = str(i)
            decision = self._decided.get(key)
            table.add_row(
                str(r.number or r.position),
                r.dst.text,
                Text(f"{r.action.upper()} {r.direction.upper()}", style=style),
                r.src.text,
                "v6" if r.v6 else "",
                r.comment,
                decision_mark(decision) if decision else "",
                key=key,
            )
            self.rows[key] = r
        table.display = bool(self.rows)
        if self.rows:
            table.move_cursor(row=min(row, len(self.rows) - 1))

    # --- the Flow packet's deciding rule, and `/` ---------------------------------------------

    def flow_decisions(self) -> list:
        return [d for d in super().flow_decisions() if d.key.owner == "ufw"]

    def show_marks(self, decisions: list) -> None:
        from wsltui.simulation.decided import ufw_rows

        facts = self.analysis.facts
        rules = facts.ufw.rules if facts.ufw is not None else []
        decided, lines = {}, Text()
        for d in decisions:
            found = ufw_rows(facts, d.key)
            if len(found) == 1:
                row = found[0]
                decided[str(next(i for i, r in enumerate(rules) if r is row))] = d
                what = (
                    f"rule {row.number or row.position} ({row.dst.text} {row.action.upper()} "
                    f"{row.direction.upper()} {row.src.text}), marked below"
                )
            elif d.key.position is None:
                what = "ufw's default incoming policy"
            elif found:
                what = f"one of {len(found)} rules below (ufw does not say which it wrote as rule {d.key.position})"
            else:
                what = f"ufw's built-in rules: chain {d.key.chain}, rule {d.key.position} (see the Netfilter panel)"
            if lines:
                lines.append("\n")
            lines.append(f"Flow hop {d.hop}: {what}")
            lines.append_text(decision_mark(d, hop=False))
        if (decided, lines.markup) != (self._decided, self._flow_lines.markup):
            self._decided, self._flow_lines = decided, lines
            self.show(self.analysis)

    def jump_to(self, decision) -> bool:
        key = next((k for k, d in self._decided.items() if d == decision), None)
        if key is None:
            return False
        table = self.query_one("#ufw-rules", VimTable)
        if key not in self.rows:  # filtered out
            self.query_one("#ufw-search", SearchBox).value = ""
            self.show(self.analysis)
        table.move_cursor(row=table.get_row_index(key), animate=False)
        table.focus()
        return True

    def search_changed(self, text: str) -> None:
        if self.analysis is not None:
            self.show(self.analysis)

    def _selected(self):
        table = self.query_one("#ufw-rules", VimTable)
        if not table.row_count:
            return None
        return self.rows.get(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def action_add_allow(self) -> None:
        propose_allow(self, "ufw")

    def action_disable_rule(self) -> None:
        self._remove("disable")

    def action_delete_rule(self) -> None:
        self._remove("delete")

    def _remove(self, kind: str) -> None:
        rule = self._selected()
        if rule is None:
            self.notify("select a rule first", timeout=3)
            return
        propose_removal(self, kind, rule, "ufw rule")


def render_ufw(u, trap, flow: Text) -> Group:
    if u is None:
        return Group(Text("unknown: the ufw facts could not be parsed", style=tone("unknown")))
    parts: list = [flow] if flow.plain else []
    if trap:
        parts.append(Text(f"⚠ {trap}", style=tone("unknown", bold=True)))
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold", no_wrap=True)
    head.add_column()
    if u.unknown is not None:
        head.add_row("status", unknown_text(u.unknown))
    else:
        head.add_row("installed", bool_word(u.installed))
        head.add_row("status", bool_word(u.active, "active", "inactive"))
    if u.reason:
        head.add_row("", Text(u.reason, style="dim"))
    if u.active:
        head.add_row(
            "default",
            Text(
                f"incoming {u.default_incoming or '?'}, outgoing {u.default_outgoing or '?'}, "
                f"routed {u.default_routed or '?'}"
            ),
        )
        head.add_row("logging", Text(f"{u.logging or '?'}" + (f" ({u.logging_level})" if u.logging_level else "")))
    parts.append(head)
    for p in u.problems:
        parts.append(Text(f"problem: {p}", style=tone("unknown")))
    if u.active and not u.rules:
        parts.append(Text("no rules", style="dim"))
    return Group(*parts)
