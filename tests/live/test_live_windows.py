"""The Windows path of a live test, end to end on real packets: the stand-in powershell.exe runs
wsltui's live connect script by making the real connect from a client namespace (standing for
Windows) into the server namespace (standing for WSL), and answers in the script's JSON.

The server's snapshot is captured with wsltui's own probes and the stand-in Windows tools; its
kernel release is set to a WSL2 one (a snapshot record, as a person would paste it), so the
machine is a WSL NAT machine whose Windows host is the client namespace (its default gateway)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from oracle import in_netns
from realtools import netns_pair, nft_table, ns_run

from wsltui import snapshot
from wsltui.facts import build_facts
from wsltui.facts.live import CONNECTED, DATA, ERROR, NOT_SENT, OUTCOME_TIMEOUT, parse_observation
from wsltui.live import LiveOptions, run_live
from wsltui.simulation.simulate import Scenario, World, simulate

pytestmark = pytest.mark.realtools

STANDINS = Path(__file__).resolve().parents[1] / "standins"
WSL_KERNEL = "6.6.87.2-microsoft-standard-WSL2\n"


@pytest.fixture(scope="module")
def pair():
    with netns_pair("lw", 160) as p:
        ns_run(p.srv, ["ip", "route", "add", "default", "via", p.cli_ip])
        yield p


def windows_env(pair, state: Path) -> dict:
    return {
        "PATH": f"{STANDINS}:{os.environ['PATH']}",
        "WSLTUI_INTEROP": "force",
        "STANDIN_MODE": "nat",
        "WSLTUI_STANDIN_CLIENT_NETNS": pair.cli,
        "XDG_STATE_HOME": str(state),
    }


@pytest.fixture(autouse=True)
def windows(monkeypatch, tmp_path, pair):
    for k, v in windows_env(pair, tmp_path / "state").items():
        monkeypatch.setenv(k, v)


@pytest.fixture(scope="module")
def world(pair, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("live-windows")
    snap_dir = pair.snapshot(tmp / "snap", env=windows_env(pair, tmp / "state"))
    (snap_dir / "kernel.osrelease.txt").write_text(WSL_KERNEL)
    w = World.from_facts(build_facts(snapshot.load(snap_dir)))
    assert w.mode == "nat"
    return w


def live(pair, world, port: int = 8080, **options):
    scenario = Scenario("windows-to-wsl-ip", port, "tcp")
    trace = simulate(world, scenario)
    with in_netns(pair.srv):
        result = run_live(world, scenario, trace, LiveOptions(**options))
    assert parse_observation(result.record.stdout) == result.observation  # the record reads back as it was
    return trace, result.observation


def test_windows_client_reaches_the_temporary_listener(pair, world):
    trace, obs = live(pair, world, listen=True)
    assert obs.client.sent_from == "windows" and obs.client.outcome == CONNECTED and obs.client.after_connect == DATA
    assert obs.listener == "temporary"
    assert obs.linux.reached_linux is True and obs.linux.reply == "syn-ack" and obs.linux.verdict == "accept"
    assert obs.client.dst == f"{pair.srv_ip}:8080"


# A drop in the client namespace stands for a Windows-side filter (a VPN, a third-party firewall).
WINDOWS_SIDE_DROP = "chain out { type filter hook output priority 0; tcp dport 8080 drop; }"


def test_a_windows_side_drop_never_reaches_linux(pair, world):
    """A drop in the client namespace stands for a Windows-side filter (a VPN, a third-party
    firewall): the client times out and the Linux watch saw nothing arrive."""
    with nft_table(pair.cli, "inet win", WINDOWS_SIDE_DROP):
        trace, obs = live(pair, world, listen=True)
    assert obs.client.outcome in (OUTCOME_TIMEOUT, "denied")
    assert obs.linux.method == "nft-trace" and obs.linux.reached_linux is False and obs.linux.reply == "none"


@pytest.mark.parametrize("mode", ["denied", "fail"])
def test_a_failing_powershell_is_an_error_never_an_outcome(pair, world, monkeypatch, mode):
    monkeypatch.setenv("STANDIN_POWERSHELL", mode)
    _, obs = live(pair, world, listen=True)
    assert obs.client.outcome == ERROR and obs.client.detail
    assert obs.linux.reached_linux is False  # nothing was sent


def test_lan_scenarios_say_what_cannot_be_sent(pair, world):
    scenario = Scenario("lan-to-wsl-ip", 8080, "tcp")
    with in_netns(pair.srv):
        result = run_live(world, scenario, simulate(world, scenario), LiveOptions())
    assert result.observation.client.outcome == NOT_SENT and "another machine" in result.observation.client.detail
