"""Changes from the keyboard (wsltui/tui/changes.py): every change is a plan in a dialog and
nothing runs without y; a demo, a snapshot file or --read-only can show a plan but never apply
it. (Applying itself is proven with the real tools in tests/test_actions*.py.)"""

from __future__ import annotations

from wsltui import demos
from wsltui.tui.app import make_app
from wsltui.tui.changes import PlanScreen

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
