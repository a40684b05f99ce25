"""ufw: status, defaults, logging and the rules, plus the "inactive but still filtering" trap."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from wsltui.tui.changes import allow_binding, propose_allow, propose_removal
from wsltui.tui.panels.base import Panel
from wsltui.tui.panels.tables import VimTable
from wsltui.tui.render import bool_word, unknown_text
from wsltui.tui.safe_static import SafeStatic


RULE_COLUMNS = ("#", "to", "action", "from", "v6", "comment")


class UfwPanel(Panel):
    CHANGE_ACTIONS = frozenset({"add_allow", "disable_rule", "delete_rule"})
    BINDINGS = [
        Binding("space", "disable_rule", "Disable", id="ufw-disable",
                tooltip="Remove the selected rule, remembered to enable again from the Netfilter panel's list"),
        allow_binding("ufw", "ufw"),
        Binding("d", "delete_rule", "Delete", id="ufw-delete"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: dict[str, object] = {}  # row key -> facts UfwRule

    def compose_body(self):
        yield SafeStatic(id="ufw-body")
        yield VimTable(id="ufw-rules", cursor_type="row", zebra_stripes=True)

    def main_widget(self):
        return self.query_one("#ufw-rules")

    def show(self, a) -> None:
        u = a.facts.ufw
        self.query_one("#ufw-body", Static).update(render_ufw(u, a.facts.ufw_trap))
        table = self.query_one("#ufw-rules", VimTable)
        row = table.cursor_row
        table.clear(columns=not table.columns)
        if not table.columns:
            table.add_columns(*RULE_COLUMNS)
        self.rows = {}
        for i, r in enumerate(u.rules if u is not None else ()):
            style = "green" if r.action == "allow" else "red" if r.action in ("deny", "reject") else ""
            key = str(i)
            table.add_row(str(r.number or r.position), r.dst.text,
                          Text(f"{r.action.upper()} {r.direction.upper()}", style=style), r.src.text,
                          "v6" if r.v6 else "", r.comment, key=key)
            self.rows[key] = r
        table.display = bool(self.rows)
        if self.rows:
            table.move_cursor(row=min(row, len(self.rows) - 1))

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


def render_ufw(u, trap) -> Group:
    if u is None:
        return Group(Text("unknown: the ufw facts could not be parsed", style="yellow"))
    parts: list = []
    if trap:
        parts.append(Text(f"⚠ {trap}", style="bold yellow"))
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
        head.add_row("default", Text(f"incoming {u.default_incoming or '?'}, outgoing {u.default_outgoing or '?'}, "
                                     f"routed {u.default_routed or '?'}"))
        head.add_row("logging", Text(f"{u.logging or '?'}" + (f" ({u.logging_level})" if u.logging_level else "")))
    parts.append(head)
    for p in u.problems:
        parts.append(Text(f"problem: {p}", style="yellow"))
    if u.active and not u.rules:
        parts.append(Text("no rules", style="dim"))
    return Group(*parts)
