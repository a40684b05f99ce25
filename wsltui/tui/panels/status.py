"""Status: the screen for a support ticket (designed for 120x30). Mode, addresses and firewalls;
every listener x scenario as a cell; one answer line per port (reachable from where, blocked
where, the next step); then every blocker, numbered and ranked, each with its whole fix (every
command: runtime and persistent, never a lone first step).

Cells and blocker lines are selectable: ``enter`` opens Flow on that port x scenario with the
blocker's hop selected, ``f`` the fix plan (the dialog Flow's ``f`` opens).

A cell is one of: ✓ reachable, ✓ assumed, ✗ blocked (what the client sees), – a path this
listener or mode does not offer until it is set up (muted: the relay carries TCP only, an IPv4
listener has no [::1], NAT has no LAN path without portproxy), – not applicable, ? undecided. A
path not set up is no fault, so a healthy machine shows no ✗; its blockers (what setting it up
takes) are listed after the ones that stop a path that is there.

``EXTRA_COLUMNS`` lets another view add a column per row (e.g. a live test's outcome).
"""

from __future__ import annotations

from wsltui.tui.render import tone

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from rich.cells import cell_len
from rich.console import Group
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from wsltui.tui.panels.base import Panel, VimScroll
from wsltui.tui.render import (
    VERDICT_MARK,
    bool_word,
    fit_widths,
    fit_words,
    is_unknown,
    or_unknown,
    shorter,
    unknown_text,
)
from wsltui.tui.safe_static import SafeStatic
from wsltui.views.scenarios import SHORT, STATUS_SCENARIOS
from wsltui.vocabulary import plural

LOCALHOST = ("windows-localhost-v4", "windows-localhost-v6")
RELAY_MODES = ("nat", "bridged", "unknown")  # modes whose localhost path is WSL's relay (TCP only)
# Blocker lines drawn as widgets at most (a machine with thousands of listeners): the rest are counted.
MAX_BLOCKERS = 60
# When the panel is narrow the process column goes first; then the listener shrinks to its
# proto/port, the verdicts to their shorter words (never mid-word), the next step stays whole.
PROCESS_PRIORITY, VERDICT_PRIORITY = 1, 10

LEGEND = (
    ({"ok"}, "✓ reachable"),
    ({"assumed"}, "✓ assumed: reachable if an assumption holds (Flow names it)"),
    ({"blocked"}, "✗ blocked: what the client sees"),
    ({"off", "na"}, "– not set up, or not applicable"),
    ({"undecided"}, "? undecided: the first layer without data"),
)

# Extra columns after the scenarios: (header, cell of a row). Empty unless another view adds one.
EXTRA_COLUMNS: list[tuple[str, Callable[[object, StatusRow], Text]]] = []


# --- the model: what each cell, answer and blocker says (no widgets) -------------------------


@dataclass
class Cell:
    scenario: str
    trace: object | None  # wsltui.simulation.trace.Trace
    kind: str  # ok | assumed | blocked | off | undecided | na | none
    text: Text


@dataclass
class StatusRow:
    target: object  # wsltui.analysis.Target
    cells: list[Cell]
    extra: list[Text] = field(default_factory=list)  # one per EXTRA_COLUMNS


@dataclass
class Blocker:
    """One blocker of a port, however many cells it stops (the same fix is listed once)."""

    number: int
    target: object
    hop: object  # wsltui.simulation.trace.Hop
    stops: list[tuple[str, object, object]]  # (scenario, trace, the hop in that trace)
    muted: bool  # it stops only paths that are not set up
    after: dict[str, int] = field(default_factory=dict)  # scenario -> the blocker whose fix it is traced after

    def where(self) -> tuple[str, object, int]:
        """(scenario, trace, hop index) enter opens: the first cell it stops, at its hop."""
        scenario, trace, hop = self.stops[0]
        return scenario, trace, hop_index(trace, hop)


def hop_index(trace, hop) -> int:
    """The index in ``trace.hops`` of ``hop`` (or of the hop it stands behind)."""
    for i, h in enumerate(trace.hops):
        if h is hop or any(b is hop for b in h.behind):
            return i
    return 0


