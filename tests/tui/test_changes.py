"""Changes from the keyboard (wsltui/tui/changes.py): every change is a plan in a dialog and
nothing runs without y; a demo, a snapshot file or --read-only can show a plan but never apply
it. (Applying itself is proven with the real tools in tests/test_actions*.py.)"""

from __future__ import annotations

from wsltui import demos
from wsltui.tui.app import make_app
from wsltui.tui.changes import PlanScreen

from tests.actions.test_actions_windows import windows  # noqa: F401 (the stand-in Windows fixture)
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


DEMO_MARK = "demo: read-only — nothing will run"


async def _preview(app, pilot, key: str) -> str:
    """Press ``key``: a read-only plan dialog must open (apply dimmed, y does nothing); its text."""
    await pilot.press(key)
    screen = await _wait_for_plan(pilot)
    assert screen.refusal == DEMO_MARK and DEMO_MARK in str(screen.query_one("#plan-title").render())
    assert screen.check_action("apply", ()) is None
    await pilot.press("y")
    await pilot.pause()
    assert app.screen is screen and not screen.busy  # nothing ran
    text = screen.plan.describe()
    await pilot.press("escape")
    await pilot.pause()
    assert not isinstance(app.screen, PlanScreen)
    return text


def test_rule_keys_on_a_demo_show_a_read_only_plan_without_reading_this_machine():
    async def body(app, pilot):
        assert "read-only demo" in str(app.main_screen.query_one("#topbar").render())
        await pilot.press("5")
        await settle(pilot)
        panel = app.panel("netfilter")
        tree = panel.query_one("#netfilter-tree")
        rule_line = next(
            line
            for line in range(tree.last_line + 1)
            if tree.get_node_at_line(line) is not None and tree.get_node_at_line(line).id in panel.rules
        )
        tree.cursor_line = rule_line
        rule = panel.rules[tree.get_node_at_line(rule_line).id]
        text = await _preview(app, pilot, "space")
        assert text.startswith("Disable nft ") and rule.text.split()[0] in text and "space puts it back" in text
        assert (await _preview(app, pilot, "d")).startswith("Delete nft ")
        assert "Allow tcp/3000 in nft" in await _preview(app, pilot, "a")
        await pilot.press("6")  # firewalld
        await settle(pilot)
        assert "Allow tcp/3000 in firewalld" in await _preview(app, pilot, "a")
        assert not app._notifications or all("cannot" not in n.message for n in app._notifications)

    run(demo_app(BLOCKED), body)


def test_u_on_a_demo_says_there_is_nothing_to_undo_in_a_read_only_plan(tmp_path, monkeypatch):
    async def body(app, pilot):
        assert app.check_action("undo_last", ()) is True
        assert "nothing to undo here: demo" in await _preview(app, pilot, "u")

    run(demo_app(BLOCKED), body)

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # an empty journal, never the user's

    def live_demo():
        return demos.load(BLOCKED)

    live_demo.live = True

    async def read_only(app, pilot):
        app.action_undo_last()  # reads the (empty) journal: changes nothing
        for _ in range(100):
            await pilot.pause(0.02)
            if app._notifications or isinstance(app.screen, PlanScreen):
                break
        messages = [n.message for n in app._notifications]
        assert any(m.startswith("undo the last change: ") for m in messages), messages

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


def test_windows_keys_on_a_demo_show_the_exact_powershell_read_only():
    async def body(app, pilot):
        await pilot.press("8")
        await settle(pilot)
        panel = app.panel("windows")
        # The panel's own keys keep their rule (one check_action once hid the other).
        assert panel.check_action("sort", ()) is True and panel.check_action("toggle_relevant", ()) is True
        rule = next(r.rule for r in panel._rows if r.key == panel.selected_key())
        text = await _preview(app, pilot, "space")
        verb = "Disable" if rule.enabled else "Enable"
        assert f"run:  {verb}-NetFirewall" in text and "undo: " in text
        assert "run:  New-NetFirewallRule -Name " in await _preview(app, pilot, "a")
        assert "run:  New-NetFirewallHyperVRule -Name " in await _preview(app, pilot, "A")
        panel._rows = []
        assert panel.check_action("sort", ()) is None

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
    read-only, and space shows what it does without reading this machine's rules."""
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
        panel.action_disable_rule()
        screen = await _wait_for_plan(pilot)
        assert screen.refusal == "snapshot ufw-active: read-only — nothing will run (not the live system)"
        assert screen.plan.describe().startswith(f"Disable ufw rule: {rules[1].text}:")
        assert screen.check_action("apply", ()) is None

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
        line = next(
            n
            for n in range(tree.last_line + 1)
            if tree.get_node_at_line(n) is not None and tree.get_node_at_line(n).id in panel.items
        )
        tree.cursor_line = line
        item = panel.items[tree.get_node_at_line(line).id]
        text = await _preview(app, pilot, "space")
        assert text.startswith(f"Disable firewalld zone {item.zone} {item.kind} {item.value}:")
        assert (await _preview(app, pilot, "d")).startswith("Delete firewalld zone")

    run(demo_app(BLOCKED), body)
