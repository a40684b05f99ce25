"""The Windows panel: overview parts (each known or `unknown: reason (run: command)`), the rule
table (sort, filter, "could match the Flow port", details), thousands of rules, and FastTable
against a stock DataTable."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.app import App
from textual.widgets import DataTable, Input

from wsltui.snapshot import Record, Snapshot
from wsltui.tui.app import make_app
from wsltui.tui.panels.tables import FastTable
from wsltui.tui.panels.windows import RuleDetails, WindowsPanel, port_match

from tests.tui.helpers import WINDOWS, demo_app, run, settle, with_many_rules
from tests.tui.test_app import static_text

DEMO_RULES = 10  # lan-stale-portproxy: 6 Windows Defender Firewall rules + 4 Hyper-V rules


def names(app) -> list[str]:
    """The rule names in table order."""
    table = app.query_one("#windows-rules", DataTable)
    col = list(table.columns).index("name")
    return [str(table.get_row_at(i)[col]) for i in range(table.row_count)]


async def show_windows(pilot) -> WindowsPanel:
    await pilot.press("8")
    await settle(pilot)
    return pilot.app.panel("windows")


def test_overview_shows_every_part():
    async def body(app, pilot):
        await show_windows(pilot)
        text = static_text(app, "#windows-summary")
        assert "Domain, Private, Public: on, inbound block, outbound allow" in text
        assert "Wi-Fi → Private" in text and "vEthernet (WSL (Hyper-V firewall)) → Public" in text
        assert "loopback allowed, host rules merged" in text
        assert "v4tov4 0.0.0.0:8080 → 172.23.188.236:8080" in text
        assert "WSL's address now: 172.28.165.23" in text
        assert "IP Helper service (runs portproxy): running" in text
        assert "5357, 49681-49780, 49781-49880" in text
        assert "unknown" not in text

    run(demo_app(WINDOWS), body)


def test_each_missing_part_says_unknown_with_the_command():
    from wsltui import demos

    snap = demos.load(WINDOWS)
    partial = Snapshot(meta=snap.meta)
    for name, record in snap.records.items():
        if name not in ("win.powershell", "win.portproxy", "win.excluded-tcp6"):
            partial.add(record)

    async def body(app, pilot):
        await show_windows(pilot)
        text = static_text(app, "#windows-summary")
        lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
        # Without PowerShell: profiles and rules come from the registry; the rest is unknown.
        assert "unknown" not in lines["profiles"]
        for part in ("adapters", "setting", "portproxy"):
            assert "unknown: not captured in this snapshot (run: " in lines[part], lines[part]
        assert "excluded tcp6" in text and "(run: netsh.exe int ipv6 show excludedportrange" in text
        assert "registry (local + Group Policy)" in text
        assert app.query_one("#windows-rules", DataTable).row_count == 6

    run(make_app(lambda: partial, label="partial"), body)


def test_hyperv_rules_still_shown_when_the_windows_rules_are_unknown():
    import json

    from wsltui import demos

    snap = demos.load(WINDOWS)
    ps = snap.records["win.powershell"]
    data = json.loads(ps.stdout)
    data["rules"], data["errors"] = None, {"rules": "Access is denied."}
    partial = Snapshot(meta=snap.meta)
    for name, record in snap.records.items():
        if name == "win.powershell":
            partial.add(Record(ps.name, ps.argv, json.dumps(data), exit_code=ps.exit_code))
        elif name != "win.fw-policy":  # no registry fallback either
            partial.add(record)

    async def body(app, pilot):
        await show_windows(pilot)
        note = static_text(app, "#windows-rules-note")
        assert note.startswith("Windows rules: unknown: ") and "4 rules" in note
        assert {str(c) for c in names(app)} == {
            "WslCore Inbound ICMPv4 Default Allow Rule",
            "WslCore Inbound ICMPv6 Default Allow Rule",
            "WslCore Inbound IPv4 mDNS Default Allow Rule",
            "WslCore Inbound IPv6 mDNS Default Allow Rule",
        }

    run(make_app(lambda: partial, label="no rules"), body)


def test_table_has_both_firewalls_and_the_flow_port_column():
    async def body(app, pilot):
        panel = await show_windows(pilot)
        table = app.query_one("#windows-rules", DataTable)
        assert app.focused is table and table.row_count == DEMO_RULES
        assert panel.target == ("tcp", 8080)  # the Flow panel's port, although Flow was never shown
        assert str(table.columns["match"].label) == "tcp/8080"
        match = {name: str(table.get_row_at(i)[0]) for i, name in enumerate(names(app))}
        assert match["WSL dev server 8080"] == "yes"
        assert match["Node.js JavaScript Runtime"] == "maybe"  # a program rule: depends on the program
        assert match["Delivery Optimization (UDP-In)"] == "-"
        firewalls = {str(table.get_row_at(i)[list(table.columns).index("fw")]) for i in range(table.row_count)}
        assert firewalls == {"Windows", "Hyper-V"}

    run(demo_app(WINDOWS), body)


def test_m_keeps_the_rules_that_could_match_and_follows_the_flow_port():
    async def body(app, pilot):
        await show_windows(pilot)
        await pilot.press("m")
        await pilot.pause()
        assert sorted(names(app)) == ["Node.js JavaScript Runtime", "WSL dev server 8080"]
        # Flow to udp/5353: the mDNS rules (Hyper-V, bound to a multicast address) could match.
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("t", "p")
        app.focused.value = "5353"
        await pilot.press("enter")
        await settle(pilot)
        await show_windows(pilot)
        assert sorted(names(app)) == [
            "WslCore Inbound IPv4 mDNS Default Allow Rule",
            "WslCore Inbound IPv6 mDNS Default Allow Rule",
        ]
        assert "2 could match udp/5353" in static_text(app, "#windows-rules-note")
        await pilot.press("m")
        await pilot.pause()
        assert len(names(app)) == DEMO_RULES

    run(demo_app(WINDOWS), body)


def test_relevance_is_the_simulators_matcher():
    """The column and the `p` filter agree with rule_matches for every rule and both protocols."""
    from wsltui.facts import build_facts
    from wsltui.simulation.windows import WinPacket, rule_matches
    from wsltui import demos

    win = build_facts(demos.load(WINDOWS)).windows
    for rule in [*win.rules, *win.hyperv.rules]:
        for proto in ("tcp", "udp"):
            pkt = (
                WinPacket("in", proto, 8080)
                if rule.direction == "in"
                else WinPacket("out", proto, None, remote_port=8080)
            )
            assert port_match(rule, proto, 8080) == rule_matches(rule, pkt, None)


def test_sort_by_keys_and_by_clicking_a_header():
    async def body(app, pilot):
        panel = await show_windows(pilot)
        by_name = names(app)
        assert by_name == sorted(by_name, key=str.lower)
        await pilot.press("O")
        await pilot.pause()
        assert names(app) == by_name[::-1]
        await pilot.press("o")  # the next column after name: firewall
        await pilot.pause()
        assert panel.sort_key == "fw" and not panel.sort_reverse
        table = app.query_one("#windows-rules", DataTable)
        fw = list(table.columns).index("fw")
        assert [str(table.get_row_at(i)[fw]) for i in range(table.row_count)] == ["Hyper-V"] * 4 + ["Windows"] * 6
        # The header row: inside the border, the second column (action) starts after the first.
        action_header = (1 + table.columns["match"].get_render_width(table) + 2, 1)
        await pilot.click("#windows-rules", offset=action_header)
        await pilot.pause()
        assert panel.sort_key == "action" and not panel.sort_reverse
        await pilot.click("#windows-rules", offset=action_header)
        await pilot.pause()
        assert panel.sort_key == "action" and panel.sort_reverse
        assert "▼" in str(table.columns["action"].label)

    run(demo_app(WINDOWS), body)


def test_slash_filters_escape_clears_enter_shows_details():
    async def body(app, pilot):
        await show_windows(pilot)
        await pilot.press("slash")
        await pilot.pause()
        assert isinstance(app.focused, Input)
        await pilot.press(*"wslcore")
        await pilot.pause(0.4)  # the filter waits for a pause in typing
        assert len(names(app)) == 4 and all(n.startswith("WslCore") for n in names(app))
        await pilot.press("enter")  # back to the table
        await pilot.pause()
        assert isinstance(app.focused, DataTable)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RuleDetails)
        details = static_text(app.screen, "#rule-details")
        assert "Hyper-V firewall (the WSL VM)" in details and names(app)[0] in details
        assert "cannot match tcp/8080" in details
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, RuleDetails)
        await pilot.press("escape")
        await pilot.pause()
        assert len(names(app)) == DEMO_RULES

    run(demo_app(WINDOWS), body)


def test_v_gives_the_panel_to_the_overview_and_back():
    async def body(app, pilot):
        panel = await show_windows(pilot)
        await pilot.press("v")
        await pilot.pause()
        assert panel.has_class("-overview") and app.focused is app.query_one("#windows-overview")
        assert not app.query_one("#windows-rules").display
        await pilot.press("v")
        await pilot.pause()
        assert app.focused is app.query_one("#windows-rules")

    run(demo_app(WINDOWS), body, size=(80, 24))


def test_thousands_of_rules_sort_filter_and_refresh_keep_the_cursor():
    n = 3000
    snapshots = [with_many_rules(n), with_many_rules(n + 1)]  # the refresh reads one more rule
    calls = []

    def source():
        calls.append(1)
        return snapshots[min(len(calls), 2) - 1]

    async def body(app, pilot):
        panel = await show_windows(pilot)
        table = app.query_one("#windows-rules", FastTable)
        assert table.row_count == n + DEMO_RULES
        await pilot.press("G")  # the last row, scrolled to the bottom
        await pilot.pause()
        await pilot.press("k", "k")
        await pilot.pause()
        key, row, scroll = panel.selected_key(), table.cursor_row, table.scroll_y
        assert row == table.row_count - 3 and scroll > 1000
        await pilot.press("r")
        await settle(pilot)
        await pilot.pause()
        assert len(calls) == 2 and table.row_count == n + 1 + DEMO_RULES
        # "Generated rule 03000" sorts before the cursor's rule: same rule, one row down, same scroll.
        assert (panel.selected_key(), table.cursor_row, table.scroll_y) == (key, row + 1, scroll)
        while panel.sort_key != "ports":  # o: the next column
            await pilot.press("o")
        await pilot.pause()
        assert panel.selected_key() == key
        ports = list(table.columns).index("ports")
        first = [str(table.get_row_at(i)[ports]) for i in range(11)]
        # any (4 rules), then by the first port as a number: 3, 135, 5353, 5353, 7680, 8080, 20000
        assert first[4:] == ["3, 11", "135, 136, 1, 3", "5353", "5353", "7680", "8080", "20000"], first
        await pilot.press("m")
        await pilot.pause()
        assert table.row_count == 2  # no generated rule is on 8080

    run(make_app(source, label="many rules"), body)


def test_fast_table_matches_a_stock_data_table():
    rows = [(f"r{i}", (Text(f"name {i}"), Text("x" * (i % 7)), Text(str(i)))) for i in range(300)]
    widths = (10, 7, 5)

    class Tables(App):
        def compose(self):
            yield DataTable(id="stock")
            yield FastTable(id="fast")

    async def main():
        app = Tables()
        async with app.run_test(size=(80, 24)) as pilot:
            stock, fast = app.query_one("#stock", DataTable), app.query_one("#fast", FastTable)
            for table in (stock, fast):
                for i, width in enumerate(widths):
                    table.add_column(f"c{i}", key=f"c{i}", width=width)
            for key, cells in rows:
                stock.add_row(*cells, key=key)
            fast.replace_rows(rows)
            await pilot.pause()
            assert fast.row_count == stock.row_count == 300
            assert [r.key.value for r in fast.ordered_rows] == [r.key.value for r in stock.ordered_rows]
            assert [fast.get_row_at(i) for i in range(300)] == [stock.get_row_at(i) for i in range(300)]
            assert fast.virtual_size == stock.virtual_size
            stock.move_cursor(row=150)
            fast.move_cursor(row=150)
            await pilot.pause()
            assert fast.scroll_y == stock.scroll_y and fast.cursor_row == 150
            assert [fast.render_line(y).text for y in range(10)] == [stock.render_line(y).text for y in range(10)]
            # Replacing again leaves no row behind and keeps the keys unique.
            fast.replace_rows(rows[:5])
            await pilot.pause()
            assert fast.row_count == 5

    asyncio.run(main())


def test_windows_panel_at_80x24():
    async def body(app, pilot):
        await show_windows(pilot)
        table = app.query_one("#windows-rules", DataTable)
        assert table.region.height >= 6  # the overview leaves room for the rules
        assert app.query_one("#windows-overview").region.height <= 24 * 0.4 + 1

    run(demo_app(WINDOWS), body, size=(80, 24))


def test_no_color_keeps_every_meaning_in_words(monkeypatch):
    """NO_COLOR: the screen is grey only, and the match column and actions still read as words."""
    import re

    monkeypatch.setenv("NO_COLOR", "1")

    async def body(app, pilot):
        await show_windows(pilot)
        svg = app.export_screenshot()
        for colour in set(re.findall(r"fill: #([0-9a-f]{6})", svg)):
            r, g, b = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
            assert max(r, g, b) - min(r, g, b) <= 4, colour
        table = app.query_one("#windows-rules", DataTable)
        cells = {str(c) for i in range(table.row_count) for c in table.get_row_at(i)[:2]}
        assert {"yes", "maybe", "-", "ALLOW"} <= cells

    run(demo_app(WINDOWS), body, size=(80, 24))
