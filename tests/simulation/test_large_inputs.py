"""Large inputs, at a size that runs fast: the shortcuts that keep a report linear in the number
of listeners (the listeners indexed by port, the JSON written without the standard library's
indent machinery) give exactly what the straightforward computation gives.

The full sizes (5,000 listeners, a 50 MB iptables-save) are measured by
bench/bench_large_inputs.py, which generates these inputs the same way."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsltui import demos, json_stream, report, snapshot
from wsltui.facts import build_facts, jsonable_one_level
from wsltui.facts.sockets import SocketFacts, parse_ss
from wsltui.simulation.simulate import Scenario, World, simulate
from wsltui.views.safe_text import json_text

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from bench_large_inputs import listeners_snapshot  # noqa: E402

SCENARIOS = ("windows-localhost-v4", "windows-localhost-v6", "windows-to-wsl-ip", "lan-to-host", "wsl-to-windows")


class ScannedSockets(SocketFacts):
    """The listeners looked up the straightforward way: every listener, every time."""

    def on_port(self, port, proto=None):
        return [l for l in self.listeners if l.port == port and (proto is None or l.proto == proto)]


def test_every_trace_of_500_listeners_is_the_straightforward_one(tmp_path):
    snap = listeners_snapshot(tmp_path, 500)
    facts = build_facts(snap)
    assert len(facts.sockets.listeners) == 500
    indexed = World.from_facts(facts)
    scanned_facts = build_facts(snap)
    scanned_facts.sockets = ScannedSockets(
        scanned_facts.sockets.listeners, scanned_facts.sockets.owners_visible, scanned_facts.sockets.problems
    )
    scanned = World.from_facts(scanned_facts)
    ports = sorted({(l.proto, l.port) for l in facts.sockets.listeners}) + [("tcp", 1), ("udp", 65535)]
    verdicts = set()
    for proto, port in ports:
        for sc in SCENARIOS:
            got = simulate(indexed, Scenario(sc, port, proto)).to_json()
            assert got == simulate(scanned, Scenario(sc, port, proto)).to_json(), (sc, proto, port)
            verdicts |= {h["verdict"] for h in got["hops"] if h["layer"] in ("socket", "localhost-relay")}
    assert {"allow", "no-listener"} <= verdicts  # the generated listeners reach both answers


def test_the_json_report_of_500_listeners_is_what_json_dumps_writes(tmp_path):
    rep = report.build(listeners_snapshot(tmp_path, 500))
    assert len(rep.rows) > 400 and not rep.errors
    text = report.render(rep, "json")
    assert text == json_text(report.to_json(rep)) + "\n"


def test_a_listener_list_replaced_after_a_lookup_is_looked_up_again():
    text = "tcp LISTEN 0 128 0.0.0.0:80 0.0.0.0:*\ntcp LISTEN 0 128 127.0.0.1:81 0.0.0.0:*\n"
    facts = parse_ss(text)
    assert [l.address for l in facts.on_port(80)] == ["0.0.0.0"]
    facts.listeners = parse_ss(text.replace(":80 ", ":81 ")).listeners
    assert facts.on_port(80) == [] and [l.address for l in facts.on_port(81, "tcp")] == ["0.0.0.0", "127.0.0.1"]
    facts.listeners.append(parse_ss("udp UNCONN 0 0 [::]:80 [::]:*\n").listeners[0])
    assert [(l.proto, l.address) for l in facts.on_port(80)] == [("udp", "::")] and facts.on_port(80, "tcp") == []


# --- json_stream is json_text (json.dumps(indent=1, ensure_ascii=False), inert), character for character


class Str(str):
    pass


class Int(int):
    pass


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text()
    | st.sampled_from([math.inf, -math.inf, -0.0, 1e300, "\u2028", "\x00", "é✅𝄞", '"\\'])
    | st.builds(Str, st.text(max_size=5))
    | st.builds(Int, st.integers())
)
keys = (
    st.text(max_size=8)
    | st.integers()
    | st.sampled_from([None, True, False, 1.5])
    | st.builds(Str, st.text(max_size=3))
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_json_stream_writes_what_json_text_writes(value):
    assert json_stream.dumps(value) == json_text(value)


def test_json_stream_refuses_what_json_dumps_refuses():
    for bad in ({"a": [object()]}, [{1j: 1}]):
        for dumps in (json_stream.dumps, lambda v: json.dumps(v, indent=1, ensure_ascii=False)):
            try:
                dumps(bad)
            except TypeError:
                continue
            raise AssertionError(f"{dumps} wrote {bad!r}")


GOLDEN = Path(__file__).resolve().parents[1] / "golden"
SNAPSHOTS = {p.name: p for p in sorted(GOLDEN.iterdir()) if p.is_dir()}


@pytest.mark.parametrize("name", sorted(SNAPSHOTS) + [f"demo:{d}" for d in demos.names()])
def test_facts_written_as_converted_are_the_converted_facts_written(name):
    snap = demos.load(name[5:]) if name.startswith("demo:") else snapshot.load(SNAPSHOTS[name])
    facts = build_facts(snap)
    assert json_stream.dumps(facts, convert=jsonable_one_level) == json_text(facts.to_json())
    rep = report.build(snap, facts=facts)
    assert report.render(rep, "json") == json_text(report.to_json(rep)) + "\n"


def test_facts_json_on_the_command_line_is_what_json_dump_wrote(capsys, tmp_path):
    from clirun import run

    snap = listeners_snapshot(tmp_path / "snap", 50)
    code, out, err = run(capsys, "facts", "--from", str(tmp_path / "snap"), "--json")
    assert code == 0, err
    assert out == json_text(build_facts(snap).to_json()) + "\n"


def test_json_stream_dump_to_a_file_in_batches_is_dumps():
    import io

    value = {"rows": [{"port": n, "name": f"p{n}", "ok": n % 3 == 0} for n in range(20000)]}  # > one batch
    out = io.StringIO()
    json_stream.dump(value, out)
    assert out.getvalue() == json_stream.dumps(value) == json_text(value)
