"""The Topology panel: snapshots of the map at 120×30 (Windows Terminal's default size) on the NAT,
mirrored and consomme demos, and the map following the Flow panel's connection.
Update baselines with ``pytest tests/tui/test_topology.py --snapshot-update`` after reviewing them."""

from __future__ import annotations

import pytest

from wsltui.tui.report import wait_until_ready

from wsltui.views.scenarios import scenario_text

from tests.tui.helpers import demo_app, run, settle

DESIGN_SIZE = (120, 30)


def heading(panel) -> str:
    """The map's first line as drawn: the mode, the port and the scenario."""
    return panel.query_one("#topology-map").render_line(0).text


def scenario_words(scenario: str, port: int) -> str:
    return scenario_text(scenario, port)[:40]


def _topology(flow_keys: tuple[str, ...] = ()):
    async def run_before(pilot) -> None:
        await wait_until_ready(pilot)
        if flow_keys:
            pilot.app.action_panel("flow")
            await settle(pilot)
            await pilot.press(*flow_keys)
            await settle(pilot)
        pilot.app.action_panel("topology")
        await settle(pilot)

    return run_before


@pytest.mark.parametrize("demo", ["nat-firewalld-reject", "lan-stale-portproxy", "mirrored-hyperv-lan", "consomme-lan"])
def test_topology_120x30(snap_compare, demo):
    assert snap_compare(demo_app(demo), terminal_size=DESIGN_SIZE, run_before=_topology())


def test_topology_80x24_stacks_the_boxes(snap_compare):
    assert snap_compare(demo_app("mirrored-hyperv-lan"), terminal_size=(80, 24), run_before=_topology())


def test_the_map_follows_the_flow_connection():
    async def body(app, pilot):
        await pilot.press("3")
        await settle(pilot)
        panel = app.panel("topology")
        scenario, port, _ = app.flow_target()
        assert panel.target == app.flow_target()
        assert scenario_words(scenario, port) in heading(panel)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("s")  # Flow: the next scenario
        await settle(pilot)
        assert app.flow_target()[0] != scenario
        await pilot.press("3")
        await settle(pilot)
        assert panel.target == app.flow_target()
        scenario, port, _ = app.flow_target()
        assert scenario_words(scenario, port) in heading(panel)

    run(demo_app("nat-firewalld-reject"), body)


def test_s_and_t_on_the_map_change_the_flow_connection_too():
    async def body(app, pilot):
        await pilot.press("3")
        await settle(pilot)
        panel = app.panel("topology")
        scenario, port, proto = app.flow_target()
        await pilot.press("s")
        await settle(pilot)
        moved = app.flow_target()
        assert moved[0] != scenario and moved[1:] == (port, proto)
        assert panel.target == moved and scenario_words(moved[0], port) in heading(panel)
        await pilot.press("t")
        await settle(pilot)
        assert app.flow_target()[2] != proto and f"{app.flow_target()[2]}/{port}" in heading(panel)
        await pilot.press("2")
        await settle(pilot)
        flow = app.panel("flow")
        assert (flow.scenario, flow.port, flow.proto) == app.flow_target() == panel.target

    run(demo_app("nat-firewalld-reject"), body)
