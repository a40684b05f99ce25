"""The live test in the app: Flow's `l` runs it in a worker (never on the UI thread) and shows
"testing…", then the reconciliation under the trace with the settled hops marked observed; a demo
says what it would do and runs nothing; a snapshot holding live records shows each disagreement
class in Flow and Status.

The Windows side is real-shaped data: the observations are ``facts.live`` records. Where a test
must run a live test, the app's runner is a stand-in that hands back such an observation (the
real machinery, ``wsltui.live.run_live``, is proven against the kernel in tests/test_live_*.py)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from rich.console import Console

from wsltui import demos
from wsltui.facts.live import DATA, ClientOutcome, LinuxWatch, Observation, to_record
from wsltui.snapshot import Record
from wsltui.tui.app import file_source, make_app
from wsltui.tui.panels.flow import HopBox

from tests.tui.helpers import HEALTHY, demo_app, run, settle, until

OTHER_RULE = "nft inet filter chain input, rule 2 (handle 7)"


def observation(scenario: str, outcome: str, *, after=None, reached=None, verdict=None, rule=None, reply=None):
    return Observation(
        scenario=scenario,
        proto="tcp",
        port=8080,
        started="2026-12-02T06:40:00+00:00",
        client=ClientOutcome("windows", outcome, elapsed_ms=12 if outcome != "timeout" else 3001, after_connect=after),
        linux=LinuxWatch("nft-trace", reached_linux=reached, verdict=verdict, rule=rule, reply=reply),
    )


SETTLED = observation("windows-to-wsl-ip", "connected", after=DATA, reached=True, verdict="accept", reply="syn-ack")
NEVER = observation("windows-localhost-v4", "timeout", reached=False, reply="none")


def _text(widget) -> str:
    console = Console(width=200, record=True, file=open(os.devnull, "w"))
    console.print(widget.renderable if hasattr(widget, "renderable") else widget.content)
    return console.export_text()


def _flow_live_text(app) -> str:
    boxes = app.panel("flow").query(".live")
    return _text(boxes.last()) if boxes and boxes.last().display else ""


def _status_text(app) -> str:
    return _text(app.panel("status").query_one("#status-body"))


def test_on_a_demo_l_says_what_it_would_do_and_runs_nothing():
    async def body(app, pilot):
        app.live_runner = lambda *a: (_ for _ in ()).throw(AssertionError("a demo ran a live test"))
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("l")
        text = await until(pilot, lambda: _flow_live_text(app), "the live note")
        assert "demo: read-only — nothing will run" in text and "powershell.exe" in text
        assert "Skipped here: the connection, the trace table" in text
        assert not app.live_testing and not app.live_records

    run(demo_app(), body)


def _snapshot_app(snapshot_dir, *observations: Observation, broken: bool = False):
    records = [to_record(obs, ("powershell.exe", "<live connect>"), 3.0) for obs in observations]
    if broken:
        records.append(Record("live.tcp-8080-windows-localhost-v6", ("powershell.exe",), "{not json"))
    path = snapshot_dir(HEALTHY, *records)
    return make_app(file_source(str(path)), label=str(path))


def test_a_snapshot_with_live_records_shows_each_class_in_flow_and_status(snapshot_dir):
    async def body(app, pilot):
        status = _status_text(app)
        assert "Live tests" in status and "model agrees" in status
        assert "model disagrees: never reached Linux" in status
        assert "live.tcp-8080-windows-localhost-v6: unknown" in status  # the broken record, said
        app.open_flow("windows-to-wsl-ip", 8080, "tcp")
        await settle(pilot)
        text = await until(pilot, lambda: _flow_live_text(app), "the reconciliation")
        assert "Model and reality agree" in text and "observed: allowed" in text
        titles = {box.hop.layer: str(box.border_title) for box in app.query(HopBox)}
        assert titles["hyperv-firewall"].endswith("● observed: allowed")  # the assumed hop, settled
        assert "observed" not in titles["netfilter"]
        app.open_flow("windows-localhost-v4", 8080, "tcp")
        text = await until(
            pilot,
            lambda: "never reached Linux" in _flow_live_text(app) and _flow_live_text(app),
            "the never-reached class",
        )
        assert "Model and reality disagree" in text and "VPN" in text

    run(_snapshot_app(snapshot_dir, SETTLED, NEVER, broken=True), body)


@dataclass(frozen=True)
class Result:
    """What ``wsltui.live.run_live`` returns (LiveResult): the observation and its record."""

    observation: Observation
    record: Record


def test_l_runs_in_a_worker_shows_testing_then_the_observation():
    release, calls = threading.Event(), []

    def runner(world, scenario, trace, read_only):
        calls.append((threading.current_thread() is threading.main_thread(), scenario.name, scenario.port, read_only))
        release.wait(10)
        obs = observation(scenario.name, "connected", after=DATA, reached=True, verdict="accept", reply="syn-ack")
        return Result(obs, to_record(obs, ("powershell.exe", "<live connect>"), 0.1))

    def linux():
        return demos.load(HEALTHY)

    linux.live = True  # the app takes it for the live system (as live_sources() marks its probes)

    async def body(app, pilot):
        app.live_runner = runner
        app.open_flow("windows-to-wsl-ip", 8080, "tcp")
        await settle(pilot)
        await pilot.press("l")
        text = await until(pilot, lambda: "testing…" in _flow_live_text(app) and _flow_live_text(app), "testing…")
        assert calls == [(False, "windows-to-wsl-ip", 8080, False)]  # a worker thread, with this flow
        await pilot.press("1")  # Status says it too, meanwhile
        await pilot.pause()
        assert "testing…" in _status_text(app)
        await pilot.press("2")
        release.set()
        text = await until(
            pilot,
            lambda: "Model and reality agree" in _flow_live_text(app) and _flow_live_text(app),
            "the reconciliation",
        )
        assert "observed connects (connected, then data) after 12 ms" in text
        titles = {box.hop.layer: str(box.border_title) for box in app.query(HopBox)}
        assert titles["hyperv-firewall"].endswith("● observed: allowed")
        assert "live.tcp-8080-windows-to-wsl-ip" in app.live_records
        assert app.analysis.live_test("windows-to-wsl-ip", 8080, "tcp") is not None  # in the snapshot: w reports it

    run(make_app({"linux": linux}, refresh=0), body)
