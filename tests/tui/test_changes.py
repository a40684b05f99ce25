"""Changes from the keyboard (wsltui/tui/changes.py): every change is a plan in a dialog and
nothing runs without y; a demo, a snapshot file or --read-only can show a plan but never apply
it. (Applying itself is proven with the real tools in tests/test_actions*.py.)"""

from __future__ import annotations

from wsltui import demos
from wsltui.tui.app import make_app
from wsltui.tui.changes import PlanScreen

from tests.test_actions_windows import windows  # noqa: F401 (the stand-in Windows fixture)
from tests.tui.helpers import BLOCKED, demo_app, run, settle


async def _wait_for_plan(pilot):
    for _ in range(200):
        await pilot.pause(0.02)
        if isinstance(pilot.app.screen, PlanScreen):
            return pilot.app.screen
    raise AssertionError("no plan dialog")


def test_f_shows_the_plan_of_the_selected_blocker_and_a_demo_never_applies_it():
    async def body(app, pilot):
        await pilot.press("2")
        await settle(pilot)
        first = app.panel("flow").trace.first_blocker
        await pilot.press("f")
        screen = await _wait_for_plan(pilot)
        text = screen.plan.describe()
        assert "firewall-cmd --zone=public --add-port=3000/tcp" in text  # the demo's firewalld reject
        assert "undo: firewall-cmd --zone=public --remove-port=3000/tcp" in text
        assert [(b["layer"], b["rule"]) for b in screen.plan.blockers] == [(first.layer, first.rule)]
        assert "demo" in screen.refusal
        assert screen.check_action("apply", ()) is None  # dimmed
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is screen and not screen.busy  # nothing ran
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, PlanScreen)

    run(demo_app(BLOCKED), body)


def test_rule_keys_refuse_before_reading_anything_when_not_live():
    async def body(app, pilot):
        await pilot.press("5")
        await settle(pilot)
        panel = app.panel("netfilter")
        assert panel.check_action("add_allow", ()) is None and panel.check_action("delete_rule", ()) is None
        tree = panel.query_one("#netfilter-tree")
        rule_line = next(line for line in range(tree.last_line + 1)
                         if tree.get_node_at_line(line) is not None and tree.get_node_at_line(line).id in panel.rules)
        tree.cursor_line = rule_line
        await pilot.press("space")
        await pilot.pause(0.1)
        messages = [n.message for n in app._notifications]
        assert any("disable rule: cannot change anything here" in m and "demo" in m for m in messages), messages
        assert not isinstance(app.screen, PlanScreen)

    run(demo_app(BLOCKED), body)


def test_u_is_hidden_on_a_demo_and_dimmed_when_read_only():
    async def body(app, pilot):
        assert app.check_action("undo_last", ()) is False  # not in the footer: nothing to undo in a demo
        await pilot.press("u")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, PlanScreen) and not app._notifications

    run(demo_app(BLOCKED), body)

    def live_demo():
        return demos.load(BLOCKED)

    live_demo.live = True

    async def read_only(app, pilot):
        assert app.check_action("undo_last", ()) is None  # dimmed
        app.action_undo_last()  # as the command palette would
        await pilot.pause(0.1)
        messages = [n.message for n in app._notifications]
        assert any("undo the last change: cannot change anything here: read-only" in m for m in messages), messages

    run(make_app({"linux": live_demo}, read_only=True, refresh=0), read_only)


def test_read_only_live_app_shows_plans_but_refuses_them():
    def live_demo():
        return demos.load(BLOCKED)

    live_demo.live = True  # as live_sources() marks the live probes

    async def body(app, pilot):
        assert app.live and "read-only" in app.change_refusal()
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("f")
        screen = await _wait_for_plan(pilot)
        assert "read-only" in screen.refusal

    run(make_app({"linux": live_demo}, read_only=True, refresh=0), body)