def not_offered(target, scenario: str, trace) -> str | None:
    """Why a blocked cell is a path this listener or mode does not offer until it is set up (a
    short label), or None: the path is there and something stops it."""
    layers = {b.layer for b in trace.blockers}
    if scenario in LOCALHOST and "localhost-relay" in layers:
        if target.proto != "tcp" and trace.mode in RELAY_MODES:
            return "TCP only"  # the relay carries TCP only
        if scenario.endswith("v6") and target.family == "ipv4":
            return "IPv4 only"  # the listener takes no IPv6 at all
        if scenario.endswith("v4") and target.family == "ipv6" and not target.dual_stack:
            return "IPv6 only"
    if scenario == "lan-to-host" and trace.mode in ("nat", "unknown"):  # (unknown: traced as NAT, assumed)
        # windows.portproxy's "no entry listens" (the one no-listener without an entry as its rule)
        if any(b.layer == "portproxy" and b.verdict == "no-listener" and b.rule is None for b in trace.blockers):
            return "TCP only" if target.proto != "tcp" else "not set up"
    return None


def classify(target, scenario: str, trace) -> Cell:
    if trace is None:
        return Cell(scenario, None, "none", Text("-", style="dim"))
    if trace.reachable is True:
        if any(h.verdict == "assumed" for h in trace.hops):
            return Cell(scenario, trace, "assumed", Text("✓ assumed", style=tone("assumed", bold=True)))
        return Cell(scenario, trace, "ok", Text("✓ yes", style=tone("ok", bold=True)))
    if trace.reachable is None:
        if any(h.layer == "path" and h.verdict == "not-applicable" for h in trace.hops):
            return Cell(scenario, trace, "na", Text("–", style="dim"))
        unknown = next((h for h in trace.hops if h.verdict == "unknown"), None)
        return Cell(
            scenario, trace, "undecided", Text(f"? {unknown.layer if unknown else 'undecided'}", style=tone("unknown"))
        )
    off = not_offered(target, scenario, trace)
    if off is not None:
        return Cell(scenario, trace, "off", Text(f"– {off}", style="dim"))
    first = trace.first_blocker
    return Cell(
        scenario, trace, "blocked", Text(f"✗ {first.symptom or first.verdict}", style=tone("blocked", bold=True))
    )


def status_rows(a) -> list[StatusRow]:
    rows = []
    for r in a.rows:
        row = StatusRow(r.target, [classify(r.target, sc, r.traces.get(sc)) for sc in STATUS_SCENARIOS])
        row.extra = [cell(a, row) for _, cell in EXTRA_COLUMNS]
        rows.append(row)
    return rows


def _fix_key(hop) -> tuple:
    """Blockers with the same fixes are one blocker (the same rule reached from two scenarios)."""
    return (hop.layer, hop.verdict, tuple((f.title, tuple(f.commands)) for f in hop.fixes) or (hop.explanation,))


def port_blockers(rows: list[StatusRow]) -> list[Blocker]:
    """Every blocker of every port, numbered: those that stop a path that is there first (the
    ones stopping the most cells first), then those of paths not set up; in path order within."""
    found: dict[tuple, Blocker] = {}
    order: dict[tuple, tuple] = {}
    seen_ports: set = set()
    for row in rows:
        port = (row.target.proto, row.target.port)
        if port in seen_ports:  # two listeners on one port: the same traces (the port is the question)
            continue
        seen_ports.add(port)
        for c, cell in enumerate(row.cells):
            if cell.kind not in ("blocked", "off"):
                continue
            for i, hop in enumerate(cell.trace.blockers):
                key = (port, _fix_key(hop))
                b = found.get(key)
                if b is None:
                    b = found[key] = Blocker(0, row.target, hop, [], muted=True)
                    order[key] = (len(seen_ports), c, i)
                b.stops.append((cell.scenario, cell.trace, hop))
                b.muted &= cell.kind == "off"
    ranked = sorted(found, key=lambda k: (found[k].muted, order[k][0], -len(found[k].stops), order[k][1:]))
    out = []
    for n, key in enumerate(ranked, 1):
        found[key].number = n
        out.append(found[key])
    for b in out:  # "after N": the blocker whose fix a continued hop assumes, in this screen's numbering
        for scenario, trace, hop in b.stops:
            k = trace.fix_number(hop) if hop.assumes_fix else None
            if k is not None:
                owner = found.get(((b.target.proto, b.target.port), _fix_key(trace.blockers[k - 1])))
                if owner is not None:
                    b.after[scenario] = owner.number
    return out


def _port(target) -> str:
    return f"{target.proto}/{target.port}"


