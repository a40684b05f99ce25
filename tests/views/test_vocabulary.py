"""One vocabulary: every demo's output (``check`` for every listener and scenario, ``report``
as text and Markdown, and the app's panels) is scanned for the forms wsltui does not say: a
verdict id or a second spelling of a verdict word, a doubled ``unknown``, ``? ?`` for
not-applicable, firewalld's ``%%REJECT%%``, ``rule(s)`` plurals, internal scenario ids in prose,
"no blocker found" (a layer that was not evaluated has no verdict), and the LAN router called
Windows in mirrored mode."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from wsltui import demos, report
from wsltui.facts import build_facts
from wsltui.simulation.simulate import Scenario, World, simulate
from wsltui.tui.app import demo_source, make_app
from wsltui.tui.panels import PANEL_INFO
from wsltui.tui.report import wait_until_ready
from wsltui.views.scenarios import FLOW_SCENARIOS
from wsltui.views.console import make_console
from wsltui.views.trace_text import print_trace

BANNED = {
    "a verdict id": re.compile(r"\bno-listener\b|\bnot-applicable\b"),
    "a second spelling of NO LISTENER": re.compile(r"NO-LISTENER|\bNo listener\b"),
    "a doubled unknown": re.compile(r"unknown\s+unknown\b", re.I),
    "? ? for not-applicable": re.compile(r"\?\s+\?"),
    "firewalld's %%REJECT%%": re.compile(r"%%REJECT%%"),
    "a (s) plural": re.compile(r"\w\(s\)"),
    "n/a (the dash says it)": re.compile(r"\bn/a\b"),
    "no blocker found": re.compile(r"no blocker found", re.I),
    # Scenario ids are words of the command line: in prose people read the scenario's description.
    "a scenario id in prose": re.compile(
        r"\((?:see )?(?:windows-localhost-v[46]|windows-to-wsl-ip|windows-to-host-ip|"
        r"lan-to-host|lan-to-wsl-ip|wsl-to-windows)\)"
    ),
}


def banned_forms(text: str) -> list[str]:
    return [
        f"{what}: {m.group(0)!r} in {text[max(0, m.start() - 60) : m.end() + 60]!r}"
        for what, pattern in BANNED.items()
        for m in pattern.finditer(text)
    ]


def check_outputs(name: str) -> str:
    """`wsltui check` for every listener x every Flow scenario of a demo, and the plan `f` (or
    `wsltui fix --dry-run`) shows for each blocked one."""
    from wsltui.actions import plan_for_trace

    facts = build_facts(demos.load(name))
    world = World.from_facts(facts)
    console = make_console(width=160, record=True, force_terminal=False)
    ports = sorted({(l.proto, l.port) for l in facts.sockets.listeners}) or [("tcp", 8080)]
    plans = []
    with console.capture() as cap:
        for proto, port in ports:
            for sc in FLOW_SCENARIOS:
                trace = simulate(world, Scenario(sc, port, proto))
                print_trace(trace, console)
                if trace.blockers:
                    plans.append(plan_for_trace(trace, {"name": sc}).describe())
    return cap.get() + "\n".join(plans)


@pytest.mark.parametrize("name", demos.names())
def test_check_and_reports_of_every_demo_use_one_vocabulary(name):
    rep = report.build(demos.load(name))
    outputs = {"check": check_outputs(name), "text": report.render(rep, "text"), "md": report.render(rep, "md")}
    found = {kind: banned_forms(text) for kind, text in outputs.items()}
    assert not any(found.values()), json.dumps(found, indent=1, ensure_ascii=False)


def screen_text(app) -> str:
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return "\n".join("".join(seg.text for strip in line for seg in strip if not seg.control) for line in update.strips)


def panel_screens(name: str) -> dict[str, str]:
    """The text of every panel of the app on a demo, at 120x30 (scrolled areas grown to fit)."""
    app = make_app(demo_source(name), demo=name)
    screens: dict[str, str] = {}

    async def main():
        async with app.run_test(size=(160, 200)) as pilot:
            await wait_until_ready(pilot)
            for info in PANEL_INFO:
                app.action_panel(info.key)
                await wait_until_ready(pilot)
                await pilot.pause(0.05)
                screens[info.key] = screen_text(app)

    asyncio.run(main())
    return screens


@pytest.mark.parametrize("name", demos.names())
def test_every_panel_of_every_demo_uses_one_vocabulary(name):
    screens = panel_screens(name)
    assert all(screens.values())
    found = {key: banned_forms(text) for key, text in screens.items()}
    assert not any(found.values()), json.dumps(found, indent=1, ensure_ascii=False)
    if "mirrored" in name:
        assert "Windows (gateway)" not in screens["status"]  # mirrored: the gateway is the LAN's router


def test_the_scan_finds_what_it_bans():
    for bad in (
        "NO-LISTENER",
        "unknown unknown: x",
        "? ?",
        "%%REJECT%%",
        "3 rule(s)",
        "no blocker found",
        "n/a",
        "verdict no-listener",
        "(see windows-localhost-v4)",
    ):
        assert banned_forms(bad), bad
    assert not banned_forms("NO LISTENER · – · REJECT · 3 rules · wsltui check --scenario lan-to-host")
