"""Which rule decided which hop (simulation/decided.py): the keys name the rule the facts hold,
so a view finds its row by equality; checked against the hop the simulator wrote."""

from __future__ import annotations

from wsltui import demos, snapshot
from wsltui.facts import build_facts
from wsltui.simulation.decided import decisions, ufw_rows
from wsltui.simulation.simulate import Scenario, World, simulate
from wsltui.simulation.trace import RuleKey

GOLDEN_UFW = "tests/golden/iptables-ufw"


def trace_of(snap, scenario: str, port: int):
    return simulate(World.from_facts(build_facts(snap)), Scenario(scenario, port, "tcp"))


def ufw_on_wsl():
    """The nat-healthy demo with the rules of a real ufw (iptables-nft) and its status."""
    snap = demos.load("nat-healthy")
    for name, record in snapshot.load(GOLDEN_UFW).records.items():
        if name.startswith(("nf.", "ufw.")):
            snap.add(record)
    return snap


def test_firewalld_reject_names_the_nft_rule_the_hop_quotes():
    snap = demos.load("nat-firewalld-reject")
    trace = trace_of(snap, "windows-to-wsl-ip", 8080)
    [d] = decisions(trace, "netfilter")
    hop = trace.hops[d.hop - 1]
    assert hop.blocks and d.blocks and hop is trace.first_blocker
    k = d.key
    assert (k.source, k.family, k.table, k.chain, k.verdict) == (
        "nft",
        "inet",
        "firewalld",
        "filter_IN_public",
        "reject",
    )
    assert (k.owner, k.zone, k.part) == ("firewalld", "public", None)
    # The key is the facts' own rule: the one the hop quotes verbatim.
    nft = build_facts(snap).nft
    table = next(t for t in nft.tables if (t.family, t.name) == (k.family, k.table))
    rule = next(c for c in table.chains if c.name == k.chain).rules[k.position - 1]
    assert rule.text == hop.rule and f"handle {rule.handle}" in hop.location


def test_an_accepted_packet_names_each_base_chains_accepting_rule_or_policy():
    trace = trace_of(demos.load("nat-firewalld-reject"), "windows-localhost-v4", 8080)
    found = decisions(trace, "netfilter")
    assert found and all(d.key.verdict == "accept" and not d.blocks for d in found)
    assert {d.hop for d in found} == {n for n, h in enumerate(trace.hops, 1) if h.layer == "netfilter"}
    input_rule = [d.key for d in found if d.key.chain == "filter_INPUT"]
    assert input_rule and input_rule[0].position is not None  # a rule let it in, not a policy
    assert all(d.key.zone is None for d in found)  # no zone decided it: firewalld's loopback accept


def test_hyperv_default_block_is_a_setting_not_a_rule():
    trace = trace_of(demos.load("mirrored-hyperv-lan"), "lan-to-host", 8080)
    [d] = decisions(trace)
    assert d.blocks and d.layer == "hyperv-firewall"
    assert d.key == RuleKey("hyperv", "drop", profile="Private", setting="DefaultInboundAction=Block")


def test_windows_allow_rule_is_named_by_its_id():
    snap = demos.load("lan-stale-portproxy")
    trace = trace_of(snap, "lan-to-host", 8080)
    found = decisions(trace, "windows")
    assert found and found[0].key.verdict == "accept" and found[0].key.rule_id
    rule = next(r for r in build_facts(snap).windows.rules if r.id == found[0].key.rule_id)
    assert rule.action == "allow" and rule.label in trace.hops[found[0].hop - 1].explanation


def test_ufw_rows_fit_exactly_one_status_line_per_user_rule():
    facts = build_facts(snapshot.load(GOLDEN_UFW))
    expect = {
        ("ipv4", 1): "8080/tcp",
        ("ipv4", 2): "8081/tcp",
        ("ipv4", 3): "22/tcp",
        ("ipv4", 8): "9000:9010/tcp",
        ("ipv4", 9): "7000/udp on gip46-a",
        ("ipv6", 2): "22/tcp (v6)",
        ("ipv6", 7): "7000/udp (v6) on gip46-a",
    }
    for (family, position), to in expect.items():
        chain = "ufw-user-input" if family == "ipv4" else "ufw6-user-input"
        key = RuleKey(
            "netfilter",
            "x",
            source="iptables-nft",
            family=family,
            table="filter",
            chain=chain,
            position=position,
            owner="ufw",
        )
        assert [r.dst.text for r in ufw_rows(facts, key)] == [to], (family, position)
    # limit rules are three iptables rules (recent --set, --update, accept): none names a status line by itself
    limit = RuleKey(
        "netfilter",
        "x",
        source="iptables-nft",
        family="ipv4",
        table="filter",
        chain="ufw-user-input",
        position=5,
        owner="ufw",
    )
    assert ufw_rows(facts, limit) == []


def test_ufw_decisions_on_wsl_reject_rule_and_default_policy():
    snap = ufw_on_wsl()
    facts = build_facts(snap)
    [reject] = decisions(trace_of(snap, "windows-to-wsl-ip", 22), "netfilter")
    assert reject.blocks and reject.key.owner == "ufw"
    assert [r.dst.text for r in ufw_rows(facts, reject.key)] == ["22/tcp"]
    [policy] = decisions(trace_of(snap, "windows-to-wsl-ip", 9999), "netfilter")
    assert policy.blocks and policy.key.position is None and policy.key.chain == "INPUT" and policy.key.owner == "ufw"
    assert ufw_rows(facts, policy.key) == []


def test_port_listeners_name_the_relay_portproxy_other_programs_and_idle_entries(tmp_path):
    from tests.simulation.test_windows_scenarios import PORTPROXY, WSL_IP, case, ps
    from wsltui.facts.base import Unknown
    from wsltui.simulation.windows import port_listeners

    listeners = [
        {"addr": "127.0.0.1", "port": 8080, "pid": 5120, "process": "wslrelay"},
        {"addr": "0.0.0.0", "port": 8080, "pid": 3712, "process": "svchost"},
        {"addr": "::", "port": 8080, "pid": 77, "process": "node"},
        {"addr": "0.0.0.0", "port": 9090, "pid": 78, "process": "other"},
    ]
    d = case(tmp_path / "a", powershell=ps(listeners=listeners), portproxy=PORTPROXY.format(target=WSL_IP))
    win = build_facts(snapshot.load(str(d))).windows
    found = port_listeners(win, 8080)
    assert [(x.kind, x.where) for x in found] == [
        ("relay", "127.0.0.1:8080 wslrelay (pid 5120)"),
        ("portproxy", "0.0.0.0:8080 svchost (pid 3712)"),
        ("program", "[::]:8080 node (pid 77)"),
    ]
    assert f"forwards 0.0.0.0:8080 to {WSL_IP}:8080" in found[1].meaning
    # The entry with nothing listening for it (iphlpsvc did not bind it) is said too.
    d = case(tmp_path / "b", powershell=ps(listeners=listeners[:1]), portproxy=PORTPROXY.format(target=WSL_IP))
    idle = port_listeners(build_facts(snapshot.load(str(d))).windows, 8080)
    assert [x.kind for x in idle] == ["relay", "entry"] and "nothing listens for it" in idle[1].meaning
    assert isinstance(port_listeners(None, 8080), Unknown)
