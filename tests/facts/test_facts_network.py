"""Network facts from ``ip -j addr show`` / ``ip -j route show table all``, and the live netifaces check."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsltui import snapshot
from wsltui.facts import network
from wsltui.facts.base import Unknown
from wsltui.snapshot import Record, Snapshot

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def load(case: str) -> network.NetworkFacts:
    return network.from_snapshot(snapshot.load(GOLDEN / case))


def snap(addr: Record | str | None = None, route: Record | str | None = None) -> Snapshot:
    s = Snapshot()
    for name, r in (("net.addr", addr), ("net.route", route)):
        if r is not None:
            s.add(r if isinstance(r, Record) else Record(name, (), r))
    return s


def test_golden_wsl_nat():
    n = load("wsl-nat")
    assert [i.name for i in n.interfaces] == ["lo", "eth0"]
    eth0 = n.interface("eth0")
    assert eth0.up and eth0.lower_up and eth0.mtu == 1500 and eth0.mac == "00:15:5d:8a:3c:21"
    assert eth0.link_type == "ether" and eth0.index == 2
    v4 = [a for a in eth0.addresses if a.family == "ipv4"]
    assert [(a.address, a.prefix, a.scope, a.broadcast) for a in v4] == [
        ("172.29.48.123", 20, "global", "172.29.63.255")
    ]
    assert any(a.family == "ipv6" and a.scope == "link" for a in eth0.addresses)
    lo = n.interface("lo")
    assert {a.address for a in lo.addresses} == {"127.0.0.1", "10.255.255.254", "::1"}
    assert n.default_gateway_v4 == "172.29.48.1" and n.default_gateway_v6 is None
    assert n.default_interface == "eth0" and n.primary_interface == "eth0"
    assert n.primary_address == "172.29.48.123" and n.primary_address6 is None
    default = next(r for r in n.routes if r.dst == "default")
    assert (default.family, default.table, default.type, default.protocol, default.dev) == (
        "ipv4",
        "main",
        "unicast",
        "kernel",
        "eth0",
    )
    connected = next(r for r in n.routes if r.dst == "172.29.48.0/20")
    assert connected.prefsrc == "172.29.48.123" and connected.scope == "link"
    local = [r for r in n.routes if r.table == "local"]
    assert {r.type for r in local} == {"local", "broadcast", "multicast"}
    assert next(r for r in n.routes if r.dst == "::1").family == "ipv6"
    assert next(r for r in n.routes if r.dst == "fe80::/64").metric == 256
    assert n.problems == []
    json.dumps(dataclasses.asdict(n))


def test_golden_mirrored():
    n = load("wsl-mirrored")
    assert n.interface("loopback0") is not None and n.interface("loopback0").addresses == []
    eth1 = n.interface("eth1")
    assert eth1.up is False and eth1.operstate == "DOWN" and eth1.addresses == []
    assert n.default_gateway_v4 == "192.168.1.1" and n.default_gateway_v6 == "fe80::1"
    assert n.primary_address == "192.168.1.50"
    assert n.primary_address6 == "2a02:8108:1240:5b00:8d1e:2c4f:a1b2:c3d4"
    t127 = [r for r in n.routes if r.table == "127"]
    assert {(r.dst, r.gateway, r.dev) for r in t127} >= {("default", "169.254.73.249", "loopback0")}
    # only the main table's default counts as the default gateway
    assert n.default_interface == "eth0"


def test_golden_real_namespace():
    # captured by gen_sockets.py inside a real namespace: a veth, no default route
    n = load("sockets-listeners")
    names = [i.name for i in n.interfaces]
    assert names == ["lo", "gso-a"]
    veth = n.interface("gso-a")
    assert {(a.family, a.address, a.prefix) for a in veth.addresses if a.scope == "global"} == {
        ("ipv4", "10.77.70.1", 24),
        ("ipv6", "fd77:46::1", 64),
    }
    assert n.default_gateway_v4 is None and n.default_interface is None
    assert n.primary_interface is None and n.primary_address is None  # no eth0 and no default route
    assert {r.dst for r in n.routes if r.table == "main"} == {"10.77.70.0/24", "fd77:46::/64", "fe80::/64"}
    assert n.problems == []


def test_golden_route_failure_is_unknown_addr_still_used():
    n = load("wsl-wsl1")
    assert isinstance(n.routes, Unknown) and "exit code 255" in n.routes.reason
    assert [i.name for i in n.interfaces] == ["lo", "eth2"]
    assert n.primary_interface is None  # no eth0, and the default route is unknown
    assert n.default_gateway_v4 is None


def test_default_route_interface_when_no_eth0():
    addr = json.dumps(
        [
            {
                "ifname": "wlan0",
                "ifindex": 3,
                "flags": ["UP"],
                "addr_info": [{"family": "inet", "local": "10.1.2.3", "prefixlen": 24, "scope": "global"}],
            }
        ]
    )
    route = json.dumps(
        [
            {"dst": "default", "gateway": "10.1.2.1", "dev": "wlan0", "metric": 600},
            {"dst": "default", "gateway": "10.9.9.9", "dev": "wlan0", "metric": 50, "table": "100"},
            {"dst": "default", "gateway": "10.1.2.254", "dev": "wlan0", "metric": 100},
        ]
    )
    n = network.from_snapshot(snap(addr, route))
    assert n.default_gateway_v4 == "10.1.2.254"  # lowest metric in main
    assert n.primary_interface == "wlan0" and n.primary_address == "10.1.2.3"


def test_multipath_and_via():
    route = json.dumps(
        [
            {
                "dst": "default",
                "protocol": "static",
                "flags": [],
                "nexthops": [
                    {"gateway": "10.0.0.1", "dev": "eth0", "weight": 1, "flags": []},
                    {"gateway": "10.0.1.1", "dev": "eth1", "weight": 1, "flags": []},
                ],
            },
            {"dst": "default", "via": {"family": "inet6", "host": "fe80::1"}, "dev": "eth0", "flags": []},
        ]
    )
    n = network.from_snapshot(snap(None, route))
    assert n.default_gateway_v4 == "10.0.0.1" and n.default_interface == "eth0"
    assert n.routes[0].nexthops == ["10.0.0.1@eth0", "10.0.1.1@eth1"]
    assert n.routes[1].family == "ipv6" and n.default_gateway_v6 == "fe80::1"
    assert isinstance(n.interfaces, Unknown) and "not captured" in n.interfaces.reason


@pytest.mark.parametrize(
    "text,why",
    [
        ("", "printed nothing"),
        ("not json at all", "did not print JSON"),
        ('{"ifname": "eth0"}', "not a list"),
        ("[" * 5000 + "]" * 5000, ""),
    ],
)
def test_malformed_is_unknown(text, why):
    n = network.from_snapshot(snap(text, text))
    assert isinstance(n.interfaces, Unknown) and isinstance(n.routes, Unknown)
    assert why in n.interfaces.reason
    assert n.interfaces.command == "ip -j addr show"


def test_failed_records_are_unknown():
    n = network.from_snapshot(
        snap(
            Record("net.addr", ("ip", "-j", "addr", "show"), "", exit_code=None, error="ip: command not found"),
            Record("net.route", ("ip",), "", exit_code=1, stderr="Error: ..."),
        )
    )
    assert isinstance(n.interfaces, Unknown) and n.interfaces.reason == "ip: command not found"
    assert isinstance(n.routes, Unknown) and "exit code 1" in n.routes.reason
    assert network.from_snapshot(Snapshot()).routes.command == "ip -j route show table all"


def test_garbage_entries_become_problems():
    addr = json.dumps(
        [
            {},
            5,
            {
                "ifname": "eth0",
                "flags": "UP",
                "mtu": "big",
                "addr_info": [
                    "x",
                    {"family": "inet"},
                    {"family": "link", "local": "aa"},
                    {"family": "inet6", "local": "fd00::5", "prefixlen": "64"},
                ],
            },
            {"noname": 1},
        ]
    )
    route = json.dumps(
        [{}, None, {"dst": "10.0.0.0/8", "table": 254, "protocol": 4, "metric": "x"}, {"gateway": "1.2.3.4"}]
    )
    n = network.from_snapshot(snap(addr, route))
    eth0 = n.interface("eth0")
    assert eth0.flags == [] and eth0.mtu is None and eth0.up is False
    assert [(a.address, a.prefix) for a in eth0.addresses] == [("fd00::5", None)]
    assert n.routes[0].table == "254" and n.routes[0].protocol == "4" and n.routes[0].metric is None
    assert len(n.problems) == 6  # 5, "x", inet without local, {"noname"}, None, route without dst
    json.dumps(dataclasses.asdict(n))


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda c: (
            st.lists(c, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "ifname",
                        "dst",
                        "gateway",
                        "dev",
                        "flags",
                        "addr_info",
                        "family",
                        "local",
                        "table",
                        "nexthops",
                        "via",
                        "prefixlen",
                        "linkinfo",
                        "metric",
                    ]
                ),
                c,
                max_size=6,
            )
        ),
        max_leaves=25,
    )
)
def test_never_raises(data):
    text = json.dumps(data)
    n = network.from_snapshot(snap(text, text))
    json.dumps(dataclasses.asdict(n))


# --- live cross-check (netifaces) -------------------------------------------------------------


def _live_facts() -> network.NetworkFacts:
    addr = subprocess.run(["ip", "-j", "addr", "show"], capture_output=True, text=True).stdout
    route = subprocess.run(["ip", "-j", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    return network.from_snapshot(snap(addr, route))


def _netifaces_now() -> str:
    from wsltui.probes import libraries
    from wsltui.records import BY_NAME

    record = libraries.read(BY_NAME["net.netifaces"])
    assert record.ok, record.error
    return record.stdout


def test_netifaces_cross_check_agrees_and_spots_differences():
    """The real netifaces probe against the real ip -j output of this machine, then changed facts."""
    facts = _live_facts()
    now = _netifaces_now()
    assert isinstance(facts.interfaces, list)
    assert network.cross_check(facts, now) == []
    changed = dataclasses.replace(
        facts,
        interfaces=[
            *facts.interfaces[1:],
            network.Interface(
                "ghost0",
                99,
                [],
                False,
                False,
                None,
                None,
                None,
                None,
                None,
                None,
                [network.Address("ipv4", "192.0.2.77", 24, "global")],
            ),
        ],
    )
    diffs = network.cross_check(changed, now)
    assert f"interface {facts.interfaces[0].name} is listed by netifaces but not by ip" in diffs
    assert "interface ghost0 is listed by ip but not by netifaces" in diffs
    first = facts.interfaces[0]
    fake = dataclasses.replace(
        first, addresses=[*first.addresses, network.Address("ipv4", "198.51.100.9", 32, "global")]
    )
    diffs = network.cross_check(dataclasses.replace(facts, interfaces=[fake, *facts.interfaces[1:]]), now)
    assert diffs == [f"{first.name}: ipv4 address 198.51.100.9 is listed by ip but not by netifaces"]


def test_a_disagreeing_netifaces_record_is_a_problem_of_the_facts():
    addr = subprocess.run(["ip", "-j", "addr", "show"], capture_output=True, text=True).stdout
    s = snap(addr, "[]")
    s.add(Record("net.netifaces", ("netifaces.ifaddresses", "*"), '{"ghost0": {"ipv4": ["192.0.2.1"]}}'))
    assert any("netifaces disagrees: interface ghost0" in p for p in network.from_snapshot(s).problems)
    s.add(Record("net.netifaces", ("netifaces.ifaddresses", "*"), "[1, 2"))
    assert any("not understood" in p for p in network.from_snapshot(s).problems)


def test_cross_check_unknown():
    assert "cannot cross-check" in network.cross_check(network.from_snapshot(Snapshot()), "{}")[0]