def test_windows_keys_are_dimmed_and_refused_on_a_demo():
    async def body(app, pilot):
        await pilot.press("8")
        await settle(pilot)
        panel = app.panel("windows")
        for action in ("toggle_rule", "add_allow", "add_hyperv_allow"):
            assert panel.check_action(action, ()) is None, action
        # The panel's own keys keep their rule (one check_action once hid the other).
        assert panel.check_action("sort", ()) is True and panel.check_action("toggle_relevant", ()) is True
        panel._rows = []
        assert panel.check_action("sort", ()) is None
        assert not isinstance(app.screen, PlanScreen)

    run(demo_app(BLOCKED), body)


def test_space_on_a_windows_rule_shows_the_elevated_plan_and_y_applies_it(windows):
    """Live (a demo marked live) with the stand-in Windows tools of tests/test_actions_windows.py:
    the plan runs through the elevated PowerShell and the stand-in's rule really changes."""

    def live_demo():
        return demos.load(BLOCKED)

    live_demo.live = True

    async def body(app, pilot):
        await pilot.press("8")
        await settle(pilot)
        panel = app.panel("windows")
        table = panel.query_one("#windows-rules")
        row = next(r for r in panel._rows if r.firewall == "Windows" and r.rule.source != "gpo" and r.rule.id)
        table.focus()
        table.move_cursor(row=table.get_row_index(row.key))
        was = 1 if row.rule.enabled else 2
        windows.set_rules({row.rule.id: {"enabled": was}})
        await pilot.press("space")
        screen = await _wait_for_plan(pilot)
        verb = "Disable" if row.rule.enabled else "Enable"
        assert f"{verb}-NetFirewallRule -Name" in screen.plan.describe() and screen.refusal is None
        await pilot.press("y")
        for _ in range(500):
            await pilot.pause(0.02)
            if app.screen is not screen:
                break
        assert app.screen is not screen, screen.query_one("#plan-status").render()
        assert windows.rules()[row.rule.id]["enabled"] == 3 - was

    run(make_app({"linux": live_demo}, refresh=0), body)


def test_ufw_rules_are_rows_and_space_plans_for_the_selected_one(golden):
    """ufw's rules (the real ufw-active capture) are a table; on a snapshot file the keys are
    dimmed, and space refuses before reading the live rules."""
    from wsltui import snapshot

    snap = snapshot.load(golden / "ufw-active")

    async def body(app, pilot):
        await pilot.press("7")
        await settle(pilot)
        panel = app.panel("ufw")
        rules = app.analysis.facts.ufw.rules
        assert rules and [r.text for r in panel.rows.values()] == [r.text for r in rules]
        table = panel.query_one("#ufw-rules")
        table.focus()
        table.move_cursor(row=1)
        assert panel._selected() is rules[1]
        assert panel.check_action("disable_rule", ()) is None
        panel.action_disable_rule()
        await pilot.pause(0.1)
        assert any("disable ufw rule: cannot change anything here" in n.message for n in app._notifications)

    run(make_app(lambda: snap, label="ufw-active"), body)


def test_firewalld_zone_entries_are_tree_leaves_and_space_plans_for_the_selected_one():
    async def body(app, pilot):
        await pilot.press("6")
        await settle(pilot)
        panel = app.panel("firewalld")
        zone = next(z for z in app.analysis.facts.firewalld.zones if z.name == "public")
        items = {(i.zone, i.kind, i.value) for i in panel.items.values()}
        assert {("public", "service", s) for s in zone.services} <= items
        assert {("public", "port", p.text) for p in zone.ports} <= items
        tree = panel.query_one("#firewalld-tree")
        line = next(n for n in range(tree.last_line + 1) if tree.get_node_at_line(n) is not None
                    and tree.get_node_at_line(n).id in panel.items)
        tree.cursor_line = line
        await pilot.press("space")
        await pilot.pause(0.1)
        assert any("disable firewalld" in n.message and "demo" in n.message for n in app._notifications)

    run(demo_app(BLOCKED), body)