def next_step(row: StatusRow, blockers: list[Blocker]) -> Text:
    """The row's answer after its cells: the single most useful next step (the first fix for a
    path that is there; where a layer is undecided, the command that would tell; else nothing)."""
    port = (row.target.proto, row.target.port)
    red = [b for b in blockers if not b.muted and (b.target.proto, b.target.port) == port]
    if red:
        return Text(f"→ fix {red[0].number}", style="bold")
    if any(c.kind == "undecided" for c in row.cells):
        return Text("→ enter on ?", style=tone("unknown"))
    return Text("nothing to do", style=tone("ok"))


class Fitting:
    """The first of ``variants`` that fits on one line (the most detailed first); the last one,
    wrapped, when none does. So a line drops its least useful words before it takes two rows."""

    def __init__(self, *variants: Text) -> None:
        self.variants = variants

    def __rich_console__(self, console, options):
        fits = (v for v in self.variants if v.cell_len <= options.max_width)
        yield next(fits, self.variants[-1])

    def __rich_measure__(self, console, options) -> Measurement:
        return Measurement(min(v.cell_len for v in self.variants), max(v.cell_len for v in self.variants))


def _stops(b: Blocker) -> str:
    return ", ".join(SHORT.get(sc, sc) + (f" (after {b.after[sc]})" if sc in b.after else "") for sc, _, _ in b.stops)


def blocker_head(b: Blocker) -> Fitting:
    """What to do first (the fix's title), then why (layer, verdict, the rule) and what it stops:
    the rule's words go first when the line is short of room, then the layer's."""
    hop = b.hop
    title = Text.assemble((f"{_port(b.target)} ", "bold"))
    if hop.fixes:
        title.append(hop.fixes[0].title, style="" if b.muted else "bold")
    else:
        title.append(hop.explanation, style="dim")
    verdict = Text.assemble(
        (f" · {hop.layer} ", "dim"),
        (VERDICT_MARK.get(hop.verdict, hop.verdict), "" if b.muted else tone("blocked", bold=True)),
    )
    what = hop.edit or hop.rule
    rule = Text(f" {what}", style="dim") if what else Text()
    stops = Text(f" · stops {_stops(b)}", style="dim")
    return Fitting(
        Text.assemble(title, verdict, rule, stops),
        Text.assemble(title, verdict, stops),
        Text.assemble(title, stops),
    )


def render_blocker(b: Blocker) -> Table:
    """A blocker: its number and mark, the fix's title with why and what it stops, then every
    fix whole (every command, runtime and persistent; a long command wraps under itself, never
    back to column 1)."""
    grid = Table.grid()
    grid.add_column(width=5, no_wrap=True)
    grid.add_column()
    mark = Text.assemble(f"{b.number:>2} ", ("– ", "dim") if b.muted else ("✗ ", tone("blocked", bold=True)))
    grid.add_row(mark, blocker_head(b))
    for i, fix in enumerate(b.hop.fixes):
        if i:
            grid.add_row(Text("  or ", style="dim"), Text(fix.title))
        if fix.commands:
            commands = Table.grid()
            commands.add_column(width=2, no_wrap=True)
            commands.add_column()
            for cmd in fix.commands:
                commands.add_row(Text("$ ", style="dim"), Text(cmd, style="bold"))
            grid.add_row(Text(), commands)
        elif fix.manual:
            grid.add_row(Text(), Text(f"by hand: {fix.manual}", style="dim"))
    return grid


# --- widgets ----------------------------------------------------------------------------------


class BlockerLine(SafeStatic, can_focus=True):
    """One blocker with its fixes; up/down (j/k) move between the lines and back to the table."""

    DEFAULT_CSS = """
    BlockerLine { height: auto; padding: 0 0; }
    BlockerLine:focus { background: $boost; }
    """
    BINDINGS = [
        Binding("j,down", "step(1)", "Next", show=False),
        Binding("k,up", "step(-1)", "Previous", show=False),
    ]

    def __init__(self, blocker: Blocker) -> None:
        super().__init__(render_blocker(blocker), classes="blocker" + (" -muted" if blocker.muted else ""))
        self.blocker = blocker

    def action_step(self, delta: int) -> None:
        lines = list(self.parent.query(BlockerLine)) if self.parent else []
        i = lines.index(self) + delta if self in lines else -1
        if 0 <= i < len(lines):
            lines[i].focus()
        elif i < 0:
            panel = next((a for a in self.ancestors if isinstance(a, StatusPanel)), None)
            if panel is not None:
                panel.focus_table(last_row=True)


