"""The Flow packet's deciding rule in the Netfilter, firewalld, ufw and Windows panels (marked,
`b` lands on it), and `/` in every panel that lists things, typed letters never reaching the
app's keys. Demo data and hand-made snapshots only."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from wsltui.tui.app import make_app
from wsltui.tui.panels.base import SearchBox

from tests.simulation.test_decided import ufw_on_wsl
from tests.tui.helpers import BLOCKED, demo_app, run, settle

LIST_PANELS = {"4": "sockets", "5": "netfilter", "6": "firewalld", "7": "ufw", "8": "windows"}


async def flow_to(app, pilot, scenario: str, port: int, panel_key: str):
    app.open_flow(scenario, port, "tcp")
    await settle(pilot)
    await pilot.press(panel_key)
    await settle(pilot)
    return app.panel(app.active_key)


def test_netfilter_marks_the_rejecting_firewalld_rule_and_b_lands_on_it():
    async def body(app, pilot):
        panel = await flow_to(app, pilot, "windows-to-wsl-ip", 8080, "5")
        tree = panel.main_widget()
        tree.move_cursor(tree.root.children[0], animate=False)  # away from it
        [(node, _)] = panel._marked.values()
        assert "reject with icmpx admin-prohibited" in node.label.plain
        assert node.label.plain.endswith("◀ blocks Flow hop 3")
        assert node.parent.label.plain.startswith("filter_IN_public")
        await pilot.press("b")
        await pilot.pause()
        assert app.focused is tree and tree.cursor_node is node
        # Another Flow packet: the mark follows it (shown again when the panel is).
        app.open_flow("windows-localhost-v4", 8080, "tcp")
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        labels = [n.label.plain for n, _ in panel._marked.values()]
        assert labels and all("✓ lets Flow hop 5 through" in lab for lab in labels)
        assert "blocks" not in node.label.plain
        await pilot.press("b")  # no blocker here: the first rule that lets it through, and a toast says so
        await pilot.pause()
        assert "✓ lets Flow hop 5 through" in tree.cursor_node.label.plain
        assert any("nothing here blocks it; this lets it through (hop 5)" in n.message for n in app._notifications)

    run(demo_app(BLOCKED), body)


def test_firewalld_marks_the_zone_whose_target_rejects_and_b_lands_on_it():
    async def body(app, pilot):
        panel = await flow_to(app, pilot, "windows-to-wsl-ip", 8080, "6")
        node, title = panel.zones["public"]
        assert "◀ blocks Flow hop 3 (the zone's target)" in node.label.plain
        assert "blocks" not in title.plain
        await pilot.press("b")
        await pilot.pause()
        assert panel.main_widget().cursor_node is node

    run(demo_app(BLOCKED), body)


def test_windows_panel_marks_the_hyperv_default_and_lists_listeners():
    async def body(app, pilot):
        panel = await flow_to(app, pilot, "lan-to-host", 8080, "8")
        summary = str(panel.query_one("#windows-summary").content.renderables[0].renderables[1].columns[1]._cells)
        assert "Hyper-V firewall: Private profile: DefaultInboundAction=Block  ◀ blocks it" in summary
        assert "no Windows program listens on this port" in summary
        await pilot.press("b")
        await pilot.pause()
        assert app.focused is panel.query_one("#windows-overview")

    run(demo_app("mirrored-hyperv-lan"), body)


def test_windows_panel_marks_the_allow_rule_row_and_b_lands_on_it():
    async def body(app, pilot):
        panel = await flow_to(app, pilot, "lan-to-host", 8080, "8")
        table = panel.query_one("#windows-rules", DataTable)
        [(key, decision)] = panel._decided.items()
        assert decision.key.verdict == "accept"
        assert table.get_cell(key, "match").plain == "✓ hop 1"
        table.move_cursor(row=0)
        await pilot.press("slash", *"nothing like it")
        await pilot.press("enter")
        await pilot.pause(0.3)
        await pilot.press("b")  # hidden by the filter: it is cleared
        await pilot.pause()
        assert panel.selected_key() == key and app.focused is table
        summary = str(panel.query_one("#windows-summary").content.renderables[0].renderables[1].columns[1]._cells)
        assert "svchost (pid 3712) — portproxy (iphlpsvc): forwards 0.0.0.0:8080 to" in summary

    run(demo_app("lan-stale-portproxy"), body)


def test_ufw_marks_the_rejecting_rule_row_and_says_when_the_default_decides():
    async def body(app, pilot):
        panel = await flow_to(app, pilot, "windows-to-wsl-ip", 22, "7")
        table = panel.query_one("#ufw-rules", DataTable)
        [(key, _)] = panel._decided.items()
        assert panel.rows[key].dst.text == "22/tcp" and panel.rows[key].action == "reject"
        assert table.get_cell(key, "flow").plain.strip() == "◀ blocks Flow hop 3"
        await pilot.press("b")
        await pilot.pause()
        assert table.cursor_row == table.get_row_index(key)
        panel = await flow_to(app, pilot, "windows-to-wsl-ip", 9999, "7")
        assert not panel._decided
        assert "Flow hop 3: ufw's default incoming policy  ◀ blocks it" in panel._flow_lines.plain
        await pilot.press("b")
        await pilot.pause()
        toasts = [n.message for n in app._notifications]
        assert any("hop 3 is decided by ufw default incoming policy, which is not a row here" in t for t in toasts)

    run(make_app(ufw_on_wsl, label="ufw"), body)


def test_b_says_so_when_the_panel_does_not_decide_the_flow_packet():
    async def body(app, pilot):
        panel = await flow_to(app, pilot, "windows-to-wsl-ip", 8080, "7")  # ufw is not installed here
        await pilot.press("b")
        await pilot.pause()
        toasts = [n.message for n in app._notifications]
        assert any("is not decided in ufw: the first blocker is hop 3, netfilter" in t for t in toasts), (
            toasts,
            app.focused,
            app.active_key,
        )
        assert panel.main_widget() is not None

    run(demo_app(BLOCKED), body)


@pytest.mark.parametrize("key", sorted(LIST_PANELS))
def test_slash_searches_and_typed_letters_never_reach_the_app(key):
    async def body(app, pilot):
        await pilot.press(key)
        await settle(pilot)
        panel = app.panel(LIST_PANELS[key])
        await pilot.press("slash")
        await pilot.pause()
        box = panel.search_box()
        assert isinstance(app.focused, SearchBox) and app.focused is box
        await pilot.press(*"q1s", "space", "b", "d", "a", "question_mark")  # quit, panel 1, keys of every panel
        await pilot.pause(0.3)
        assert app.is_running and app.active_key == LIST_PANELS[key] and app.screen is app.main_screen
        assert box.value == "q1s bda?"
        await pilot.press("escape")
        await pilot.pause(0.3)
        main = panel.main_widget()
        assert not box.display and box.value == "" and (app.focused is main or not main.display)  # (ufw: no rules)

    run(demo_app(BLOCKED), body)


def test_slash_finds_in_the_netfilter_tree_and_steps_through_matches():
    async def body(app, pilot):
        await pilot.press("5")
        await settle(pilot)
        panel = app.panel("netfilter")
        tree = panel.main_widget()
        await pilot.press("slash", *"handle 7")
        await pilot.pause()
        first = tree.cursor_node
        assert "handle 7" in first.label.plain
        count = panel.search_box().border_subtitle
        assert count.startswith("1/")
        await pilot.press("down")
        assert tree.cursor_node is not first and "handle 7" in tree.cursor_node.label.plain
        await pilot.press("up")
        assert tree.cursor_node is first
        await pilot.press("enter")  # back to the tree, on the match
        await pilot.pause()
        assert app.focused is tree and tree.cursor_node is first

    run(demo_app(BLOCKED), body)


def test_slash_filters_ufw_rules():
    async def body(app, pilot):
        await pilot.press("7")
        await settle(pilot)
        table = app.query_one("#ufw-rules", DataTable)
        everything = table.row_count
        await pilot.press("slash", *"reject")
        await pilot.pause()
        assert 0 < table.row_count < everything
        assert all(app.panel("ufw").rows[k.value].action == "reject" for k in table.rows)
        await pilot.press("escape")
        await pilot.pause()
        assert table.row_count == everything

    run(make_app(ufw_on_wsl, label="ufw"), body)


def test_windows_panel_marks_a_hyperv_block_rule_row(tmp_path):
    from tests.simulation.test_windows_hyperv_policy import hv, hv_rule
    from tests.simulation.test_windows_scenarios import case, ps
    from wsltui.tui.app import file_source

    rules = [hv_rule("Block dev 8080", "block", 8080), hv_rule("Allow dev 8080", "allow", 8080)]
    d = case(tmp_path, mode="mirrored", powershell=ps(hyperv=hv(rules=rules)))

    async def body(app, pilot):
        panel = await flow_to(app, pilot, "lan-to-host", 8080, "8")
        [(key, decision)] = panel._decided.items()
        assert key == "Hyper-V:Block dev 8080" and decision.blocks
        table = panel.query_one("#windows-rules", DataTable)
        assert table.get_cell(key, "match").plain == "◀ blocks hop 1"
        await pilot.press("b")
        await pilot.pause()
        assert panel.selected_key() == key

    run(make_app(file_source(str(d)), label="hyperv"), body)
