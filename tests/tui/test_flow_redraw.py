"""Flow redraws in place and coalesces keys: a new scenario reuses the hop boxes already on
screen (no frame without them, no jump), and a burst of keys (a key held down on a loaded
machine) draws once for the target it ends on. Demo data only."""

from __future__ import annotations

from textual import events

from wsltui.tui.panels.flow import HopBox
from wsltui.views.scenarios import FLOW_SCENARIOS

from tests.tui.helpers import demo_app, run, settle


def test_a_new_scenario_is_drawn_in_the_boxes_already_there():
    async def body(app, pilot):
        app.open_flow(FLOW_SCENARIOS[0], 8080, "tcp")
        await settle(pilot)
        before = list(app.query(HopBox))
        await pilot.press("s")
        await settle(pilot)
        flow = app.panel("flow")
        assert flow.scenario == FLOW_SCENARIOS[1]
        after = list(app.query(HopBox))
        shared = min(len(before), len(after))
        assert shared and after[:shared] == before[:shared]  # the same widgets, new content
        assert [b.hop for b in after] == list(flow.trace.hops)

    run(demo_app(), body, size=(120, 30))


def test_a_burst_of_keys_draws_once_for_the_target_it_ends_on():
    async def body(app, pilot):
        app.open_flow(FLOW_SCENARIOS[0], 8080, "tcp")
        await settle(pilot)
        flow = app.panel("flow")
        draws = []
        draw = flow.draw
        flow.draw = lambda: (draws.append(flow.scenario), draw())  # counts, then draws as before
        for _ in range(30):  # queued faster than they are handled
            app.post_message(events.Key("s", "s"))
        await pilot.pause()
        await settle(pilot)
        end = FLOW_SCENARIOS[30 % len(FLOW_SCENARIOS)]
        assert flow.scenario == end and flow.trace.scenario == end
        assert draws[-1] == end and len(draws) <= 3, draws  # not 30

    run(demo_app(), body, size=(120, 30))
