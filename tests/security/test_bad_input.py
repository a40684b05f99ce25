"""Bad input never escapes as an exception, and the facts say what was not understood.

Real outputs (the goldens and the demos) are mutated — truncated, lines dropped or doubled,
bytes flipped, garbage inserted — and fed through every parser and the simulator."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsltui import demos, snapshot
from wsltui.facts import build_facts
from wsltui.facts.base import Unknown
from wsltui.simulation.simulate import SCENARIOS, Scenario, World, simulate
from wsltui.snapshot import Record

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
BASES = [snapshot.load(p) for p in sorted(GOLDEN.iterdir()) if p.is_dir()] + [demos.load(n) for n in demos.names()]
RECORDS = sorted({name for s in BASES for name in s.records})


@st.composite
def mutated(draw, text: str) -> str:
    lines = text.splitlines(keepends=True)
    kind = draw(st.sampled_from(["truncate", "drop", "double", "flip", "insert", "garbage"]))
    if kind == "truncate" and text:
        return text[: draw(st.integers(0, len(text)))]
    if kind == "drop" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        return "".join(lines[:i] + lines[i + 1 :])
    if kind == "double" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        return "".join(lines[: i + 1] + lines[i:])
    if kind == "flip" and text:
        i = draw(st.integers(0, len(text) - 1))
        return text[:i] + draw(st.characters()) + text[i + 1 :]
    if kind == "insert":
        i = draw(st.integers(0, len(text)))
        return text[:i] + draw(st.text(max_size=40)) + text[i:]
    return draw(st.text(max_size=200))


@st.composite
def broken_snapshot(draw):
    base = draw(st.sampled_from(BASES))
    snap = snapshot.Snapshot(records=dict(base.records))
    for name in draw(st.lists(st.sampled_from(RECORDS), min_size=1, max_size=4, unique=True)):
        rec = snap.records.get(name) or Record(name, (), "")
        snap.add(
            Record(
                name,
                rec.argv,
                draw(mutated(rec.stdout)),
                exit_code=draw(st.sampled_from([0, 0, 0, 1, 252, None])),
                stderr=draw(st.text(max_size=30)),
            )
        )
    return snap


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(broken_snapshot(), st.sampled_from(sorted(SCENARIOS)), st.integers(1, 65535), st.sampled_from(["tcp", "udp"]))
def test_mutated_outputs_never_raise(snap, scenario, port, proto):
    facts = build_facts(snap)
    assert facts.failures == {}, facts.failures
    facts.to_json()
    sc = Scenario(
        scenario,
        port,
        proto,
        ipaddress.ip_address("10.0.0.2") if scenario == "custom" else None,
        ipaddress.ip_address("10.0.0.1") if scenario == "custom" else None,
        "eth0" if scenario == "custom" else None,
    )
    trace = simulate(World.from_facts(facts), sc)
    trace.to_json()


# What each record feeds: garbage there must show up as unknown or as a problem.
def _said(section) -> bool:
    if section is None:
        return False
    if isinstance(section, Unknown) or getattr(section, "unknown", None) is not None:
        return True
    if getattr(section, "problems", None):
        return True
    return any(isinstance(v, Unknown) for v in vars(section).values()) if hasattr(section, "__dict__") else False


FEEDS = {
    "net.addr": lambda f: f.network,
    "net.route": lambda f: f.network,
    "net.sockets": lambda f: f.sockets,
    "nf.nft": lambda f: f.nft,
    "nf.iptables-nft": lambda f: f.iptables.iptables_nft,
    "nf.iptables-legacy": lambda f: f.iptables.iptables_legacy,
    "firewalld.zones": lambda f: f.firewalld,
    "ufw.status": lambda f: f.ufw,
    "wsl.wslconfig": lambda f: f.wsl.wslconfig,
    "wsl.networking-mode": lambda f: f.wsl,
}


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(sorted(FEEDS)),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=120).filter(
        lambda t: t.strip() != ""
    ),
)
def test_garbage_is_reported(name, garbage):
    base = demos.load("nat-firewalld-reject")
    snap = snapshot.Snapshot(records=dict(base.records))
    snap.add(Record(name, (), "@@ " + garbage + " {[<\n"))
    facts = build_facts(snap)
    assert facts.failures == {}
    assert _said(FEEDS[name](facts)), f"{name}: garbage was not reported"
