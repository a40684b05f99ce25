"""Each disagreement class on real packets: the Windows path of a live test through the stand-in
powershell.exe (a real connect from a client namespace standing for Windows into the server
namespace standing for WSL, as in tests/live/test_live_windows.py), reconciled with the model's trace,
then saved into the snapshot and replayed by ``check --from`` (text, JSON) and ``report``."""

from __future__ import annotations

import json

import pytest


from realtools import nft_table  # noqa: E402
from test_live_windows import WINDOWS_SIDE_DROP, WSL_KERNEL, live, pair, windows, windows_env  # noqa: E402,F401  (fixtures)

from wsltui import snapshot  # noqa: E402
from wsltui.facts import build_facts  # noqa: E402
from wsltui.facts.live import to_record  # noqa: E402
from wsltui.simulation.reconcile import DIFFERENT_RULE, NEVER_REACHED_LINUX, reconcile  # noqa: E402
from wsltui.simulation.simulate import World  # noqa: E402

from clirun import plain_env, run  # noqa: E402,F401  (plain_env is an autouse fixture)

pytestmark = pytest.mark.realtools


@pytest.fixture(scope="module")
def snap_dir(pair, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reconcile-windows")
    path = pair.snapshot(tmp / "snap", env=windows_env(pair, tmp / "state"))
    (path / "kernel.osrelease.txt").write_text(WSL_KERNEL)
    return path


@pytest.fixture(scope="module")
def world(snap_dir):
    return World.from_facts(build_facts(snapshot.load(snap_dir)))


def replayed(capsys, snapshot_dir, snap_dir, obs) -> tuple[dict, str, dict]:
    """The snapshot with the live record: check --from's observed object and text, report's JSON."""
    path = snapshot_dir(snap_dir, to_record(obs, ("powershell.exe", "<live connect>"), 1.0))
    argv = ("8080", "--scenario", obs.scenario, "--from", str(path))
    _, out, _ = run(capsys, "check", *argv, "--json")
    _, text, _ = run(capsys, "check", *argv)
    _, report, _ = run(capsys, "report", "--format", "json", "--from", str(path))
    return json.loads(out)["observed"], text, json.loads(report)


def test_reaching_linux_settles_the_windows_hops_the_model_could_not_decide(
    capsys, pair, world, snap_dir, snapshot_dir
):
    trace, obs = live(pair, world, listen=True)
    r = reconcile(trace, obs)
    undecided = [h.layer for h in trace.hops[:2] if h.verdict in ("unknown", "assumed")]
    assert undecided and r.agrees is True and r.reached_linux is True
    assert [s.layer for s in r.settled] == undecided and all(s.observed == "allowed" for s in r.settled)
    observed, text, report = replayed(capsys, snapshot_dir, snap_dir, obs)
    assert observed["agrees"] is True and [s["layer"] for s in observed["settled"]] == undecided
    assert "Model and reality agree" in text and "observed: allowed" in text
    assert [x["observed"]["agrees"] for x in report["live"]] == [True]


def test_a_windows_side_drop_is_never_reached_linux(capsys, pair, world, snap_dir, snapshot_dir):
    with nft_table(pair.cli, "inet win", WINDOWS_SIDE_DROP):
        trace, obs = live(pair, world, listen=True)
    r = reconcile(trace, obs)
    assert (r.agrees, r.disagreement, r.reached_linux) == (False, NEVER_REACHED_LINUX, False)
    observed, text, report = replayed(capsys, snapshot_dir, snap_dir, obs)
    assert observed["disagreement"] == NEVER_REACHED_LINUX and "netsh wfp show state" in observed["meaning"]
    assert "never reached Linux" in text
    assert report["live"][0]["observed"]["disagreement"] == NEVER_REACHED_LINUX


def test_a_rule_the_snapshot_does_not_know_is_a_different_rule(capsys, pair, world, snap_dir, snapshot_dir):
    """The ruleset changed after the snapshot: the kernel drops by a rule the model never saw."""
    with nft_table(pair.srv, "inet late", "chain input { type filter hook input priority 0; tcp dport 8080 drop; }"):
        trace, obs = live(pair, world, listen=True)
    r = reconcile(trace, obs)
    assert (r.agrees, r.disagreement, r.reached_linux) == (False, DIFFERENT_RULE, True), r.meaning
    assert obs.linux.verdict == "drop" and r.symptom == "timeout"
    assert "drop in nft inet late input" in r.meaning and r.deciding_rule is None  # a chain the snapshot lacks
    observed, text, report = replayed(capsys, snapshot_dir, snap_dir, obs)
    assert observed["disagreement"] == DIFFERENT_RULE and "model bug" in observed["meaning"]
    assert "a different rule decided" in text
    assert report["live"][0]["observed"]["disagreement"] == DIFFERENT_RULE
