"""Every blocker of a connection, not just the first: past a missing piece (no portproxy entry, a
stale one, a relay that cannot bind) the trace goes on as if that piece's fix were in place, so
the list of fixes is whole. The continued hops say so (``assumes_fix``); the first blocker and
the symptom stay those of the machine as it is."""

from __future__ import annotations

import pytest

from wsltui import demos
from wsltui.simulation.simulate import Scenario, World, simulate
from wsltui.analysis import analyze

# A blocker whose fix changes the path itself (the client's address, the server's bind, the
# networking mode): the trace cannot go on past it, it would be another scenario's path.
CHANGES_THE_PATH = {"socket", "client", "wsl"}


def trace(demo: str, scenario: str, port: int = 8080):
    return simulate(World.from_facts(analyze(demos.load(demo)).facts), Scenario(scenario, port))


def test_lan_behind_a_missing_portproxy_lists_the_linux_firewall_too():
    t = trace("nat-firewalld-reject", "lan-to-host")
    assert [b.layer for b in t.blockers] == ["windows-firewall", "portproxy", "netfilter"]
    assert t.first_blocker.layer == "windows-firewall" and t.symptom == "timeout"  # the machine as it is
    proxy = t.blockers[1]
    past = t.hops[t.hops.index(proxy) + 1 :]
    assert [h.layer for h in past] == ["hyperv-firewall", "netfilter", "socket"]
    assert all(h.assumes_fix == proxy.fixes[0].title for h in past) and all(t.fix_number(h) == 2 for h in past)
    assert all(h.assumes_fix is None for h in t.hops[: t.hops.index(proxy) + 1])
    firewalld = t.blockers[2].fixes[0]
    assert firewalld.commands == [
        "firewall-cmd --zone=public --add-port=8080/tcp",
        "firewall-cmd --permanent --zone=public --add-port=8080/tcp",
    ]
    # behind portproxy (a proxy that accepts first) the client may see an accepted-then-closed connection
    assert "empty reply" in t.blockers[2].alternatives
    doc = t.to_json()
    assert [h["assumes_fix"] for h in doc["hops"]][-3:] == [proxy.fixes[0].title] * 3


def test_a_stale_portproxy_is_fixed_whole_and_the_path_behind_it_is_traced():
    t = trace("lan-stale-portproxy", "lan-to-host")
    assert [b.layer for b in t.blockers] == ["portproxy"] and t.symptom == "timeout"
    fix = t.first_blocker.fixes[0]
    assert [c.split()[3] for c in fix.commands] == ["delete", "add"] and "172.28.165.23" in fix.commands[1]
    # the Windows firewall already allows the LAN ('WSL dev server 8080'): no fix is needed there
    assert t.hops[0].layer == "windows-firewall" and t.hops[0].verdict == "allow"
    assert t.hops[-1].layer == "socket" and t.hops[-1].verdict == "allow" and t.hops[-1].assumes_fix == fix.title


def test_a_relay_that_cannot_bind_is_traced_past():
    t = trace("nat-excluded-port", "windows-localhost-v4", 50000)
    relay = next(h for h in t.hops if h.layer == "localhost-relay")
    past = t.hops[t.hops.index(relay) + 1 :]
    assert [h.layer for h in past] == ["netfilter", "socket"] and all(h.assumes_fix for h in past)
    assert [b.layer for b in t.blockers] == ["excluded-ports"] and t.symptom == "refused"


def test_a_relay_that_has_no_reason_to_listen_is_not_traced_past():
    # a [::] dual-stack listener gets no 127.0.0.1 relay: the fix is the bind or the client, not a missing piece
    t = trace("nat-dual-stack", "windows-localhost-v4")
    assert t.hops[-1].layer == "localhost-relay" and not any(h.assumes_fix for h in t.hops)


@pytest.mark.parametrize("demo", demos.names())
def test_every_blocked_cell_has_a_fix_for_every_blocker_and_the_fixes_reach_the_listener(demo):
    a = analyze(demos.load(demo))
    for row in a.rows:
        for sc, t in row.traces.items():
            if t.reachable is not False:
                continue
            where = f"{demo} {row.target.endpoint} {sc}"
            assert all(b.fixes for b in t.blockers), where
            last = t.hops[-1]
            # After every fix the connection reaches the listener, or the last blocker's fix changes the path.
            reaches = last.layer == "socket" and last.verdict in ("allow", "assumed")
            assert reaches or (last is t.blockers[-1] and {f.front_end for f in last.fixes} <= CHANGES_THE_PATH), where
            # a continued hop names a fix of a blocker before it
            for h in t.hops:
                if h.assumes_fix is not None:
                    n = t.fix_number(h)
                    assert n is not None and t.hops.index(t.blockers[n - 1]) < t.hops.index(h), where