@cache
def _table_class():
    """The cell table (DataTable is imported when the first data arrives, not for the first frame)."""
    from wsltui.tui.panels.tables import VimTable

    class StatusTable(VimTable):
        def __init__(self, **kwargs) -> None:
            super().__init__(**kwargs)
            # as tall as its rows, inside the panel's scroll (the app's CSS gives tables 1fr and a border)
            self.set_styles("height: auto; border: none; padding: 0;")

        def action_cursor_down(self) -> None:
            if self.cursor_row >= self.row_count - 1:  # past the last row: the blocker lines
                lines = self.screen.query(BlockerLine)
                if lines:
                    lines.first().focus()
                    return
            super().action_cursor_down()

    return StatusTable


class StatusPanel(Panel):
    BINDINGS = [
        Binding("enter", "drill", "Open in Flow", id="status-drill", show=False),
        Binding(
            "f",
            "fix",
            "Fix plan",
            id="status-fix",
            tooltip="The plan for the selected blocker, or for every blocker of the selected cell; y applies it",
        ),
        Binding(
            "l",
            "live_test",
            "Live test",
            id="status-live",
            tooltip="Send the real connection of the selected port and scenario and compare with the trace",
        ),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: list[StatusRow] = []
        self.blockers: list[Blocker] = []
        self._layout: tuple[tuple[str, int], ...] = ()  # (column key, width) of the columns shown

    def compose_body(self):
        with VimScroll(id="status-scroll"):
            yield SafeStatic(id="status-head")
            yield SafeStatic(id="status-body")
            yield SafeStatic(id="status-foot")

    def main_widget(self):
        tables = self.query(_table_class())
        return tables.first() if tables else self.query_one("#status-scroll")

    def show(self, a) -> None:
        scroll = self.query_one("#status-scroll", VimScroll)
        focused = self.app.focused
        cursor = self._cursor()
        focused_number = focused.blocker.number if isinstance(focused, BlockerLine) else None
        self.rows = status_rows(a) if a.listeners_unknown is None else []
        self.blockers = port_blockers(self.rows)
        self.query_one("#status-head", Static).update(self._head(a))
        for old in self.query(BlockerLine):
            old.remove()
        self._fill_table(scroll)
        self.query_one("#status-body", Static).update(self._body(a))
        lines = [BlockerLine(b) for b in self.blockers[:MAX_BLOCKERS]]
        if lines:
            scroll.mount_all(lines, before=self.query_one("#status-foot"))
        self.query_one("#status-foot", Static).update(self._foot(a))
        had_focus = focused is None or focused is scroll or self in focused.ancestors_with_self
        self.call_after_refresh(self._restore, cursor, focused_number, had_focus)

    def on_resize(self) -> None:
        if self.rows and self._layout != self._widths():  # columns that fit the new width
            self._fill_table(self.query_one("#status-scroll", VimScroll))

    def _columns(self) -> list[tuple[str, str, list[Text]]]:
        """(key, header, the cell of each row) of every column the table may show."""
        columns = [
            ("listener", "listener", [Text(r.target.endpoint) for r in self.rows]),
            ("process", "process", [Text(r.target.process or "-") for r in self.rows]),
        ]
        for i, sc in enumerate(STATUS_SCENARIOS):
            columns.append((sc, SHORT[sc], [r.cells[i].text for r in self.rows]))
        columns.append(("next", "next", [next_step(r, self.blockers) for r in self.rows]))
        for i, (name, _) in enumerate(EXTRA_COLUMNS):
            columns.append((f"extra-{i}", name, [r.extra[i] for r in self.rows]))
        return columns

    def _widths(self) -> tuple[tuple[str, int], ...]:
        """(column key, width) of the columns that fit the panel's width (``VERDICT_PRIORITY``)."""
        natural, preferred, minimum, priority = [], [], [], []
        for key, header, texts in self._columns():
            longest = max(cell_len(t) for t in [header, *(x.plain for x in texts)])
            natural.append(longest)
            preferred.append(min(longest, 40))
            if key == "process":
                minimum.append(min(longest, max(8, cell_len(header))))
                priority.append(PROCESS_PRIORITY)
            elif key == "listener":
                minimum.append(max(cell_len(header), *(cell_len(_port(r.target)) for r in self.rows)))
                priority.append(VERDICT_PRIORITY)
            else:
                minimum.append(max(cell_len(t) for t in [header, *(shorter(x.plain) for x in texts)]))
                priority.append(VERDICT_PRIORITY)
        scroll = self.query_one("#status-scroll", VimScroll)
        width = scroll.size.width or self.app.size.width
        available = width - scroll.styles.gutter.width - scroll.styles.scrollbar_size_vertical
        widths = fit_widths(natural, preferred, minimum, priority, available, gap=2)
        return tuple((key, w) for (key, _, _), w in zip(self._columns(), widths) if w)

    def _fill_table(self, scroll) -> None:
        """The cells, in the table kept across refreshes (its cursor and focus stay)."""
        tables = self.query(_table_class())
        if not self.rows:
            tables.remove()
            self._layout = ()
            return
        if tables:
            table = tables.first()
            table.clear(columns=True)
        else:
            table = _table_class()(id="status-table", cursor_type="cell")
            scroll.mount(table, after=self.query_one("#status-head"))
        self._layout = self._widths()
        columns = {key: (header, texts) for key, header, texts in self._columns()}
        for key, width in self._layout:
            table.add_column(columns[key][0], key=key, width=width)
        for r, row in enumerate(self.rows):
            cells = []
            for key, width in self._layout:
                text = columns[key][1][r]
                if key == "listener" and text.cell_len > width:
                    text = Text(_port(row.target))  # the port is the question; the address goes first
                cells.append(Text(fit_words(text.plain, width), style=text.style))
            table.add_row(*cells)

    def column_key(self, column: int) -> str | None:
        """The key of the table's ``column``-th column shown (a scenario id, "listener", …)."""
        return self._layout[column][0] if 0 <= column < len(self._layout) else None

    def _head(self, a) -> Group:
        if a.listeners_unknown is not None:
            return Group(unknown_text(a.listeners_unknown, "listeners: "))
        if not a.rows:
            return Group(Text("No TCP or UDP listener: nothing in WSL waits for a connection.", style=tone("unknown")))
        return Group()

    def _body(self, a) -> Group:
        """What the blockers add up to (they follow, each a line of its own)."""
        parts: list = []
        red = sum(not b.muted for b in self.blockers)
        muted = len(self.blockers) - red
        if self.blockers:
            head = Text("Blockers", style="bold")
            head.append(
                f"  {red} {'stops' if red == 1 else 'stop'} a path that is there"
                if red
                else "  none stops a path that is there",
                style=tone("blocked", bold=True) if red else tone("ok"),
            )
            if muted:
                head.append(f" · {muted} for paths not set up (–)", style="dim")
            parts.append(Fitting(Text.assemble(head, ("  enter: Flow · f: fix plan", "dim")), head))
        elif self.rows and not any(c.kind == "undecided" for r in self.rows for c in r.cells):
            parts.append(Text("No blocker: every path that is set up lets the connection through.", style=tone("ok")))
        parts += observed_lines(a, self.app)
        return Group(*parts)

    def _foot(self, a) -> Group:
        """Below the blockers: the machine (mode, addresses, firewalls), caveats, the legend."""
        f = a.facts
        parts: list = []
        hidden = len(self.blockers) - MAX_BLOCKERS
        if hidden > 0:
            parts.append(
                Text(
                    f"… and {hidden} more {'blocker' if hidden == 1 else 'blockers'}: wsltui report lists "
                    "every one (w writes it)",
                    style=tone("unknown"),
                )
            )
        parts += [Text(), _overview(a)]
        for caveat in dict.fromkeys(c for row in a.rows for t in row.traces.values() for c in t.caveats):
            # One line each: the Flow panel and the reports say it in full.
            parts.append(Text(f"caveat: {caveat}", style=tone("note"), no_wrap=True, overflow="ellipsis"))
        kinds = {c.kind for r in self.rows for c in r.cells}
        legend = [words for kind, words in LEGEND if kind & kinds]
        if legend:  # the marks on this screen, only
            parts.append(Text("  ".join(legend), style="dim"))
        for err in a.errors:
            parts.append(Text(f"error: {err}", style=tone("blocked", bold=True)))
        if f.ufw_trap:
            parts.append(Text(f"ufw: {f.ufw_trap}", style=tone("unknown", bold=True)))
        return Group(*parts)

    # --- the cursor ---------------------------------------------------------------------------

    def _cursor(self) -> tuple[int, int] | None:
        tables = self.query(_table_class())
        if not tables:
            return None
        c = tables.first().cursor_coordinate
        return c.row, c.column

    def _restore(self, cursor, number: int | None, had_focus: bool) -> None:
        """After a refresh: the same cell or blocker line; the first time: the first blocked cell."""
        tables = self.query(_table_class())
        if not tables:
            return
        table = tables.first()
        if cursor is None:
            cursor = self._first_cell()
        table.cursor_coordinate = (min(cursor[0], table.row_count - 1), cursor[1])
        if number is not None:
            line = next((w for w in self.query(BlockerLine) if w.blocker.number == number), None)
            if line is not None:
                self.focus_widget(line, scroll_visible=False)
                return
        if had_focus:  # (focus_widget: now, and only while Status is the panel shown)
            self.focus_widget(table, scroll_visible=False)

    def _first_cell(self) -> tuple[int, int]:
        shown = [key for key, _ in self._layout]
        for kind in ("blocked", "undecided", "ok", "assumed"):  # where it hurts; a healthy machine opens on green
            for r, row in enumerate(self.rows):
                for cell in row.cells:
                    if cell.kind == kind and cell.scenario in shown:
                        return r, shown.index(cell.scenario)
        return 0, 0

    def focus_table(self, last_row: bool = False) -> None:
        tables = self.query(_table_class())
        if tables:
            table = tables.first()
            if last_row:
                table.cursor_coordinate = (table.row_count - 1, table.cursor_coordinate.column)
            table.focus()

    def selected(self) -> tuple[object | None, str | None, object | None, Blocker | None]:
        """(target, scenario, trace, blocker) under the cursor: a blocker line, or a table cell."""
        focused = self.app.focused
        if isinstance(focused, BlockerLine):
            b = focused.blocker
            scenario, trace, _ = b.where()
            return b.target, scenario, trace, b
        tables = self.query(_table_class())
        if not tables or not self.rows:
            return None, None, None, None
        c = tables.first().cursor_coordinate
        row = self.rows[min(c.row, len(self.rows) - 1)]
        key = self.column_key(c.column)
        cell = next(
            (x for x in row.cells if x.scenario == key),  # else the row's first blocked cell
            next((x for x in row.cells if x.kind == "blocked"), row.cells[0] if row.cells else None),
        )
        if cell is None:
            return row.target, None, None, None
        return row.target, cell.scenario, cell.trace, None

    def action_drill(self) -> None:
        target, scenario, trace, blocker = self.selected()
        if target is None:
            return
        if blocker is not None:
            _, _, hop = blocker.where()
        else:
            first = trace.first_blocker if trace is not None else None
            hop = hop_index(trace, first) if first is not None else None
        self.app.open_flow(scenario, target.port, target.proto, hop)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "fix":
            return bool(self.blockers)  # (hidden while loading, and where nothing blocks)
        return super().check_action(action, parameters)

    def action_fix(self) -> None:
        from wsltui.tui.panels.flow import propose_fix

        target, scenario, trace, blocker = self.selected()
        if trace is None or not trace.blockers:
            self.notify("nothing blocks this cell", timeout=3)
            return
        hop = None
        if blocker is not None:
            _, _, hop = blocker.stops[0]
        propose_fix(self.app, trace, hop)

    def on_data_table_cell_selected(self, event) -> None:
        """enter (or a click) on a cell: Flow on that port x scenario."""
        event.stop()
        self.action_drill()

    # --- live tests ---------------------------------------------------------------------------

    def show_live(self) -> None:
        self.show(self.analysis)

    def live_target(self) -> tuple[str, int, str] | None:
        """The cell a live test is for: the selected cell (or blocker line), else Flow's port x scenario."""
        target, scenario, _, _ = self.selected()
        if target is not None and scenario is not None:
            return scenario, target.port, target.proto
        return self.app.flow_target()

    def action_live_test(self) -> None:
        target = self.live_target()
        if target is not None:
            self.app.run_live(*target)


# --- the overview (mode, addresses, firewalls) -------------------------------------------------


def _overview(a) -> Table:
    f = a.facts
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    wsl = f.wsl
    mode = Text(a.world.mode, style="bold")
    if wsl is not None:
        req = wsl.wslconfig
        if is_unknown(req):
            mode.append("  requested: ", style="dim").append_text(unknown_text(req))
        else:
            mode.append(f"  requested: {req.networking_mode} ({req.networking_mode_source})", style="dim")
        if wsl.mode_mismatch:
            mode.append(f"  {wsl.mode_mismatch}", style=tone("unknown", bold=True))
        version = or_unknown(wsl.version)
        mode.append("  WSL ").append_text(version)
    elif a.world.mode_reason:
        mode.append(f"  ({a.world.mode_reason})", style=tone("unknown"))
    grid.add_row("mode", mode)
    net = f.network
    if net is None or is_unknown(getattr(net, "interfaces", None)):
        grid.add_row("addresses", or_unknown(getattr(net, "interfaces", None)))
    else:
        addr = Text(f"{net.primary_interface or '?'} {net.primary_address or '-'}")
        if net.primary_address6:
            addr.append(f"  {net.primary_address6}")
        # Only NAT's gateway is Windows (its vEthernet); mirrored or bridged, it is the LAN's router.
        addr.append(f"   {'Windows (gateway)' if a.world.mode == 'nat' else 'gateway'} {net.default_gateway_v4 or '-'}")
        grid.add_row("WSL", addr)
    grid.add_row("firewall", _firewall_line(f))
    return grid


def _firewall_line(f) -> Text:
    t = Text()
    fw = f.firewalld
    if fw is None or fw.unknown is not None:
        t.append("firewalld ").append_text(or_unknown(fw.unknown if fw else None))
    else:
        t.append("firewalld ").append_text(bool_word(fw.running, "running", "not running"))
        if fw.running and fw.default_zone:
            t.append(f" (default zone {fw.default_zone})")
    t.append(" · ufw ")
    u = f.ufw
    if u is None or u.unknown is not None:
        t.append_text(or_unknown(u.unknown if u else None))
    else:
        t.append_text(bool_word(u.active, "active", "inactive"))
    ipt = f.iptables
    if ipt is not None:
        active = [rs.record.removeprefix("nf.") for rs in ipt.rulesets() if rs.unknown is None and rs.is_active()]
        nft = f.nft  # native nft tables hold rules iptables does not list
        native = [x for x in nft.tables if not x.managed_by_iptables] if nft is not None and nft.unknown is None else []
        if native:
            active.append(f"nft ({plural(len(native), 'table')})")
        t.append(" · rules: " + (", ".join(active) if active else "none"))
    return t


def observed_lines(a, app=None) -> list[Text]:
    """The newest live test per cell, when there is one: "observed ✓ 12 ms" / "observed ✗ timeout",
    and whether the model agrees; the flows being tested say "testing…"."""
    from wsltui.facts.base import Unknown
    from wsltui.views.live_text import CLASS_WORDS, short

    testing = sorted(getattr(app, "live_testing", ()) or ())
    if not a.live and not testing:
        return []
    out = [Text(), Text("Live tests", style="bold")]
    for scenario, port, proto in testing:
        out.append(Text(f"… {proto}/{port} {SHORT.get(scenario, scenario)}  testing…", style=tone("unknown")))
    for test in a.live:
        if isinstance(test.result, Unknown):
            out.append(
                Text(
                    f"? {test.name}: unknown — {test.result.reason}",
                    style=tone("unknown"),
                    no_wrap=True,
                    overflow="ellipsis",
                )
            )
            continue
        rec, obs = test.result, test.result.obs
        line = Text(
            f"{'✓' if rec.reachable else '✗' if rec.reachable is False else '?'} ",
            style=tone("ok") if rec.reachable else tone("blocked") if rec.reachable is False else tone("unknown"),
        )
        line.append(f"{obs.proto}/{obs.port} {SHORT.get(obs.scenario, obs.scenario)}  ", style="bold")
        line.append(short(rec))
        verdict = (
            "model agrees"
            if rec.agrees
            else "nothing observed"
            if rec.agrees is None
            else f"model disagrees: {CLASS_WORDS.get(rec.disagreement, rec.disagreement)}"
        )
        line.append(
            f"  · {verdict}",
            style=tone("ok") if rec.agrees else "dim" if rec.agrees is None else tone("blocked", bold=True),
        )
        if test.older:
            line.append("  · older than the snapshot", style="dim")
        line.no_wrap, line.overflow = True, "ellipsis"
        out.append(line)
    return out
