"""The help screen: every binding of the app and of each panel, with what it does."""

from __future__ import annotations

from wsltui.tui.render import tone

from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

from wsltui.tui.safe_static import SafeStatic

ABOUT = (
    "wsltui explains why Windows or the LAN cannot reach a service in WSL2. Each panel renders "
    "what the probes read; Flow traces one connection hop by hop. 'unknown: reason (run: command)' "
    "means the data is missing and says which command would tell. Live, the Linux probes run again "
    "every few seconds (--refresh N; 0: never); the Windows probes, which are slow, only on r."
)


def key_name(b: Binding) -> str:
    """The key(s) of a binding as the footer writes them."""
    return (b.key_display or b.key).replace("question_mark", "?").replace("slash", "/")


def binding_rows(app) -> list[tuple[str, str, str]]:
    """(where, keys, description) for every binding, from the live classes (so it never lies):
    the panel on screen first, then the keys that work everywhere, then the rest. A change key
    says when it only shows its plan here (a demo, a snapshot, --read-only)."""
    from wsltui.tui.panels import PANELS
    from wsltui.tui.panels.base import VimScroll
    from wsltui.tui.panels.tables import VimTable, VimTree
    from wsltui.tui.commands import CommandBox
    from wsltui.tui.panels.flow import HopBox

    read_only = app.change_refusal()
    rows: list[tuple[str, str, str]] = []

    def add(where: str, bindings, changes=frozenset()) -> None:
        for b in bindings:
            if isinstance(b, Binding):
                desc = b.description or b.action
                if read_only and b.action in changes:
                    desc += " (read-only here: shows the plan)"
                rows.append((where, key_name(b), desc))

    add("everywhere", type(app).BINDINGS, {"undo_last"})
    rows.append(("everywhere", "ctrl+p", "command palette: every action, panel, panel key, scenario and demo"))
    for panel in PANELS:
        add(panel.TITLE, panel.BINDINGS, panel.CHANGE_ACTIONS | {"fix"})
    add("Sockets", [Binding("enter", "", "trace the selected listener in Flow")])
    add(
        "Windows",
        [
            Binding("enter", "", "all about the selected rule, and whether it could match the Flow port"),
            Binding("click", "", "a column header sorts by it (again: reverse)"),
        ],
    )
    add(
        "sudo password",
        [Binding("enter", "", "send the password to `sudo -S -v` (never kept)"), Binding("escape", "", "cancel")],
    )
    add(
        "change plan",
        [
            Binding("y", "", "apply: backup first, verified after; undo with u or `wsltui undo`"),
            Binding(
                "c",
                "",
                "copy the commands (Windows: paste into an elevated PowerShell); j/k select one: c copies it alone",
            ),
            Binding("escape,n", "", "cancel: nothing runs without y"),
        ],
    )
    add("Flow", [*HopBox.BINDINGS, *CommandBox.BINDINGS])
    add("tables", VimTable.BINDINGS)
    add(
        "trees",
        [*VimTree.BINDINGS, Binding("space", "", "expand / collapse"), Binding("enter", "", "expand / collapse")],
    )
    add("scrolling", VimScroll.BINDINGS)
    here = next((p.TITLE for p in PANELS if p.KEY == getattr(app, "active_key", None)), None)
    order = {here: 0, "everywhere": 1}
    return sorted(rows, key=lambda row: order.get(row[0], 2))  # stable: each group keeps its order


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close help"),
        Binding("j", "scroll(1)", "Down", show=False),
        Binding("k", "scroll(-1)", "Up", show=False),
    ]

    def compose(self):
        t = Table(title="wsltui keys", header_style="bold", expand=True, box=None, padding=(0, 1))
        t.add_column("where", style="dim", no_wrap=True)
        t.add_column("key", style=tone("key", bold=True), no_wrap=True)
        t.add_column("does")
        for where, keys, desc in binding_rows(self.app):
            t.add_row(where, keys, desc)
        with VerticalScroll(id="help-box"):
            yield SafeStatic(Text(ABOUT, style="dim"), id="help-about")
            yield SafeStatic(t, id="help-keys")
            yield SafeStatic(Text("esc, q or ? closes this", style="dim"))

    def action_scroll(self, delta: int) -> None:
        box = self.query_one("#help-box", VerticalScroll)
        box.scroll_relative(y=delta, animate=False)

    def action_dismiss(self) -> None:
        self.dismiss(None)
