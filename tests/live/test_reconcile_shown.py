"""Each disagreement class as a person meets it: a snapshot directory holding a real-shaped
``live.*`` record (written by ``facts.live.to_record``), read back by ``check --from`` (text and
JSON) and by ``report`` (text, md, json) replayed from that directory. The app shows the same
(tests/tui/test_live.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wsltui.facts.live import DATA, ClientOutcome, LinuxWatch, Observation, to_record
from wsltui.snapshot import Record

from clirun import plain_env, run  # noqa: F401  (plain_env is an autouse fixture)

OTHER_RULE = "nft inet filter chain input, rule 2 (handle 7)"


def observation(
    scenario: str,
    outcome: str,
    *,
    after=None,
    reached=None,
    verdict=None,
    rule=None,
    reply=None,
    method="nft-trace",
    started="2026-12-02T06:40:00+00:00",
) -> Observation:
    return Observation(
        scenario=scenario,
        proto="tcp",
        port=8080,
        started=started,
        client=ClientOutcome("windows", outcome, elapsed_ms=12 if outcome != "timeout" else 3001, after_connect=after),
        linux=LinuxWatch(
            method,
            reached_linux=reached,
            verdict=verdict,
            rule=rule,
            reply=reply,
            lines=("trace id 9 inet wsltui_live prerouting packet: iif eth0",),
        ),
    )


# class -> (demo, scenario, observation, what check's text says)
CASES = {
    "never-reached-linux": (
        "nat-healthy",
        "windows-localhost-v4",
        observation("windows-localhost-v4", "timeout", reached=False, reply="none"),
        "never reached Linux",
    ),
    "different-rule": (
        "nat-firewalld-reject",
        "windows-to-wsl-ip",
        observation("windows-to-wsl-ip", "timeout", reached=True, verdict="drop", rule=OTHER_RULE, reply="none"),
        "a different rule decided",
    ),
    "settled": (
        "nat-healthy",
        "windows-to-wsl-ip",
        observation("windows-to-wsl-ip", "connected", after=DATA, reached=True, verdict="accept", reply="syn-ack"),
        "hop 2 hyperv-firewall: assumed → observed: allowed",
    ),
}


@pytest.fixture(scope="module")
def dirs(snapshot_dir) -> dict[str, Path]:
    return {
        name: snapshot_dir(demo, to_record(obs, ("powershell.exe", "<live connect>"), 3.2))
        for name, (demo, _, obs, _) in CASES.items()
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_from_shows_the_class(capsys, dirs, name):
    demo, scenario, obs, words = CASES[name]
    _, out, err = run(capsys, "check", "8080", "--scenario", scenario, "--from", str(dirs[name]))
    assert "Live test:" in out and words in out, out
    _, out, _ = run(capsys, "check", "8080", "--scenario", scenario, "--json", "--from", str(dirs[name]))
    observed = json.loads(out)["observed"]
    assert observed["record"] == obs.record_name and observed["elapsed_ms"] == obs.client.elapsed_ms
    if name == "settled":
        assert observed["agrees"] is True and observed["disagreement"] is None
        assert observed["settled"] == [
            {
                "hop": 2,
                "layer": "hyperv-firewall",
                "model": "assumed",
                "observed": "allowed",
                "because": "the packet reached Linux",
            }
        ]
    else:
        assert observed["agrees"] is False and observed["disagreement"] == name
    if name == "different-rule":
        assert observed["deciding_rule"]["location"] == OTHER_RULE and observed["reached_linux"] is True
    if name == "never-reached-linux":
        assert observed["reached_linux"] is False and observed["deciding_rule"] is None


@pytest.mark.parametrize("name", sorted(CASES))
def test_report_replayed_from_the_snapshot_shows_the_class(capsys, dirs, name):
    _, _, obs, words = CASES[name]
    _, text, _ = run(capsys, "report", "--from", str(dirs[name]))
    assert words in text and "live tests:" in text
    _, md, _ = run(capsys, "report", "--format", "md", "--from", str(dirs[name]))
    assert "**Live test: " in md and words in md
    _, out, _ = run(capsys, "report", "--format", "json", "--from", str(dirs[name]))
    (live,) = json.loads(out)["live"]
    assert (live["scenario"], live["port"]) == (obs.scenario, 8080)
    assert live["observed"]["disagreement"] == (None if name == "settled" else name)
    assert live["observation"]["client"]["outcome"] == obs.client.outcome


def test_a_check_of_another_flow_shows_no_observation(capsys, dirs):
    _, out, _ = run(capsys, "check", "8080", "--scenario", "lan-to-host", "--json", "--from", str(dirs["settled"]))
    assert "observed" not in json.loads(out)


def test_a_hand_broken_live_record_is_a_clear_unknown(capsys, snapshot_dir):
    broken = Record("live.tcp-8080-windows-to-wsl-ip", ("powershell.exe",), '{"version": 1, "client": []}')
    path = snapshot_dir(
        "nat-healthy",
        broken,
        Record("live.tcp-8080-bogus", ("x",), "not json at all"),
        wrong_type("live.tcp-8080-windows-localhost-v4"),
    )
    code, out, err = run(capsys, "check", "8080", "--scenario", "windows-to-wsl-ip", "--from", str(path))
    assert code == 0 and "Traceback" not in err
    assert "Live test live.tcp-8080-windows-to-wsl-ip: unknown — the live observation could not be read" in out
    _, out, _ = run(capsys, "check", "8080", "--scenario", "windows-to-wsl-ip", "--json", "--from", str(path))
    observed = json.loads(out)["observed"]
    assert observed["agrees"] is None and "could not be read" in observed["unknown"]
    for fmt in ("text", "md", "json"):
        code, out, err = run(capsys, "report", "--format", fmt, "--from", str(path))
        assert code == 0 and "live.tcp-8080-bogus" in out and "Traceback" not in err, fmt
        assert "live.tcp-8080-windows-localhost-v4" in out and "field of the wrong type" in out, fmt


def wrong_type(name: str) -> Record:
    """A real record whose kernel verdict was hand-edited into a list."""
    _, _, obs, _ = CASES["never-reached-linux"]
    doc = json.loads(to_record(obs, ("powershell.exe",), 1.0).stdout)
    doc["linux"]["verdict"] = ["drop"]
    return Record(name, ("powershell.exe",), json.dumps(doc))


def test_an_observation_older_than_the_snapshot_says_so(capsys, snapshot_dir):
    _, _, obs, _ = CASES["settled"]
    path = snapshot_dir(
        "nat-healthy", to_record(obs, ("powershell.exe",), 1.0), meta={"taken": "2026-12-02T09:45:00+00:00"}
    )
    _, out, _ = run(capsys, "check", "8080", "--scenario", "windows-to-wsl-ip", "--from", str(path))
    assert "observed 3 h 5 min before the snapshot was taken" in out
