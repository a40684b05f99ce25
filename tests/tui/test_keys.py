"""Keys a person finds: `?` lists the current panel's keys first, the command palette finds every
action by the words people type ("fix", "undo"), and one letter means one thing in every panel."""

from __future__ import annotations

from textual.binding import Binding

from tests.tui.helpers import BLOCKED, demo_app, run, settle


async def _palette(app, pilot, query: str, found) -> bool:
    """Whether the palette's results for ``query`` (what a person sees after typing it) come to
    satisfy ``found`` (the search streams them in: the first batch may not hold them all)."""
    from textual.command import CommandList, CommandPalette

    await pilot.press("ctrl+p")
    for _ in range(100):
        await pilot.pause(0.02)
        if isinstance(app.screen, CommandPalette):
            break
    await pilot.press(*query)
    ok = False
    for _ in range(250):
        await pilot.pause(0.02)
        options = app.screen.query_one(CommandList)
        ok = found([str(options.get_option_at_index(i).prompt) for i in range(options.option_count)])
        if ok:
            break
    await pilot.press("escape")
    await pilot.pause()
    return ok


def test_the_palette_finds_fix_undo_report_screenshot_and_a_panels_keys():
    async def body(app, pilot):
        await settle(pilot)
        assert await _palette(app, pilot, "fix", lambda rs: any("Fix the blocker" in r for r in rs))
        assert await _palette(app, pilot, "undo", lambda rs: any("Undo the last change" in r for r in rs))
        assert await _palette(
            app,
            pilot,
            "report",
            lambda rs: any("redacted" in r for r in rs) and any("raw report and snapshot" in r for r in rs),
        )
        assert await _palette(app, pilot, "screenshot", lambda rs: any("Screenshot" in r for r in rs))
        assert await _palette(
            app, pilot, "hyper-v allow", lambda rs: any(r.startswith("Windows: Hyper-V allow") for r in rs)
        )

    run(demo_app(BLOCKED), body)


def test_a_panel_key_from_the_palette_runs_on_its_panel():
    from wsltui.tui.changes import PlanScreen

    async def body(app, pilot):
        await settle(pilot)
        app.panel_action("flow", "fix")  # what the palette's "Fix the blocker" runs
        for _ in range(200):
            await pilot.pause(0.02)
            if isinstance(app.screen, PlanScreen):
                break
        assert app.active_key == "flow" and isinstance(app.screen, PlanScreen)
        assert "firewall-cmd --zone=public --add-port=3000/tcp" in app.screen.plan.describe()

    run(demo_app(BLOCKED), body)


def test_help_lists_the_current_panels_keys_first_then_the_global_ones():
    from wsltui.tui.help import binding_rows

    async def body(app, pilot):
        await pilot.press("8")
        await settle(pilot)
        rows = binding_rows(app)
        wheres = [where for where, _, _ in rows]
        first_global = wheres.index("everywhere")
        assert set(wheres[:first_global]) == {"Windows"} and first_global >= 5
        assert "Windows" not in wheres[first_global:]  # all of it first (its enter and click rows too)
        assert set(wheres[first_global : first_global + wheres.count("everywhere")]) == {"everywhere"}
        # On a demo the change keys say they only show their plan.
        assert any(keys == "space" and "read-only here" in desc for where, keys, desc in rows if where == "Windows")
        await pilot.press("2")
        await settle(pilot)
        assert binding_rows(app)[0][0] == "Flow"

    run(demo_app(BLOCKED), body)


def test_one_meaning_per_letter_across_panels():
    """A letter bound in two panels does the same kind of thing in both (space, a, d: the rule
    changes; the vim keys), and no panel key shadows a global one."""
    from wsltui.tui.app import WslTuiApp
    from wsltui.tui.panels import PANELS

    # One meaning each (see README's keys): the rule changes, the vim keys, b (jump to what decides
    # the Flow packet), f (the fix plan) and l (the live test) of Flow and Status, and Flow's own
    # s/S/t, which the Topology map takes too (they change the one Flow target both show).
    shared = {"space", "a", "d", "escape", "j", "k", "g", "G", "b", "f", "l", "s", "S", "t"}
    seen: dict[str, set[str]] = {}
    for panel in PANELS:
        for b in panel.BINDINGS:
            if isinstance(b, Binding):
                for key in b.key.split(","):
                    seen.setdefault(key, set()).add(panel.TITLE)
    reused = {key for key, titles in seen.items() if len(titles) > 1}
    assert reused <= shared, reused - shared
    global_keys = {k for b in WslTuiApp.BINDINGS for k in b.key.split(",")}
    assert not (set(seen) & global_keys), set(seen) & global_keys
