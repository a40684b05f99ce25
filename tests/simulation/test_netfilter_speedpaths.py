"""The fast paths of the netfilter evaluator give the answers of the plain ones, field for field.

- ``ChainView`` (netfilter/walk.py) decides once per packet the conditions that read the packet alone; the
  plain walk tests every condition of every candidate rule when it reaches it.
- ``deliver_past_blockers`` (evaluate.py) walks once and goes on past each blocker; the plain way
  sends the packet again from the start with each blocker switched off (``deliver`` with a
  ``Disabled`` set), which is what the simulator did before and what it must still give.

Seeded rulesets from rulegen (iptables only without root; every backend, loaded into a real
namespace, with root), and hand-written ones for the paths rulegen rarely takes; those are also
checked against the kernel.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
from contextlib import contextmanager
from itertools import islice
from types import SimpleNamespace

import pytest
from kernel import LISTENING, NETFILTER_PROBES, Ruleset, _fill, load, report, run_case
from oracle import Listeners, in_netns
from realtools import NetnsPair, netns_pair
from rulegen import PORTS, generate

from wsltui.facts import build_facts
from wsltui.probes.capture import capture
from wsltui.simulation.netfilter import walk
from wsltui.simulation.netfilter.evaluate import Disabled, deliver, deliver_past_blockers
from wsltui.simulation.packet import Packet
from wsltui.simulation.simulate import Scenario, World, simulate
from wsltui.snapshot import Record, Snapshot

MAX_BEHIND = 8  # as many re-deliveries as the simulator asks for


# --- what is compared ---------------------------------------------------------------------------


def _step(s) -> tuple:
    return s.base.label, s.before, s.after, s.outcome  # ChainOutcome and Packet compare by value


def summary(trace) -> tuple:
    """Everything a NetfilterTrace says, as comparable values."""
    return (
        trace.verdict,
        trace.packet,
        trace.decisive and _step(trace.decisive),
        [
            (h.hook, h.verdict, h.packet, h.ambiguity, [_step(s) for s in h.steps], [_step(a) for a in h.alternatives])
            for h in trace.hooks
        ],
    )


def resend_with_each_blocker_off(nf, pkt, host) -> list:
    """The plain way: deliver again from the start with every blocker so far switched off."""
    traces = [deliver(nf, pkt, host)]
    off = Disabled()
    for _ in range(MAX_BEHIND):
        last = traces[-1]
        if last.verdict not in ("drop", "reject") or last.decisive is None:
            break
        rule = last.decisive.outcome.rule
        if rule is not None:
            off = Disabled(off.rules | {rule}, off.policies)
        else:
            off = Disabled(off.rules, off.policies | {last.decisive.base.label})
        traces.append(deliver(nf, pkt, host, off))
    return traces


def _forget(world: World) -> None:
    for table in world.netfilter.tables:
        table.forget_views()


@contextmanager
def every_condition_tested_in_turn(world: World):
    """ChainView without its point: nothing decided in advance, no rule left out."""
    saved = walk.left_to_test
    walk.left_to_test = lambda rule, pkt, host: tuple(rule.conds)
    _forget(world)
    try:
        yield
    finally:
        walk.left_to_test = saved
        _forget(world)


def packets(srv: str, cli: str, srv_if: str) -> list[Packet]:
    """From the client on the wire, from this host to itself, and over lo, per port and protocol."""
    s, c = ipaddress.ip_address(srv), ipaddress.ip_address(cli)
    out = []
    for port in PORTS:
        for proto in ("tcp", "udp"):
            out += [
                Packet(proto, c, s, port, iif=srv_if),
                Packet(proto, s, s, port, oif="lo", locally_generated=True),
                Packet(proto, c, s, port, iif="lo"),
            ]
    return out


def scenarios(srv: str, cli: str, srv_if: str) -> list[Scenario]:
    s, c = ipaddress.ip_address(srv), ipaddress.ip_address(cli)
    return [
        Scenario("custom", port, proto, src, s, iif)
        for port in PORTS
        for proto in ("tcp", "udp")
        for src, iif in ((c, srv_if), (s, None))
    ]


def compare(world: World, pkts: list[Packet], scs: list[Scenario]) -> int:
    """Assert every fast answer equals the plain one; returns how many blockers were behind others."""
    nf, host = world.netfilter, world.host

    def each_blocker_off() -> list:
        return [[summary(t) for t in resend_with_each_blocker_off(nf, pkt, host)] for pkt in pkts]

    def past_blockers() -> list:
        return [[summary(t) for t in islice(deliver_past_blockers(nf, pkt, host), MAX_BEHIND + 1)] for pkt in pkts]

    _forget(world)
    fast_cold = past_blockers()  # the first walks build the views
    fast_warm = past_blockers()
    plain = each_blocker_off()
    traces = [simulate(world, sc).to_json() for sc in scs]
    assert fast_cold == plain
    assert fast_warm == plain
    with every_condition_tested_in_turn(world):
        assert each_blocker_off() == plain
        assert past_blockers() == plain
        assert [simulate(world, sc).to_json() for sc in scs] == traces
    return sum(len(traces) - 1 for traces in plain)


# --- without root: iptables rulesets from rulegen, as records -------------------------------------

# The addresses a NetnsPair would have, for kernel._fill, without creating namespaces.
ADDRS = SimpleNamespace(
    index=5, srv_if="wt5-a", srv_ip="10.77.5.1", cli_ip="10.77.5.2", srv_ip6="fd77:5::1", cli_ip6="fd77:5::2"
)
SRV, CLI, SRV6, CLI6, SRVIF = ADDRS.srv_ip, ADDRS.cli_ip, ADDRS.srv_ip6, ADDRS.cli_ip6, ADDRS.srv_if


def _addr_record() -> str:
    return json.dumps(
        [
            {
                "ifindex": 1,
                "ifname": "lo",
                "flags": ["LOOPBACK", "UP"],
                "operstate": "UNKNOWN",
                "link_type": "loopback",
                "addr_info": [
                    {"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host"},
                    {"family": "inet6", "local": "::1", "prefixlen": 128, "scope": "host"},
                ],
            },
            {
                "ifindex": 2,
                "ifname": SRVIF,
                "flags": ["UP"],
                "operstate": "UP",
                "link_type": "ether",
                "addr_info": [
                    {"family": "inet", "local": SRV, "prefixlen": 24, "scope": "global"},
                    {"family": "inet6", "local": SRV6, "prefixlen": 64, "scope": "global"},
                ],
            },
        ]
    )


def _sockets_record() -> str:
    return "".join(
        f"{proto:5} {'LISTEN' if proto == 'tcp' else 'UNCONN'} 0 128 0.0.0.0:{port} 0.0.0.0:* "
        f'users:(("srv",pid=1,fd=3)) ino:1 sk:1 <->\n'
        for port in LISTENING
        for proto in ("tcp", "udp")
    )


def world_from_iptables(rs: Ruleset) -> World:
    snap = Snapshot()
    for name, text in (
        ("nf.iptables-legacy", rs.legacy4),
        ("nf.ip6tables-legacy", rs.legacy6),
        ("nf.iptables-nft", rs.nft4),
        ("nf.ip6tables-nft", rs.nft6),
    ):
        if text:
            snap.add(Record(name, (name,), _fill(text, ADDRS)))
    snap.add(Record("net.addr", ("ip", "-j", "addr", "show"), _addr_record()))
    snap.add(Record("net.sockets", ("ss", "-H", "-l", "-n", "-t", "-u", "-p", "-e"), _sockets_record()))
    return World.from_facts(build_facts(snap))


def test_generated_iptables_rulesets_without_root():
    rng = random.Random(20261128)
    behind = 0
    for i in range(150):
        rs, targets = generate(rng, i)
        rs.nft = ""  # nft -j output needs the kernel: see the realtools test below
        fam = targets[0][2]
        srv, cli = (SRV, CLI) if fam == 4 else (SRV6, CLI6)
        world = world_from_iptables(rs)
        behind += compare(world, packets(srv, cli, SRVIF), scenarios(srv, cli, SRVIF))
    assert behind > 100  # the blockers behind the first were exercised, not only first blockers


def test_hand_written_iptables_paths_without_root():
    """A LOG under a rate limit (left in the view for its assumption), a mark set in a called
    chain (the caller's view is redone), a rate-limited drop met twice (the walk starts over)."""
    rs = Ruleset(
        nft4="""*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:LIMITED - [0:0]
:SETTER - [0:0]
-A INPUT -p tcp -m limit --limit 5/min -j LOG --log-prefix "in: "
-A INPUT -j LIMITED
-A INPUT -j SETTER
-A INPUT -m mark --mark 0x5 -p tcp -m tcp --dport 8080 -j REJECT
-A INPUT -j LIMITED
-A INPUT -m mark ! --mark 0x5 -p tcp -m tcp --dport 8081 -j DROP
-A INPUT -p udp -g SETTER
-A LIMITED -m limit --limit 100/sec -m mark --mark 0x5 -p tcp -m multiport --dports 8080,8082 -j DROP
-A SETTER -p tcp -m multiport --dports 8080,8082 -j MARK --set-xmark 0x5/0xffffffff
-A SETTER -p udp -m udp --dport 8081 -j RETURN
-A SETTER -p udp -j MARK --set-xmark 0x5/0xffffffff
-A SETTER -m mark --mark 0x5 -p udp -m udp --dport 8080 -j REJECT
COMMIT
"""
    )
    world = world_from_iptables(rs)
    assert compare(world, packets(SRV, CLI, SRVIF), scenarios(SRV, CLI, SRVIF)) > 0
    hop = simulate(
        world, Scenario("custom", 8080, "tcp", ipaddress.ip_address(CLI), ipaddress.ip_address(SRV), SRVIF)
    ).hops[0]
    assert hop.location == "iptables-nft (ipv4) table filter, chain INPUT, rule 4"
    assert "rate limit" in hop.assumption


def test_a_walk_goes_on_past_several_blockers_in_one_go():
    rs = Ruleset(
        nft4="""*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:CHK - [0:0]
-A INPUT -p tcp -m tcp --dport 8080 -j DROP
-A INPUT -p tcp -j CHK
-A INPUT -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset
-A CHK -p tcp -m multiport --dports 8080,8081 -j REJECT
-A CHK -p tcp -j RETURN
COMMIT
"""
    )
    world = world_from_iptables(rs)
    pkt = Packet("tcp", ipaddress.ip_address(CLI), ipaddress.ip_address(SRV), 8080, iif=SRVIF)
    traces = list(deliver_past_blockers(world.netfilter, pkt, world.host))
    decided = [
        (
            t.verdict,
            t.decisive and t.decisive.outcome.path[-1],
            t.decisive and t.decisive.outcome.rule and t.decisive.outcome.rule.position,
        )
        for t in traces
    ]
    assert decided == [
        ("drop", "INPUT", 1),
        ("reject", "CHK", 1),
        ("reject", "INPUT", 3),
        ("drop", "INPUT", None),
        ("accept", None, None),
    ]
    plain = resend_with_each_blocker_off(world.netfilter, pkt, world.host)
    assert [summary(t) for t in traces] == [summary(t) for t in plain]
    hop = simulate(
        world, Scenario("custom", 8080, "tcp", ipaddress.ip_address(CLI), ipaddress.ip_address(SRV), SRVIF)
    ).hops[0]
    assert [h.location for h in (hop, *hop.behind)] == [
        "iptables-nft (ipv4) table filter, chain INPUT, rule 1",
        "iptables-nft (ipv4) table filter, chain CHK, rule 1",
        "iptables-nft (ipv4) table filter, chain INPUT, rule 3",
        "iptables-nft ipv4 filter INPUT (chain policy)",
    ]


# --- with root: every backend, loaded into a namespace ------------------------------------------

realtools = pytest.mark.realtools

# Paths rulegen rarely takes: a blocker visited earlier with an assumption or a verdict map (the
# walk must start over), a mark set in a called chain (the caller's view must be redone), a
# drop in a NAT chain before the NAT rule, notrack, and chains of unknown order.
HAND = {
    "assumption-on-an-earlier-visit": Ruleset(
        nft="""
table inet t {
  chain input { type filter hook input priority 0; policy drop;
    meta l4proto { icmp, ipv6-icmp } accept
    jump x
    meta mark set 0x1
    jump x
    tcp dport 8081 drop
  }
  chain x { limit rate 100/second meta mark 0x1 tcp dport { 8080, 8081 } drop; }
}"""
    ),
    "verdict-map-followed-then-blocking": Ruleset(
        nft="""
table inet t {
  chain input { type filter hook input priority 0; policy accept;
    jump x
    jump x
    meta mark 0x0 tcp dport 8080 reject
    udp dport 8081 reject
  }
  chain x { meta mark vmap { 0x0 : jump y, 0x1 : drop }; }
  chain y { tcp dport 8080 meta mark set 0x1; udp dport 8081 drop; }
}"""
    ),
    "mark-set-in-a-called-chain": Ruleset(
        nft="""
table ip t {
  chain input { type filter hook input priority 0; policy accept;
    jump setter
    meta mark 0x5 tcp dport 8080 drop
    meta mark 0x5 udp dport 8081 reject
    meta mark != 0x5 tcp dport 8081 drop
  }
  chain setter { tcp dport { 8080, 8082 } meta mark set 0x5; udp dport 8081 meta mark set 0x5 return; }
}"""
    ),
    "drop-in-a-nat-chain-then-nat": Ruleset(
        nft="""
table ip nat {
  chain pre { type nat hook prerouting priority dstnat; policy accept;
    tcp dport 2222 drop
    tcp dport 2222 redirect to :8081
  }
}
table ip f {
  chain input { type filter hook input priority 0; policy accept; tcp dport 8081 ct status dnat reject; }
}"""
    ),
    "notrack-then-ct-state": Ruleset(
        nft="""
table ip raw {
  chain pre { type filter hook prerouting priority raw; policy accept; udp dport 8080 notrack; }
}
table ip f {
  chain input { type filter hook input priority 0; policy drop;
    meta l4proto icmp accept
    ct state untracked udp dport 8080 drop
    ct state new tcp dport { 8080, 8082 } accept
  }
}"""
    ),
    "legacy-and-nft-at-one-priority": Ruleset(
        legacy4="""*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p icmp -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset
-A INPUT -p udp -m udp --dport 8081 -j ACCEPT
COMMIT
""",
        nft="""
table ip t {
  chain input { type filter hook input priority 0; policy accept;
    tcp dport 8080 drop
    udp dport 8081 reject
    tcp dport 8082 reject with icmp type host-prohibited
  }
}""",
    ),
    "nat-in-legacy-and-nft": Ruleset(
        legacy4="""*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 2222 -j REDIRECT --to-ports 8081
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 8080 -j DROP
COMMIT
""",
        nft="""
table ip nat {
  chain pre { type nat hook prerouting priority dstnat; policy accept; tcp dport 2222 redirect to :8081; }
}
table ip f {
  chain input { type filter hook input priority 0; policy accept; tcp dport { 8080, 8081 } reject; }
}""",
    ),
}


def _captured_world(pair: NetnsPair, rs: Ruleset) -> World:
    load(pair, rs)
    with in_netns(pair.srv):
        listeners = Listeners(LISTENING)
        try:
            snap = capture(NETFILTER_PROBES)
        finally:
            listeners.close()
    return World.from_facts(build_facts(snap))


def _check_captured(pair: NetnsPair, rs: Ruleset, fam: int) -> int:
    world = _captured_world(pair, rs)
    srv, cli = (pair.srv_ip, pair.cli_ip) if fam == 4 else (pair.srv_ip6, pair.cli_ip6)
    return compare(world, packets(srv, cli, pair.srv_if), scenarios(srv, cli, pair.srv_if))


@realtools
@pytest.mark.parametrize("name", sorted(HAND))
def test_hand_written_paths(name):
    rs = HAND[name]
    rs.label = name
    with netns_pair("wsh", 88) as pair:
        assert _check_captured(pair, rs, 4) > 0  # some blocker had another behind it
    with netns_pair("wsk", 88) as pair:
        outcomes = run_case(pair, rs, [(p, proto, 4) for p in PORTS for proto in ("tcp", "udp")], timeout=0.1)
    assert all(o.agree for o in outcomes), report(rs, outcomes)


@realtools
def test_generated_rulesets_every_backend():
    # A cross-check of the fast paths on every backend (the kernel agreement tests prove the
    # answers themselves): a tenth of the kernel tests' count keeps CI short.
    count = max(1, int(os.environ.get("WSLTUI_KERNEL_RULESETS", "200")) // 10)
    rng = random.Random(int(os.environ.get("WSLTUI_KERNEL_SEED", "20261127")) + 1)
    behind = 0
    for i in range(count):
        rs, targets = generate(rng, i)
        with netns_pair("wsx", 80 + i % 7) as pair:
            behind += _check_captured(pair, rs, targets[0][2])
    assert behind > count // 2
