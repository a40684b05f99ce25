"""The live probe path end to end: `wsltui snapshot` inside a namespace with real firewalls and
listeners, then `wsltui facts --from` on what it wrote."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from oracle import Listeners, in_netns
from realtools import REPO, Firewalld, netns_pair, ns_run

from wsltui import snapshot
from wsltui.cli import main
from wsltui.facts import build_facts
from wsltui.records import LINUX_PROBES

pytestmark = pytest.mark.realtools


@pytest.fixture
def pair():
    with netns_pair("wc", 120) as p:
        yield p


def test_snapshot_with_firewalld_iptables_and_listeners(pair, tmp_path, capsys):
    fw = Firewalld(pair.srv)
    try:
        fw.cmd("--permanent", "--new-zone=wsl")
        fw.cmd("--permanent", "--zone=wsl", "--add-source=10.77.120.0/24")
        fw.cmd("--reload")
        fw.cmd("--zone=public", "--add-port=8080/tcp")
        ns_run(pair.srv, ["iptables-legacy", "-A", "INPUT", "-p", "tcp", "--dport", "9090", "-j", "DROP"])
        ns_run(pair.srv, ["iptables-nft", "-N", "WSLTEST"])
        ns_run(pair.srv, ["iptables-nft", "-A", "WSLTEST", "-p", "udp", "--dport", "5353", "-j", "ACCEPT"])
        with in_netns(pair.srv):
            listeners = Listeners([8080, 9090])
        try:
            pair.snapshot(tmp_path / "dir", env=fw.env, binds=fw.binds)
            ns_run(
                pair.srv,
                [sys.executable, "-m", "wsltui", "snapshot", "-o", str(tmp_path / "snap.json")],
                env={"PYTHONPATH": str(REPO), **fw.env},
                binds=fw.binds,
            )
        finally:
            with in_netns(pair.srv):
                listeners.close()
    finally:
        fw.stop()

    for where in (tmp_path / "dir", tmp_path / "snap.json"):
        snap = snapshot.load(where)
        assert {p.name for p in LINUX_PROBES} <= set(snap.records)
        facts = build_facts(snap)
        assert facts.failures == {}
        assert facts.firewalld.running is True and facts.firewalld.default_zone == "public"
        assert "8080" in [p.port for p in facts.firewalld.zone("public").ports]
        assert [z.sources for z in facts.firewalld.active_zones if z.name == "wsl"] == [["10.77.120.0/24"]]
        legacy = facts.iptables.iptables_legacy.table("filter").chain("INPUT").rules
        assert [r.verbatim for r in legacy] == ["-A INPUT -p tcp -m tcp --dport 9090 -j DROP"]
        chain = facts.iptables.iptables_nft.table("filter").chain("WSLTEST")
        assert chain is not None and chain.rules[0].verbatim == "-A WSLTEST -p udp -m udp --dport 5353 -j ACCEPT"
        assert any(t.name == "firewalld" and t.family == "inet" for t in facts.nft.tables)
        ports = {(l.proto, l.address, l.port) for l in facts.sockets.listeners}
        assert {("tcp", "0.0.0.0", 8080), ("udp", "0.0.0.0", 9090), ("tcp", "::", 8080)} <= ports

    assert main(["facts", "--from", str(tmp_path / "dir")]) == 0
    out = capsys.readouterr().out
    assert "public" in out and "WSLTEST" in out and "9090" in out


def test_snapshot_without_system_bus_or_interop(pair, tmp_path):
    """firewalld is not asked when there is no system bus; Windows records say why they are missing."""
    out = tmp_path / "s.json"
    r = subprocess.run(
        ["ip", "netns", "exec", pair.srv, sys.executable, "-m", "wsltui", "snapshot", "-o", str(out)],
        env={**os.environ, "PYTHONPATH": str(REPO), "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/bus"},
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    snap = snapshot.load(out)
    state = snap.get("firewalld.state")
    assert state.error == "no system D-Bus: /nonexistent/bus does not exist"
    assert build_facts(snap).firewalld.state == "no-bus"
    wslconfig = snap.get("wsl.wslconfig")
    assert wslconfig.error and "interop" in wslconfig.error
