"""Windows: the Windows Defender Firewall profiles and the adapters' network profiles, the
Hyper-V firewall for the WSL VM, portproxy and the excluded port ranges (an overview on top),
and every firewall rule — Windows and Hyper-V — in one table below: ``/`` filters by text,
``p`` keeps only the rules that could match the Flow panel's port, ``s``/``S`` or a click on a
header sorts, ``enter`` shows a rule. Each part says ``unknown: reason (run: command)`` when its
data is missing. On top, the Flow packet on Windows: what decides it at each Windows hop (a rule
is marked in the table as well, ``b`` jumps to it) and what listens on its port.

Whether a rule could match a port is the simulator's own ``rule_matches``, asked with nothing
but the port and protocol known; this module never matches rules itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Static

from wsltui.tui.changes import allow_binding, flow_port, windows_preview
from wsltui.tui.panels.base import Panel, SearchBox, VimScroll, blocker_binding, decision_mark
from wsltui.tui.panels.tables import FastTable
from wsltui.tui.render import bool_word, columns_width, fit_widths, is_unknown, tone, unknown_text, verdict_text
from wsltui.tui.safe_static import SafeStatic
from wsltui.vocabulary import LAYER_NAMES

PROTOCOL_NAMES = {1: "ICMPv4", 6: "TCP", 17: "UDP", 41: "IPv6", 47: "GRE", 58: "ICMPv6"}
FILTER_DELAY = 0.15  # seconds of typing pause before thousands of rows are filtered again


# --- one row per rule --------------------------------------------------------------------------


def port_match(rule, proto: str, port: int) -> bool | str:
    """Could ``rule`` match a ``proto``/``port`` connection? The simulator's matcher, told only
    the port and protocol (the service port: local for inbound rules, remote for outbound):
    True, False, or the condition a match would depend on."""
    from wsltui.simulation.windows import WinPacket, rule_matches

    if rule.direction == "in":
        return rule_matches(rule, WinPacket("in", proto, port), None)
    if rule.direction == "out":
        return rule_matches(rule, WinPacket("out", proto, None, remote_port=port), None)
    return False


def _any(values: list[str]) -> str:
    return ", ".join(values) if values else "any"


def _protocols(rule) -> str:
    return ", ".join(PROTOCOL_NAMES.get(p, str(p)) for p in rule.protocols) if rule.protocols else "any"


def _first_port(tokens: list[str]) -> int:
    """Sort key of a port list: any first, then by the first number, keywords last."""
    if not tokens:
        return -1
    head = tokens[0].split("-", 1)[0].strip()
    return int(head) if head.isdigit() else 1 << 20


def action_style(action: str) -> str:
    return tone("ok") if action == "allow" else tone("blocked", bold=True) if action == "block" else ""


@dataclass(frozen=True)
class RuleRow:
    """A rule as the table shows it. ``cells`` leave out the match column (it depends on the port)."""

    key: str
    rule: object  # wsltui.facts.windows.FwRule
    firewall: str  # "Windows" | "Hyper-V"
    cells: tuple[Text, ...]
    haystack: str  # what `/` searches, lower case


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    cell: Callable[[object, str], str]  # (rule, firewall) -> text
    sort: Callable[[RuleRow], object]
    max_width: int


COLUMNS: tuple[Column, ...] = (
    Column("action", "action", lambda r, fw: r.action.upper(), lambda row: row.rule.action, 6),
    Column("dir", "dir", lambda r, fw: r.direction, lambda row: row.rule.direction, 3),
    Column("on", "on", lambda r, fw: "yes" if r.enabled else "no", lambda row: not row.rule.enabled, 3),
    Column("proto", "proto", lambda r, fw: _protocols(r), lambda row: row.rule.protocols or [-1], 8),
    Column("ports", "local port", lambda r, fw: _any(r.local_ports), lambda row: _first_port(row.rule.local_ports), 14),
    Column("name", "name", lambda r, fw: r.label, lambda row: row.rule.label.lower(), 40),
    Column("fw", "firewall", lambda r, fw: fw, lambda row: row.firewall, 8),
    Column("profiles", "profiles", lambda r, fw: _any(r.profiles), lambda row: row.rule.profiles, 16),
    Column(
        "remote", "remote address", lambda r, fw: _any(r.remote_addresses), lambda row: row.rule.remote_addresses, 20
    ),
    Column(
        "program",
        "program",
        lambda r, fw: _any(r.programs + r.services),
        lambda row: (row.rule.programs, row.rule.services),
        36,
    ),
)
MATCH = "match"  # the first column: yes / maybe / - for the Flow port
FIREWALL_OF = {"windows": "Windows", "hyperv": "Hyper-V"}  # decided.RuleKey.firewall -> RuleRow.firewall
# Which columns give way when the table is narrow (lowest first): whether a rule could match, its
# action, name and port last.
PRIORITY = {
    MATCH: 10,
    "action": 9,
    "name": 8,
    "ports": 7,
    "dir": 6,
    "on": 5,
    "proto": 5,
    "fw": 4,
    "profiles": 3,
    "remote": 2,
    "program": 1,
}


def all_rules(win) -> list[tuple[object, str]]:
    """(rule, firewall): every Windows Defender Firewall rule, then every Hyper-V firewall rule."""
    rules = [] if is_unknown(win.rules) else [(r, "Windows") for r in win.rules]
    hv = win.hyperv
    if not is_unknown(hv) and hv.available and not is_unknown(hv.rules):
        rules += [(r, "Hyper-V") for r in hv.rules]
    return rules


def build_rows(rules: list[tuple[object, str]]) -> list[RuleRow]:
    rows, seen = [], set()
    for rule, fw in rules:
        key = f"{fw}:{rule.id}"
        while key in seen:  # ids are unique per store; a duplicate still gets its own row
            key += "'"
        seen.add(key)
        texts = [c.cell(rule, fw) for c in COLUMNS]
        cells = [
            Text(
                t,
                style=action_style(rule.action) if c.key == "action" else "",
                no_wrap=True,
                overflow="ellipsis",
            )
            for c, t in zip(COLUMNS, texts)
        ]
        if not rule.enabled:
            for cell in cells:
                cell.stylize("dim")
        haystack = " ".join([*texts, rule.id, " ".join(rule.local_addresses), " ".join(rule.remote_ports)]).lower()
        rows.append(RuleRow(key, rule, fw, tuple(cells), haystack))
    return rows


def match_cell(result: bool | str, decision=None) -> Text:
    """Could the rule match the Flow port; for the rule that decides the Flow packet, which hop."""
    if decision is not None:
        if decision.blocks:
            return Text(f"◀ blocks hop {decision.hop}", style=tone("blocked", bold=True))
        if decision.key.verdict == "unknown" or decision.hop_verdict == "unknown":
            return Text(f"? hop {decision.hop}", style=tone("unknown"))
        return Text(f"✓ hop {decision.hop}", style=tone("ok"))
    if result is True:
        return Text("yes", style="bold")
    if isinstance(result, str):
        return Text("maybe", style=tone("unknown"))
    return Text("-", style="dim")


# --- the panel ----------------------------------------------------------------------------------


class WindowsPanel(Panel):
    HAS_FILTER = True
    FIREWALL = "windows"  # and "hyperv": flow_decisions reads both
    CHANGE_ACTIONS = frozenset({"toggle_rule", "add_allow", "add_hyperv_allow"})
    BINDINGS = [
        # One meaning per letter across panels: s/p are Flow's scenario and port, so here m(atching),
        # o(rder) and v(iew).
        Binding(
            "m",
            "toggle_relevant",
            "This port",
            id="windows-relevant",
            tooltip="Keep only the rules that could match the Flow panel's port and protocol",
        ),
        Binding("o", "sort(1)", "Sort", id="windows-sort", tooltip="Order the rules by the next column"),
        Binding("O", "reverse_sort", "Reverse", show=False, id="windows-reverse", tooltip="Reverse the order"),
        Binding(
            "v",
            "overview",
            "Overview",
            id="windows-overview",
            tooltip="Give the whole panel to the overview (profiles, Hyper-V, portproxy, excluded ports), and back",
        ),
        blocker_binding("windows"),
        Binding(
            "space",
            "toggle_rule",
            "On/off",
            id="windows-toggle",
            tooltip="Enable or disable the selected rule through an elevated PowerShell (UAC): the plan first",
        ),
        allow_binding("windows", "the Windows firewall"),
        Binding(
            "A",
            "add_hyperv_allow",
            "Hyper-V allow",
            id="windows-hyperv-allow",
            tooltip="Allow the Flow panel's port/protocol in the Hyper-V firewall for WSL: the plan first",
        ),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.relevant_only = False
        self.sort_key = "name"
        self.sort_reverse = False
        self.target: tuple[str, int] | None = None  # (proto, port) of the Flow panel
        self._win = None
        self._rows: list[RuleRow] = []
        self._rules: list = []  # (rule, firewall) the rows were built from
        self._widths: list[int] = [0] * len(COLUMNS)  # the longest cell of each column
        self._matches: dict[str, bool | str] = {}
        self._matches_for: tuple[str, int] | None = None
        self._shown: tuple | None = None  # what the table shows: (columns, keys)
        self._decided: dict[str, object] = {}  # row key -> the decided.Decision it is (the Flow packet)
        self._decisions: list = []  # every Windows-side decision of the Flow packet, rule or setting
        self._filter_timer: Timer | None = None

    def compose_body(self):
        with VimScroll(id="windows-overview"):
            yield SafeStatic(id="windows-summary")
        yield SearchBox(placeholder="filter rules: name, port, program, address… (esc clears)", id="windows-filter")
        yield SafeStatic(id="windows-rules-note")
        yield FastTable(id="windows-rules", cursor_type="row", zebra_stripes=True)

    def main_widget(self):
        if self.has_class("-overview"):
            return self.query_one("#windows-overview")
        return self.query_one("#windows-rules")

    def show(self, a) -> None:
        win = getattr(a.facts, "windows", None)
        self._win = win
        self.target = self._flow_target()
        summary = self.query_one("#windows-summary", Static)
        rules = all_rules(win) if win is not None else []
        if rules != self._rules:  # a refresh that read the same rules keeps the rows (and the table)
            self._rules, self._rows, self._matches_for = rules, build_rows(rules), None
            self._widths = [
                max((cell_len(row.cells[i].plain) for row in self._rows), default=0) for i, c in enumerate(COLUMNS)
            ]
        if win is None:
            failure = a.facts.failures.get("windows")
            summary.update(unknown_text(failure or "unknown: the Windows facts could not be read", "Windows: "))
        else:
            summary.update(
                Group(
                    render_flow(win, self.flow_trace(), self._decisions, self.target, self._flow_words()),
                    render_overview(win, a, self.target),
                )
            )
        self._fill()
        self.refresh_bindings()

    def on_resize(self) -> None:
        """The columns fit the new width."""
        if self.analysis is not None:
            self._fill()

    def on_show(self) -> None:
        """The Flow port may have changed while another panel was shown."""
        if self.analysis is not None and self._flow_target() != self.target:
            self.show(self.analysis)

    def flow_decisions(self) -> list:
        from wsltui.simulation.decided import decisions

        return [d for d in decisions(self.flow_trace()) if d.key.firewall in FIREWALL_OF]

    def show_marks(self, decisions: list) -> None:
        if decisions != self._decisions:
            self._decisions = decisions
            self._decided = {
                row.key: d
                for d in decisions
                if d.key.rule_id is not None
                for row in self._rows
                if row.firewall == FIREWALL_OF[d.key.firewall] and row.rule.id == d.key.rule_id
            }
            self.show(self.analysis)

    def jump_to(self, decision) -> bool:
        if decision.key.rule_id is None:  # a profile or VM setting: the Flow lines on top of the overview name it
            overview = self.query_one("#windows-overview", VimScroll)
            overview.scroll_home(animate=False)
            overview.focus()
            return True
        key = next((k for k, d in self._decided.items() if d == decision), None)
        if key is None:
            return False
        if key not in (r.key for r in self._visible()):  # filtered out: show every rule again
            self.relevant_only = False
            box = self.query_one("#windows-filter", SearchBox)
            box.value, box.display = "", False
        self.remove_class("-overview")
        self._fill()
        table = self.query_one("#windows-rules", FastTable)
        table.move_cursor(row=table.get_row_index(key), animate=False)
        table.focus()
        return True

    def _flow_target(self) -> tuple[str, int] | None:
        target = self.app.flow_target()
        return (target[2], target[1]) if target else None

    # --- the table --------------------------------------------------------------------------

    def _match(self) -> dict[str, bool | str]:
        if self.target is None:
            return {}
        if self._matches_for != self.target:
            proto, port = self.target
            self._matches = {row.key: port_match(row.rule, proto, port) for row in self._rows}
            self._matches_for = self.target
        return self._matches

    def _visible(self) -> list[RuleRow]:
        matches = self._match()
        rows = self._rows
        if self.relevant_only and matches:
            rows = [r for r in rows if matches[r.key] is not False]
        text = self.search_text().lower()
        if text:
            rows = [r for r in rows if text in r.haystack]
        column = next(c for c in COLUMNS if c.key == self.sort_key) if self.sort_key != MATCH else None
        if column is not None:
            rows = sorted(rows, key=column.sort, reverse=self.sort_reverse)
        else:
            rank = {True: 0, False: 2}
            rows = sorted(rows, key=lambda r: rank.get(matches.get(r.key), 1), reverse=self.sort_reverse)
        return rows

    def _columns(self) -> list[tuple[str, str, int]]:
        """(key, label, width) for the current port and sort: each column as wide as its longest
        cell up to its max_width, wider where the table has room, narrower by PRIORITY where not
        (the least important left out when even that does not fit)."""
        cols: list[tuple[str, str, int, int]] = []  # (key, label, natural width, preferred width)
        if self.target is not None:
            width = max(5, max((match_cell(True, d).cell_len for d in self._decided.values()), default=0))
            cols.append((MATCH, f"{self.target[0]}/{self.target[1]}", width, width))
        for c, width in zip(COLUMNS, self._widths):
            cols.append((c.key, c.label, width, min(width, c.max_width)))
        labels = [
            label + (" ▼" if self.sort_reverse else " ▲") if key == self.sort_key else label
            for key, label, _, _ in cols
        ]
        natural = [max(w, cell_len(label)) for (_, _, w, _), label in zip(cols, labels)]
        preferred = [max(w, cell_len(label)) for (_, _, _, w), label in zip(cols, labels)]
        minimum = [min(n, max(3, cell_len(label))) for n, label in zip(natural, labels)]
        table = self.query_one("#windows-rules", FastTable)
        priority = [PRIORITY.get(key, 0) for key, *_ in cols]
        widths = fit_widths(
            natural,
            preferred,
            minimum,
            priority,
            columns_width(table),
            gap=2 * table.cell_padding,
            protect=PRIORITY["ports"],
        )
        return [(key, label, width) for (key, *_), label, width in zip(cols, labels, widths) if width]

    def _fill(self) -> None:
        """Show the visible rules. Unchanged rows leave the table alone; otherwise the table is
        rebuilt (fast: fixed column widths) and the cursor stays on the same rule, the scroll
        where it was."""
        table = self.query_one("#windows-rules", FastTable)
        note = self.query_one("#windows-rules-note", Static)
        win = self._win
        self.set_class(not self._rows, "-no-rules")
        missing = "unknown: no Windows data" if win is None else win.rules if is_unknown(win.rules) else None
        if not self._rows:
            note.update(unknown_text(missing, "rules: ") if missing else Text("no firewall rules", style="dim"))
            self._shown = None
            return
        rows = self._visible()
        matches = self._match()
        text = Text()
        if missing:  # the Hyper-V rules are known, the Windows ones are not
            text.append_text(unknown_text(missing, "Windows rules: "))
            text.append("\n")
        text.append_text(self._note(len(rows)))
        note.update(text)
        columns = self._columns()
        shown = (tuple(columns), tuple(r.key for r in rows), self._matches_for, tuple(self._decided.items()))
        if shown == self._shown:
            return
        cursor_key = _cursor_key(table)
        cursor_row, scroll = table.cursor_row, table.scroll_offset
        with self.app.batch_update():
            if self._shown is None or self._shown[0] != shown[0]:
                table.clear(columns=True)
                for key, label, width in columns:
                    table.add_column(Text(label, style="bold"), key=key, width=width)
            shown_keys = {key for key, _, _ in columns}  # the columns too narrow a terminal left out go
            keep = [i for i, c in enumerate(COLUMNS) if c.key in shown_keys]
            if self.target is not None:
                table.replace_rows(
                    [
                        (
                            row.key,
                            (match_cell(matches[row.key], self._decided.get(row.key)), *(row.cells[i] for i in keep)),
                        )
                        for row in rows
                    ]
                )
            else:
                table.replace_rows([(row.key, tuple(row.cells[i] for i in keep)) for row in rows])
        self._shown = shown
        if not rows:
            return
        keys = shown[1]
        index = keys.index(cursor_key) if cursor_key in keys else min(cursor_row, len(keys) - 1)
        table.move_cursor(row=index, animate=False, scroll=False)
        # The table sizes itself when idle: scroll back only after that.
        self.call_after_refresh(table.scroll_to, x=scroll.x, y=scroll.y, animate=False)

    def _note(self, visible: int) -> Text:
        t = Text(f"{len(self._rows)} rules", style="bold")
        port = f"{self.target[0]}/{self.target[1]}" if self.target is not None else None
        if self.relevant_only and port:
            t.append(f" · {visible} could match {port}, the Flow port (m: all)", style="bold")
        elif port:
            t.append(f" · column {port}: could it match the Flow port", style="dim")
        text = self.search_text()
        if text:
            t.append(f" · {visible} contain “{text}”", style="bold")
        t.append(" · enter: details", style="dim")
        return t

    # --- keys -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "toggle_relevant":
            return True if self.target is not None and self._rows else None
        if action in ("sort", "reverse_sort"):
            return True if self._rows else None
        return super().check_action(action, parameters)

    def action_toggle_relevant(self) -> None:
        self.relevant_only = not self.relevant_only
        self._fill()

    def action_sort(self, delta: int) -> None:
        keys = ([MATCH] if self.target is not None else []) + [c.key for c in COLUMNS]
        i = keys.index(self.sort_key) if self.sort_key in keys else 0
        self.sort_key = keys[(i + delta) % len(keys)]
        self.sort_reverse = False
        self._fill()

    def action_reverse_sort(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._fill()

    def action_overview(self) -> None:
        self.toggle_class("-overview")
        self.focus_main()

    @on(DataTable.HeaderSelected, "#windows-rules")
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key == self.sort_key:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_key, self.sort_reverse = key, False
        self._fill()

    @on(DataTable.RowSelected, "#windows-rules")
    def _selected(self, event: DataTable.RowSelected) -> None:
        row = next((r for r in self._rows if r.key == event.row_key.value), None)
        if row is not None:
            self.app.push_screen(RuleDetails(row, self.target, self._match().get(row.key)))

    def search_changed(self, text: str) -> None:
        # Typing fast into a filter over thousands of rules: filter once the typing pauses.
        if self._filter_timer is not None:
            self._filter_timer.stop()
        if text:
            self._filter_timer = self.set_timer(FILTER_DELAY, self._fill)
        else:  # cleared: every rule at once
            self._fill()

    def search_submitted(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._fill()
        self.focus_main()

    def selected_key(self) -> str | None:
        return _cursor_key(self.query_one("#windows-rules", FastTable))

    # --- changes: elevated PowerShell plans, built in a worker (wsltui/tui/changes.py) ----------

    def action_toggle_rule(self) -> None:
        from wsltui.actions import windows_rule_plan
        from wsltui.actions.windows import rule_action

        key = self.selected_key()
        row = next((r for r in self._rows if r.key == key), None)
        if row is None:
            self.notify("select a rule first", timeout=3)
            return
        rule, enable = row.rule, not row.rule.enabled
        self.app.propose(
            lambda: windows_rule_plan(rule, enable),
            "enable rule" if enable else "disable rule",
            preview=lambda: windows_preview(*rule_action(rule, enable)),
        )

    def action_add_allow(self) -> None:
        from wsltui.actions import refuse_ignored_local_rule, windows_allow_plan
        from wsltui.actions.windows import allow_action

        port, proto = flow_port(self.app)
        analysis = getattr(self.app, "analysis", None)
        win = getattr(analysis.facts, "windows", None) if analysis is not None else None

        def build():
            refuse_ignored_local_rule(win, "Public", port, proto)  # the profile windows_allow_plan uses
            return windows_allow_plan(port, proto)

        def preview():
            refuse_ignored_local_rule(win, "Public", port, proto)
            return windows_preview(*allow_action(port, proto))

        self.app.propose(build, f"allow {proto}/{port} in the Windows firewall", preview=preview)

    def action_add_hyperv_allow(self) -> None:
        from wsltui.actions import hyperv_allow_plan
        from wsltui.actions.windows import hyperv_allow_action

        port, proto = flow_port(self.app)
        self.app.propose(
            lambda: hyperv_allow_plan(port, proto),
            f"allow {proto}/{port} in the Hyper-V firewall",
            preview=lambda: windows_preview(*hyperv_allow_action(port, proto)),
        )


def _cursor_key(table: DataTable) -> str | None:
    if not table.row_count:
        return None
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value


# --- the overview -------------------------------------------------------------------------------


def _grid(label_width: int = 0) -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True, min_width=label_width)
    t.add_column()
    return t


def _grouped(settings: dict, describe: Callable[[object], str]) -> Text:
    """Profiles with the same settings on one line: "Domain, Private, Public: on, inbound block"."""
    groups: dict[str, list[str]] = {}
    for name, s in settings.items():
        groups.setdefault(describe(s), []).append(name)
    t = Text()
    for i, (text, names) in enumerate(groups.items()):
        if i:
            t.append("\n")
        t.append(f"{', '.join(names)}: ", style="bold")
        t.append(text)
    return t


def _profile(p) -> str:
    parts = ["on" if p.enabled else "OFF", f"inbound {p.default_inbound}", f"outbound {p.default_outbound}"]
    if p.shielded:
        parts.append("blocks all inbound (allow rules ignored)")
    if p.disabled_interfaces:
        parts.append(f"off on {', '.join(p.disabled_interfaces)}")
    if p.allow_local_rules is False:
        parts.append("local rules ignored (Group Policy)")
    return ", ".join(parts)


def _word(value: bool | None, yes: str, no: str) -> str:
    return yes if value is True else no if value is False else "not configured"


def _hyperv_profile(s) -> str:
    return ", ".join(
        [
            _word(s.enabled, "on", "OFF"),
            f"inbound {s.default_inbound or 'not configured (block)'}",
            f"outbound {s.default_outbound or 'not configured (allow)'}",
        ]
    )


def _hyperv_setting(s) -> str:
    return ", ".join(
        [
            _hyperv_profile(s),
            f"loopback {_word(s.loopback, 'allowed', 'blocked')}",
            f"host rules {_word(s.host_merge, 'merged', 'not merged')}",
        ]
    )


LABEL_WIDTH = 14


def render_overview(win, a, target: tuple[str, int] | None) -> Group:
    """Profiles, adapters, Hyper-V firewall, portproxy, excluded ranges: each known or why not."""
    head = Text("Windows Defender Firewall", style="bold")
    if win.build:
        head.append(f"  Windows build {win.build}", style="dim")
    fw = _grid(LABEL_WIDTH)
    fw.add_row(
        "  profiles", unknown_text(win.profiles) if is_unknown(win.profiles) else _grouped(win.profiles, _profile)
    )
    fw.add_row(
        "  adapters",
        unknown_text(win.connections)
        if is_unknown(win.connections)
        else Text(" · ".join(f"{c.alias} → {c.category}" for c in win.connections) or "none"),
    )
    fw.add_row(
        "  rules",
        unknown_text(win.rules)
        if is_unknown(win.rules)
        else Text(f"{len(win.rules)}, from {win.rules_source or '?'}: in the table below"),
    )

    hv = win.hyperv
    hyperv = _grid(LABEL_WIDTH)
    if is_unknown(hv):
        hyperv.add_row("  setting", unknown_text(hv))
    elif not hv.available:
        hyperv.add_row("  setting", Text(f"not on this Windows: {hv.why_unavailable}", style="dim"))
    else:
        hyperv.add_row(
            "  setting",
            unknown_text(hv.setting)
            if is_unknown(hv.setting) or hv.setting is None
            else Text(_hyperv_setting(hv.setting)),
        )
        if hv.profiles:
            hyperv.add_row("  profiles", _grouped(hv.profiles, _hyperv_profile))
        hyperv.add_row(
            "  rules",
            unknown_text(hv.rules)
            if is_unknown(hv.rules)
            else Text(f"{len(hv.rules)}: in the table below (firewall Hyper-V)"),
        )

    other = _grid(LABEL_WIDTH)
    other.add_row("portproxy", _portproxy(win, a))
    for label, table in (("excluded tcp4", win.excluded4), ("excluded tcp6", win.excluded6)):
        other.add_row(label, _excluded(table, target))
    parts: list = [head, fw, Text("Hyper-V firewall (the WSL VM)", style="bold"), hyperv, other]
    for p in win.problems:
        parts.append(Text(f"problem: {p}", style=tone("unknown")))
    return Group(*parts)


def _portproxy(win, a) -> Text:
    pp = win.portproxy
    if is_unknown(pp):
        return unknown_text(pp)
    t = Text()
    for e in pp.entries:
        t.append(f"{e.kind} {e.listen_address}:{e.listen_port} → {e.connect_address}:{e.connect_port}\n")
    if not pp.entries:
        t.append("no entries (in NAT mode the LAN reaches WSL only through one)\n", style="dim")
    svc = win.iphlpsvc
    t.append("IP Helper service (runs portproxy): ")
    if is_unknown(svc):
        t.append_text(unknown_text(svc))
    else:
        t.append_text(bool_word(svc.running, svc.status, svc.status))
        t.append(f", start {svc.start_type}", style="dim")
    wsl_ip = getattr(a.facts.network, "primary_address", None) if a.facts.network is not None else None
    if pp.entries and wsl_ip:
        t.append(f"\nWSL's address now: {wsl_ip}", style="dim")
    for p in pp.problems:
        t.append(f"\nproblem: {p}", style=tone("unknown"))
    return t


def _excluded(table, target: tuple[str, int] | None) -> Text:
    if is_unknown(table):
        return unknown_text(table)
    if not table.ranges:
        return Text("none", style="dim")
    t = Text()
    port = target[1] if target is not None and target[0] == "tcp" else None
    for i, r in enumerate(table.ranges):
        if i:
            t.append(", ")
        text = str(r.start) if r.start == r.end else f"{r.start}-{r.end}"
        holds = port is not None and port in r
        t.append(text + ("*" if r.administered else ""), style=tone("blocked", bold=True) if holds else "")
        if holds:
            t.append(f" ◀ holds {port}", style=tone("blocked", bold=True))
    if any(r.administered for r in table.ranges):
        t.append("  (* added by an administrator)", style="dim")
    return t


# --- the Flow packet on Windows ------------------------------------------------------------------


FIREWALL_LAYERS = ("windows-firewall", "hyperv-firewall")


def render_flow(win, trace, decisions: list, target: tuple[str, int] | None, flow: str) -> Group:
    """What decides the Flow packet at each Windows firewall hop, and what listens on Windows on its port."""
    if target is None:
        return Group()
    proto, port = target
    t = _grid(LABEL_WIDTH)
    rules = {(fw, r.id): r for r, fw in all_rules(win)}
    for n, hop in enumerate(trace.hops if trace is not None else (), 1):
        if hop.layer not in FIREWALL_LAYERS:
            continue
        line = Text(f"{LAYER_NAMES[hop.layer]}: ", style="bold")
        mine = [d for d in decisions if d.hop == n]
        for d in mine:
            k = d.key
            rule = rules.get((FIREWALL_OF[k.firewall], k.rule_id)) if k.rule_id is not None else None
            line.append(
                f"rule '{rule.label}' (in the table below)"
                if rule is not None
                else f"rule {k.rule_id}"
                if k.rule_id is not None
                else f"{k.profile + ' profile: ' if k.profile else ''}{k.setting}"
            )
            line.append_text(decision_mark(d, hop=False))
        if not mine:  # not filtered here (loopback), or not known: the hop says why
            line.append_text(verdict_text(hop.verdict))
            line.append(f"  {hop.explanation}", style="dim")
        t.add_row(f"  hop {n}", line)
    t.add_row(f"  {proto}/{port}", _port_listeners(win, proto, port))
    return Group(Text(f"{flow} on Windows", style="bold"), t)


def _port_listeners(win, proto: str, port: int) -> Text:
    from wsltui.simulation.windows import port_listeners

    if proto != "tcp":
        return Text("listeners: wsltui reads Windows TCP listeners only", style="dim")
    found = port_listeners(win, port)
    if is_unknown(found):
        return unknown_text(found, "listeners: ")
    if not found:
        return Text("no Windows program listens on this port", style="dim")
    t = Text()
    for i, l in enumerate(found):
        if i:
            t.append("\n")
        t.append(l.where, style="bold")
        t.append(f" — {l.meaning}", style=tone("unknown") if l.kind in ("program", "entry") else "")
    return t


# --- rule details -----------------------------------------------------------------------------


class RuleDetails(ModalScreen[None]):
    """Everything wsltui read about one rule, and whether it could match the Flow port."""

    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close")]

    def __init__(self, row: RuleRow, target: tuple[str, int] | None, match: bool | str | None) -> None:
        super().__init__()
        self.row = row
        self.target = target
        self.match = match

    def compose(self):
        with VimScroll(id="rule-box"):
            yield SafeStatic(render_rule(self.row, self.target, self.match), id="rule-details")
            yield SafeStatic(Text("esc, q or enter closes this", style="dim"))

    def on_mount(self) -> None:
        self.query_one("#rule-box").focus()

    def action_dismiss(self) -> None:
        self.dismiss(None)


def render_rule(row: RuleRow, target: tuple[str, int] | None, match: bool | str | None) -> Group:
    r = row.rule
    t = _grid()
    title = Text(r.label, style="bold")
    t.add_row("rule", title)
    t.add_row("id", Text(r.id))
    firewall = "Hyper-V firewall (the WSL VM)" if row.firewall == "Hyper-V" else "Windows Defender Firewall"
    t.add_row("firewall", Text(firewall))
    t.add_row("action", Text(r.action.upper(), style=action_style(r.action)))
    t.add_row("enabled", bool_word(r.enabled, "yes", "no (it matches nothing)"))
    t.add_row("direction", Text({"in": "inbound", "out": "outbound"}.get(r.direction, r.direction)))
    t.add_row("protocol", Text(_protocols(r)))
    for label, values in (
        ("local ports", r.local_ports),
        ("remote ports", r.remote_ports),
        ("local addresses", r.local_addresses),
        ("remote addresses", r.remote_addresses),
        ("programs", r.programs),
        ("services", r.services),
        ("profiles", r.profiles),
        ("interfaces", r.interfaces),
        ("interface types", r.interface_types),
    ):
        t.add_row(label, Text(_any(values)))
    if r.priority is not None:
        t.add_row("priority", Text(str(r.priority)))
    for label, value in (("store", r.store), ("source", r.source), ("enforcement", r.enforcement)):
        if value:
            t.add_row(label, Text(value))
    if r.other:
        t.add_row("not modelled", Text("; ".join(r.other), style=tone("unknown")))
    if target is not None:
        proto, port = target
        if match is True:
            verdict = Text(f"matches any {proto}/{port} connection in its direction", style="bold")
        elif isinstance(match, str):
            # rule_matches names what would make the rule NOT match ("rule 'X': the program is not …").
            unless = match.split("': ", 1)[1] if match.startswith("rule '") and "': " in match else match
            verdict = Text(f"could match {proto}/{port}, unless {unless}", style=tone("unknown"))
        else:
            verdict = Text(f"cannot match {proto}/{port}", style="dim")
        t.add_row(f"{proto}/{port}", verdict)
    parts: list = [t]
    if r.raw:
        parts += [Text(), Text("as stored:", style="bold"), Text(r.raw)]
    return Group(*parts)
