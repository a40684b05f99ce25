"""Status tells the whole truth: every blocker of every cell with its whole fix, an answer per
port, no ✗ on a healthy machine, and cells and blocker lines that open Flow (enter) and the fix
plan (f). Demo data only."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from wsltui import demos
from wsltui.tui.changes import PlanScreen
from wsltui.tui.panels.flow import HopBox
from wsltui.tui.panels.status import BlockerLine, classify
from wsltui.tui.render import shorter

from tests.tui.helpers import BLOCKED, HEALTHY, demo_app, run, settle

SIZE = (120, 30)


def plain(renderable, width: int = 400) -> str:
    console = Console(width=width, file=io.StringIO(), record=True)
    console.print(renderable)
    return console.export_text()


def panel_text(app) -> str:
    """Everything the Status panel shows (cells, answers, every blocker line), unwrapped."""
    panel = app.panel("status")
    parts = [plain(w.content) for w in panel.query("#status-head, #status-body, #status-foot, BlockerLine")]
    table = panel.query_one("#status-table")
    parts += [plain(table.get_cell_at((r, c))) for r in range(table.row_count) for c in range(len(table.columns))]
    return "\n".join(parts)


def next_steps(app) -> list[str]:
    table = app.query_one("#status-table")
    column = [c.key.value for c in table.ordered_columns].index("next")
    return [plain(table.get_cell_at((r, column))).strip() for r in range(table.row_count)]


def kinds(srow) -> set[str]:
    return {c.kind for c in srow.cells}


def screen_words(app) -> str:
    """What the terminal shows now (the visible region only), its words joined by single spaces:
    a command that wraps under itself reads as one line again."""
    return " ".join(" ".join(strip.text for strip in app.screen._compositor.render_strips()).split())


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("demo", demos.names())
def test_at_80x24_no_verdict_cell_is_cut(demo):
    async def body(app, pilot):
        panel = app.panel("status")
        table = app.query_one("#status-table")
        keys = [c.key.value for c in table.ordered_columns]
        assert table.virtual_size.width <= table.size.width  # nothing scrolls out sideways
        for r, srow in enumerate(panel.rows):
            for cell in srow.cells:
                shown = plain(table.get_cell_at((r, keys.index(cell.scenario)))).strip()
                assert shown in (cell.text.plain, shorter(cell.text.plain)) and "…" not in shown, (demo, shown)
            assert plain(table.get_cell_at((r, keys.index("next")))).strip() == next_steps(app)[r]

    run(demo_app(demo), body, (80, 24))


def test_enter_on_a_cell_opens_flow_on_that_port_scenario_and_its_blocker():
    async def body(app, pilot):
        table = app.query_one("#status-table")
        assert app.focused is table
        row, col = table.cursor_coordinate  # it opens on the first blocked cell
        panel = app.panel("status")
        cell = panel.rows[row].cells[col - 2]
        assert cell.kind == "blocked"
        await pilot.press("enter")
        await settle(pilot)
        flow = app.panel("flow")
        assert app.active_key == "flow" and (flow.scenario, flow.port) == (cell.scenario, panel.rows[row].target.port)
        assert isinstance(app.focused, HopBox) and app.focused.hop is flow.trace.first_blocker

    run(demo_app(), body, SIZE)


def test_enter_on_a_blocker_line_opens_flow_at_that_hop_even_behind_a_missing_portproxy():
    async def body(app, pilot):
        panel = app.panel("status")
        # firewalld rejects 8080 on the LAN path too, once portproxy forwards it: "after" that fix
        line = next(
            w for w in panel.query(BlockerLine) if w.blocker.target.port == 8080 and w.blocker.hop.layer == "netfilter"
        )
        assert [sc for sc, _, _ in line.blocker.stops] == ["windows-to-wsl-ip", "lan-to-host"]
        proxy = next(
            w for w in panel.query(BlockerLine) if w.blocker.target.port == 8080 and w.blocker.hop.layer == "portproxy"
        )
        assert line.blocker.after == {"lan-to-host": proxy.blocker.number}
        assert f"LAN→host (after {proxy.blocker.number})" in plain(line.content)
        proxy.focus()
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        flow = app.panel("flow")
        assert (flow.scenario, flow.port, flow.proto) == ("lan-to-host", 8080, "tcp")
        assert isinstance(app.focused, HopBox) and app.focused.hop.layer == "portproxy"
        # back on Status, the arrows walk from the table into the blocker lines and back
        await pilot.press("1")
        await settle(pilot)
        table = app.query_one("#status-table")
        table.focus()
        table.cursor_coordinate = (table.row_count - 1, 2)
        await pilot.press("down")
        assert isinstance(app.focused, BlockerLine) and app.focused.blocker.number == 1
        await pilot.press("down")
        assert app.focused.blocker.number == 2
        await pilot.press("up", "up")
        assert app.focused is table

    run(demo_app(), body, SIZE)


def test_f_opens_the_plan_of_the_selected_blocker_and_of_a_whole_cell():
    async def body(app, pilot):
        panel = app.panel("status")
        line = next(w for w in panel.query(BlockerLine) if w.blocker.hop.layer == "netfilter")
        line.focus()
        await pilot.pause()
        await pilot.press("f")
        for _ in range(100):
            if isinstance(app.screen, PlanScreen):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, PlanScreen)
        shown = [" ".join(step) for fix in app.screen.plan.fixes for step in fix.argv]
        assert shown == [
            f"firewall-cmd --zone=public --add-port={line.blocker.target.port}/tcp",
            f"firewall-cmd --permanent --zone=public --add-port={line.blocker.target.port}/tcp",
        ]
        await pilot.press("escape")
        await pilot.pause()
        # a LAN cell: the plan holds every blocker of that cell (Windows firewall, portproxy, firewalld)
        table = app.query_one("#status-table")
        table.focus()
        row = next(i for i, r in enumerate(panel.rows) if r.target.port == 8080)
        table.cursor_coordinate = (row, 2 + [c.scenario for c in panel.rows[row].cells].index("lan-to-host"))
        await pilot.press("f")
        for _ in range(100):
            if isinstance(app.screen, PlanScreen):
                break
            await pilot.pause(0.05)
        plan = app.screen.plan
        assert len(plan.fixes) + len(plan.manual) == 3

    run(demo_app(), body, SIZE)


@pytest.mark.parametrize("demo", demos.names())
def test_every_blocker_of_every_cell_is_on_screen_at_120x30_with_every_command_of_its_fixes(demo):
    async def body(app, pilot):
        text = panel_text(app)
        a = app.analysis
        for row in a.rows:
            for sc, trace in row.traces.items():
                for hop in trace.blockers:
                    for fix in hop.fixes:
                        assert fix.title in text, (demo, sc, fix.title)
                        for cmd in fix.commands:
                            assert cmd in text, (demo, sc, cmd)
        # one answer per row: its next step is the first fix of a path that is there
        panel = app.panel("status")
        for srow, step in zip(panel.rows, next_steps(app)):
            port = (srow.target.proto, srow.target.port)
            red = [b.number for b in panel.blockers if not b.muted and (b.target.proto, b.target.port) == port]
            assert step == (
                f"→ fix {red[0]}" if red else "→ enter on ?" if "undecided" in kinds(srow) else "nothing to do"
            )
        # nothing contradicts Flow: a blocked cell says the trace's own symptom
        for srow in app.panel("status").rows:
            for cell in srow.cells:
                if cell.kind == "blocked":
                    assert cell.text.plain == f"✗ {cell.trace.symptom}"
        # and at 120x30 all of it is on screen, without scrolling: every row whole (listener,
        # every cell, the next step), every blocker's fix titles and commands
        assert panel.query_one("#status-scroll").scroll_y == 0
        shown = screen_words(app)
        table = app.query_one("#status-table")
        for r in range(table.row_count):
            assert words(" ".join(plain(table.get_cell_at((r, c))) for c in range(len(table.columns)))) in shown
        for b in panel.blockers:
            for fix in b.hop.fixes:
                assert words(fix.title) in shown, (demo, b.number, fix.title)
                for cmd in fix.commands:
                    assert words(cmd) in shown, (demo, b.number, cmd)

    assert SIZE == (120, 30)  # Windows Terminal's default: the design size
    run(demo_app(demo), body, SIZE)


def test_the_healthy_demo_shows_no_cross_and_opens_on_green():
    async def body(app, pilot):
        text = panel_text(app)
        assert "✗" not in text
        assert "none stops a path that is there" in text and next_steps(app) == ["nothing to do"] * 2
        table = app.query_one("#status-table")
        row, col = table.cursor_coordinate
        assert app.panel("status").rows[row].cells[col - 2].kind == "ok"

    run(demo_app(HEALTHY), body, SIZE)


def test_the_stale_portproxy_fix_is_whole_on_screen():
    async def body(app, pilot):
        line = next(w for w in app.panel("status").query(BlockerLine) if w.blocker.hop.layer == "portproxy")
        text = plain(line.content)
        assert "netsh interface portproxy delete v4tov4" in text and "netsh interface portproxy add v4tov4" in text
        assert not line.blocker.muted and line.blocker.number == 1 and next_steps(app) == ["→ fix 1"]
        assert "Point the portproxy entry" in text

    run(demo_app("lan-stale-portproxy"), body, SIZE)


def test_a_cell_is_not_set_up_only_for_a_missing_piece_of_the_mode_or_the_listener():
    from wsltui.analysis import analyze

    a = analyze(demos.load(BLOCKED))
    kinds = {(r.target.port, sc): classify(r.target, sc, t).text.plain for r in a.rows for sc, t in r.traces.items()}
    assert kinds[(8080, "windows-localhost-v6")] == "– IPv4 only"  # 0.0.0.0 takes no IPv6
    assert kinds[(3000, "windows-localhost-v4")] == "✗ refused"  # a dual-stack [::] does: the relay is the trap
    assert kinds[(8080, "lan-to-host")] == "– not set up"  # no portproxy entry at all
    stale = analyze(demos.load("lan-stale-portproxy"))
    assert classify(stale.rows[0].target, "lan-to-host", stale.rows[0].traces["lan-to-host"]).kind == "blocked"


def test_another_view_can_add_a_column_per_row(monkeypatch):
    from rich.text import Text

    from wsltui.tui.panels import status

    monkeypatch.setattr(status, "EXTRA_COLUMNS", [("live", lambda a, row: Text(f"port {row.target.port}"))])

    async def body(app, pilot):
        table = app.query_one("#status-table")
        assert str(table.ordered_columns[-1].label) == "live"
        assert [str(table.get_cell_at((r, len(table.columns) - 1))) for r in range(table.row_count)] == [
            "port 3000",
            "port 8080",
        ]

    run(demo_app(), body, SIZE)


def test_verdict_colours_are_the_themes_and_follow_a_theme_change():
    from rich.color import Color
    from rich.style import Style

    def colour_of(app, kind: str) -> Color:
        panel = app.panel("status")
        table = app.query_one("#status-table")
        keys = [c.key.value for c in table.ordered_columns]
        r, cell = next((r, c) for r, row in enumerate(panel.rows) for c in row.cells if c.kind == kind)
        return Style.parse(str(table.get_cell_at((r, keys.index(cell.scenario))).style)).color

    async def body(app, pilot):
        for theme in ("textual-dark", "nord"):
            app.theme = theme
            await settle(pilot)
            assert colour_of(app, "blocked") == Color.parse(app.theme_variables["error"]), theme
            assert colour_of(app, "ok") == Color.parse(app.theme_variables["success"]), theme
        assert Color.parse(app.theme_variables["error"]) != Color.parse(app.get_theme("textual-dark").error)

    run(demo_app(), body, SIZE)
