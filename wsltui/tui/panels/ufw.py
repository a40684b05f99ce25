"""ufw: status, defaults, logging and the rules, plus the "inactive but still filtering" trap."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from wsltui.tui.changes import allow_binding, propose_allow
from wsltui.tui.panels.base import Panel, VimScroll
from wsltui.tui.render import bool_word, unknown_text


class UfwPanel(Panel):
    BINDINGS = [allow_binding("ufw")]

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        return (None if self.app.change_refusal() else True) if action == "add_allow" else True

    def action_add_allow(self) -> None:
        propose_allow(self, "ufw")

    def compose_body(self):
        with VimScroll(id="ufw-scroll"):
            yield Static(id="ufw-body")

    def main_widget(self):
        return self.query_one("#ufw-scroll")

    def show(self, a) -> None:
        self.query_one("#ufw-body", Static).update(render_ufw(a.facts.ufw, a.facts.ufw_trap))


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
    if u.rules:
        t = Table(header_style="bold", box=None, padding=(0, 1))
        for col in ("#", "to", "action", "from", "v6", "comment"):
            t.add_column(col)
        for r in u.rules:
            style = "green" if r.action == "allow" else "red" if r.action in ("deny", "reject") else ""
            t.add_row(str(r.number or r.position), r.dst.text, Text(f"{r.action.upper()} {r.direction.upper()}",
                      style=style), r.src.text, "v6" if r.v6 else "", r.comment)
        parts.append(Text())
        parts.append(t)
    elif u.active:
        parts.append(Text("no rules", style="dim"))
    return Group(*parts)
