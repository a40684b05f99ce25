"""The ``nft -j list ruleset`` parser over real nft 1.0.6 output (tests/golden/nft-*, written by
tests/golden/gen_nft.py), plus malformed input. Only reads files; no root needed, except the
one ``realtools`` test that regenerates a case."""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import os
import random
import re
from pathlib import Path

import pytest

from wsltui.facts import nft
from wsltui.facts.base import Unknown
from wsltui.facts.nft import NftRuleset, parse_nft_json, priority_text, rule_text
from wsltui.snapshot import Record, Snapshot, load

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CASES = sorted(p.name for p in GOLDEN.glob("nft-*") if p.is_dir())


def parsed(case: str) -> NftRuleset:
    return nft.from_snapshot(load(GOLDEN / f"nft-{case}"))


def expected_rules(text: str) -> tuple[dict, dict]:
    """``nft list ruleset`` text -> ({(family, table, chain): [rule lines]}, {key: declaration})."""
    rules: dict[tuple[str, str, str], list[str]] = {}
    decl: dict[tuple[str, str, str], str] = {}
    fam = tab = chain = None
    depth = 0
    for line in text.splitlines():
        s = line.strip()
        m = re.fullmatch(r"table (\S+) (\S+) \{", s)
        if m and depth == 0:
            fam, tab = m.groups()
            depth = 1
            continue
        m = re.fullmatch(r"chain (\S+) \{", s)
        if m and depth == 1:
            chain = m.group(1)
            rules[(fam, tab, chain)] = []
            depth = 2
            continue
        if s.endswith("{"):
            depth += 1
            continue
        if s == "}":
            depth -= 1
            if depth < 2:
                chain = None
            continue
        if depth == 2 and chain and s:
            if s.startswith("type "):
                decl[(fam, tab, chain)] = s
            else:
                rules[(fam, tab, chain)].append(s)
    return rules, decl


def rule(rs: NftRuleset, family: str, table: str, chain: str, position: int):
    c = rs.chain(family, table, chain)
    assert c is not None, (family, table, chain)
    return c.rules[position - 1]


def find_rule(rs: NftRuleset, family: str, table: str, chain: str, text_start: str):
    c = rs.chain(family, table, chain)
    hits = [r for r in c.rules if r.text.startswith(text_start)]
    assert len(hits) == 1, (text_start, [r.text for r in c.rules])
    return hits[0]


# --- the goldens themselves ---------------------------------------------------------------


def test_goldens_present():
    assert set(CASES) >= {
        "nft-inet-filter",
        "nft-nat-families",
        "nft-firewalld-shaped",
        "nft-iptables-nft",
        "nft-empty",
    }


@pytest.mark.parametrize("case", CASES)
def test_golden_parses_cleanly_and_serialises(case):
    rs = nft.from_snapshot(load(GOLDEN / case))
    assert rs.unknown is None
    assert rs.problems == []
    assert rs.version == "1.0.6" and rs.json_schema_version == 1
    json.dumps(dataclasses.asdict(rs))  # JSON-serialisable as promised
    for t in rs.tables:
        for c in t.chains:
            assert [r.position for r in c.rules] == list(range(1, len(c.rules) + 1))
            handles = [r.handle for r in c.rules]
            assert all(isinstance(h, int) for h in handles) and handles == sorted(handles)


@pytest.mark.parametrize("case", CASES)
def test_text_rendering_matches_nft_list_ruleset(case):
    """Every rule line nft prints is reproduced, except rules holding xt expressions (nft
    translates those through libxtables; the JSON only has the module name)."""
    rs = nft.from_snapshot(load(GOLDEN / case))
    want, decl = expected_rules((GOLDEN / case / "nft-text.expected").read_text())
    counters = re.compile(r"counter packets \d+ bytes \d+")
    seen = set()
    compared = 0
    for t in rs.tables:
        for c in t.chains:
            key = (t.family, t.name, c.name)
            seen.add(key)
            assert key in want, f"{key} not in nft's text output"
            lines = want[key]
            assert len(lines) == len(c.rules), key
            for r, line in zip(c.rules, lines):
                if r.opaque:
                    assert any(s.kind == "xt" for s in r.statements)
                    continue
                assert counters.sub("counter", r.text) == counters.sub("counter", line), key
                compared += 1
            if c.base and not (t.family == "netdev"):  # netdev: nft -j 1.0.6 omits the device
                assert c.declaration == decl[key], key
    assert seen == set(want)
    if rs.rules:
        assert compared > 0


# --- inet filter: matches, sets, maps, verdicts ----------------------------------------------


def test_inet_filter_tables_and_chains():
    rs = parsed("inet-filter")
    assert [(t.family, t.name) for t in rs.tables] == [("inet", "wsl")]
    t = rs.table("inet", "wsl")
    assert t.managed_by_iptables is False and t.managed_reason == ""
    base = {c.name: (c.hook, c.priority, c.priority_text, c.policy, c.type) for c in t.chains if c.base}
    assert base == {
        "input": ("input", 0, "filter", "drop", "filter"),
        "forward": ("forward", 10, "filter + 10", "accept", "filter"),
        "output": ("output", -5, "filter - 5", "accept", "filter"),
        "pre_raw": ("prerouting", -300, "raw", "accept", "filter"),
        "pre_mangle": ("prerouting", -155, "mangle - 5", "accept", "filter"),
    }
    regular = [c for c in t.chains if not c.base]
    assert [c.name for c in regular] == ["web", "checks"]
    assert all(c.hook == "" and c.priority is None and c.policy == "" and c.declaration == "" for c in regular)
    assert [c.name for c in rs.base_chains("prerouting")] == ["pre_raw", "pre_mangle"]
    assert len(t.chain("input").rules) == 45


def test_inet_filter_sets_and_maps():
    t = parsed("inet-filter").table("inet", "wsl")
    assert [s.name for s in t.sets] == [
        "allowed_tcp",
        "trusted4",
        "trusted6",
        "pairs",
        "blocked_ports",
        "ifaces",
        "dyn",
        "portmap",
        "port_verdicts",
        "marks",
    ]
    s = t.set("allowed_tcp")
    assert (s.type, s.is_map, s.flags) == ("inet_service", False, [])
    assert [(e.key.kind, e.key.value) for e in s.elements] == [("value", 22), ("value", 8080)]

    s = t.set("@trusted4")
    assert s.type == "ipv4_addr" and s.flags == ["interval"]
    kinds = [(e.key.kind, e.text) for e in s.elements]
    assert kinds == [("prefix", "10.0.0.0/8"), ("value", "172.16.5.5"), ("range", "192.168.1.10-192.168.1.20")]
    assert s.elements[0].key.value == "10.0.0.0" and s.elements[0].key.length == 8
    assert [i.value for i in s.elements[2].key.items] == ["192.168.1.10", "192.168.1.20"]

    s = t.set("trusted6")
    assert [e.text for e in s.elements] == ["::1", "fd00::/8"]

    s = t.set("pairs")
    assert s.type_parts == ["ipv4_addr", "inet_service"] and s.type == "ipv4_addr . inet_service"
    assert [e.key.kind for e in s.elements] == ["concat", "concat"]
    assert [[p.value for p in e.key.items] for e in s.elements] == [["10.77.50.2", 8081], ["10.77.50.3", 8082]]

    s = t.set("blocked_ports")
    assert [e.text for e in s.elements] == ["9000-9010", "9100"]

    s = t.set("ifaces")
    assert s.type == "ifname" and [e.key.value for e in s.elements] == ["lo", "gnf50-a"]
    assert [e.text for e in s.elements] == ['"lo"', '"gnf50-a"']

    s = t.set("dyn")
    assert s.elements == [] and "timeout" in s.flags and s.timeout == 60 and s.size == 1024

    m = t.set("portmap")
    assert m.is_map and not m.is_vmap and (m.type, m.map_type) == ("inet_service", "ipv4_addr")
    assert [(e.key.value, e.data.value) for e in m.elements] == [(80, "10.77.50.1"), (443, "10.77.50.9")]

    v = t.set("port_verdicts")
    assert v.is_vmap
    assert [(e.key.value, e.data.kind, e.data.key, e.data.name) for e in v.elements] == [
        (8083, "verdict", "accept", ""),
        (8084, "verdict", "drop", ""),
        (8085, "verdict", "jump", "web"),
    ]
    assert [e.text for e in v.elements] == ["8083 : accept", "8084 : drop", "8085 : jump web"]

    marks = t.set("marks")
    assert marks.map_type == "mark" and marks.elements[0].data.value == 16
    assert marks.elements[0].text == "10.77.50.2 : 0x00000010"


def test_inet_filter_match_structure():
    rs = parsed("inet-filter")
    r = rule(rs, "inet", "wsl", "input", 1)
    assert r.handle == 18 and r.text == "ct state established,related accept"
    m = r.matches[0]
    assert (m.op, m.left.kind, m.left.key, m.right.kind, m.right.value) == (
        "in",
        "ct",
        "state",
        "flags",
        ["established", "related"],
    )
    assert r.decision.kind == "verdict" and r.decision.verdict == "accept" and r.decision.is_terminal

    m = rule(rs, "inet", "wsl", "input", 3).matches[0]
    assert (m.left.key, m.right.value) == ("status", "dnat")

    m = rule(rs, "inet", "wsl", "input", 4).matches[0]
    assert (m.op, m.left.kind, m.left.key, m.right.value) == ("==", "meta", "iifname", "lo")

    r = rule(rs, "inet", "wsl", "input", 5)
    assert [s.op for s in r.matches] == ["!=", "=="]
    p = r.matches[1]
    assert (p.left.kind, p.left.protocol, p.left.field) == ("payload", "ip", "daddr")
    assert (p.right.kind, p.right.value, p.right.length) == ("prefix", "127.0.0.0", 8)

    r = rule(rs, "inet", "wsl", "input", 6)
    assert r.matches[0].right.kind == "set" and [i.value for i in r.matches[0].right.items] == ["tcp", "udp"]
    assert (r.matches[1].left.protocol, r.matches[1].left.field, r.matches[1].right.value) == ("th", "dport", 53)

    m = rule(rs, "inet", "wsl", "input", 7).matches[0]
    assert (m.right.kind, m.right.name) == ("set_ref", "allowed_tcp")

    m = rule(rs, "inet", "wsl", "input", 8).matches[1]
    assert m.right.kind == "range" and [i.value for i in m.right.items] == [3000, 3005]

    m = rule(rs, "inet", "wsl", "input", 10).matches[0]
    assert m.left.kind == "concat" and [(p.protocol, p.field) for p in m.left.items] == [
        ("ip", "saddr"),
        ("tcp", "dport"),
    ]
    assert m.right.name == "pairs"

    m = rule(rs, "inet", "wsl", "input", 11).matches[0]
    assert m.right.kind == "set" and [[p.value for p in i.items] for i in m.right.items] == [
        ["10.77.50.4", 8086],
        ["10.77.50.5", 8087],
    ]

    r = find_rule(rs, "inet", "wsl", "input", "fib daddr type local")
    f = r.matches[0].left
    assert (f.kind, f.key, f.flags) == ("fib", "type", ["daddr"]) and r.matches[0].right.value == "local"
    assert find_rule(rs, "inet", "wsl", "input", "fib daddr type != local").matches[0].op == "!="

    m = find_rule(rs, "inet", "wsl", "input", "meta mark 0x00000042").matches[0]
    assert (m.left.kind, m.left.key, m.right.value) == ("meta", "mark", 66)

    m = rule(rs, "inet", "wsl", "forward", 1).matches[1]
    assert m.left.kind == "binop" and m.left.op == "&" and m.left.items[1].value == 0xFF00 and m.right.value == 0x100

    m = rule(rs, "inet", "wsl", "checks", 1).matches[0]
    assert m.left.kind == "binop" and m.left.items[1].value == ["syn", "ack"] and m.right.value == "syn"
    assert [s.op for s in rule(rs, "inet", "wsl", "checks", 3).matches] == ["<"]


def test_inet_filter_statements():
    rs = parsed("inet-filter")

    def decision(prefix: str):
        return find_rule(rs, "inet", "wsl", "input", prefix).decision

    rejects = {
        p: (decision(f"{p} ").reject_type, decision(f"{p} ").reject_code)
        for p in (
            "udp dport 9202",
            "tcp dport 9203",
            "tcp dport 9204",
            "tcp dport 9205",
            "tcp dport 9206",
            "tcp dport 9207",
            "tcp dport 9208",
            "tcp dport 9209",
        )
    }
    assert rejects == {
        "udp dport 9202": ("icmpx", "port-unreachable"),
        "tcp dport 9203": ("tcp reset", ""),
        "tcp dport 9204": ("icmp", "host-prohibited"),
        "tcp dport 9205": ("icmpx", "admin-prohibited"),
        "tcp dport 9206": ("icmpv6", "admin-prohibited"),
        "tcp dport 9207": ("icmpx", "port-unreachable"),
        "tcp dport 9208": ("icmp", "port-unreachable"),
        "tcp dport 9209": ("icmpx", "host-unreachable"),
    }
    last = rule(rs, "inet", "wsl", "input", 45)
    assert [s.kind for s in last.statements] == ["counter", "reject"]
    assert last.statements[0].params == {"packets": 0, "bytes": 0}

    vm = rule(rs, "inet", "wsl", "input", 12).statements[0]
    assert (
        vm.kind == "vmap"
        and vm.left.field == "dport"
        and vm.right.kind == "set_ref"
        and vm.right.name == "port_verdicts"
    )
    vm = rule(rs, "inet", "wsl", "input", 13).statements[0]
    assert vm.right.kind == "set" and [(i.kind, i.items[0].value, i.items[1].key) for i in vm.right.items] == [
        ("mapping", 8088, "accept"),
        ("mapping", 8089, "drop"),
    ]
    assert rule(rs, "inet", "wsl", "input", 13).decision is vm

    jump = rule(rs, "inet", "wsl", "input", 14).decision
    assert (jump.verdict, jump.target) == ("jump", "checks")
    goto = find_rule(rs, "inet", "wsl", "input", "tcp dport @blocked_ports").decision
    assert (goto.verdict, goto.target) == ("goto", "web")
    cont = find_rule(rs, "inet", "wsl", "input", "tcp dport 9301").decision
    assert cont.verdict == "continue" and not cont.is_terminal
    assert rule(rs, "inet", "wsl", "web", 2).decision.verdict == "return"
    assert rule(rs, "inet", "wsl", "checks", 1).decision is None

    log = find_rule(rs, "inet", "wsl", "input", "tcp dport 9200").statements[1]
    assert log.kind == "log" and log.params == {"prefix": "wsl-in: ", "level": "info"}
    lim = find_rule(rs, "inet", "wsl", "input", "icmp type echo-request").statements[1]
    assert lim.kind == "limit" and lim.params == {"rate": 5, "burst": 10, "per": "second"}
    lim = rule(rs, "inet", "wsl", "web", 3).statements[0]
    assert lim.params["inv"] is True and lim.params["per"] == "minute"

    ms = rule(rs, "inet", "wsl", "input", 22).statements[0]
    assert ms.kind == "mangle" and (ms.left.kind, ms.left.key, ms.right.value) == ("meta", "mark", 7)
    ms = rule(rs, "inet", "wsl", "input", 23).statements[0]
    assert (ms.left.kind, ms.left.key, ms.right.kind, ms.right.key) == ("ct", "mark", "meta", "mark")
    ms = rule(rs, "inet", "wsl", "pre_mangle", 1).statements[0]
    assert ms.right.kind == "map" and ms.right.items[1].name == "marks"

    st = find_rule(rs, "inet", "wsl", "input", "tcp dport 9302").statements[1]
    assert st.kind == "set" and st.op == "add" and st.right.name == "dyn"
    assert rule(rs, "inet", "wsl", "pre_raw", 1).statements[1].kind == "notrack"
    assert find_rule(rs, "inet", "wsl", "input", "tcp dport 9307").comment == "allow 9307"


# --- NAT, families, priorities ---------------------------------------------------------------


def test_nat_statements():
    rs = parsed("nat-families")

    def nat(chain: str, pos: int, table: str = "nat4", family: str = "ip"):
        st = [s for s in rule(rs, family, table, chain, pos).statements if s.kind == "nat"]
        assert len(st) == 1
        return st[0]

    s = nat("prer", 1)
    assert (s.nat_type, s.addr, s.port.value) == ("redirect", None, 22)
    s = nat("prer", 2)
    assert (s.nat_type, s.addr.value, s.port.value, s.nat_family) == ("dnat", "10.77.51.1", 8080, "")
    s = nat("prer", 3)
    assert (s.addr.value, s.port) == ("10.77.51.1", None)
    s = nat("prer", 4)
    assert s.port.kind == "range" and [i.value for i in s.port.items] == [8000, 8005]
    s = nat("prer", 5)
    assert (s.nat_type, s.addr, s.port) == ("redirect", None, None)
    s = nat("prer", 6)
    assert s.addr.kind == "map" and s.addr.items[1].kind == "set"
    assert [(m.items[0].value, m.items[1].value) for m in s.addr.items[1].items] == [
        (5555, "10.77.51.1"),
        (5556, "10.77.51.2"),
    ]
    s = nat("prer", 7)
    assert s.nat_family == "ip" and s.addr.items[1].name == "fwdmap"
    fwdmap = rs.table("ip", "nat4").set("fwdmap")
    assert fwdmap.map_type == "ipv4_addr . inet_service"
    assert fwdmap.elements[0].data.kind == "concat" and fwdmap.elements[0].text == "2223 : 10.77.51.1 . 22"
    s = nat("postr", 1)
    assert (s.nat_type, s.addr, s.port, s.flags) == ("masquerade", None, None, [])
    s = nat("postr", 3)
    assert s.flags == ["random", "persistent"] and s.port.kind == "range"
    s = nat("postr", 4)
    assert s.nat_type == "snat" and s.addr.kind == "range" and s.flags == ["fully-random"]
    s = nat("prer6", 2, "nat6", "ip6")
    assert (s.addr.value, s.port.value) == ("fd77:33::1", 80)
    s = nat("prer", 2, "nat46", "inet")
    assert (s.nat_family, s.addr.value, s.port.value) == ("ip6", "fd77:33::1", 7001)


def test_families_priorities_and_ip6_rejects():
    rs = parsed("nat-families")
    assert [(t.family, t.name) for t in rs.tables] == [
        ("ip", "nat4"),
        ("ip6", "nat6"),
        ("ip6", "filter"),
        ("inet", "nat46"),
        ("ip", "ipfilt"),
        ("arp", "arpt"),
        ("bridge", "br"),
        ("netdev", "nd"),
    ]
    prios = {(c.family, c.table, c.name): (c.priority, c.priority_text) for t in rs.tables for c in t.chains}
    assert prios[("ip", "nat4", "prer")] == (-100, "dstnat")
    assert prios[("ip", "nat4", "outp")] == (-100, "-100")  # dstnat is a name only on prerouting
    assert prios[("ip", "nat4", "inhook")] == (100, "100")
    assert prios[("ip6", "nat6", "prer6")] == (-110, "dstnat - 10")
    assert prios[("ip6", "filter", "early")] == (-200, "-200")
    assert prios[("ip6", "filter", "sec")] == (50, "security")
    assert prios[("ip6", "filter", "odd")] == (37, "37")
    assert prios[("inet", "nat46", "post")] == (101, "srcnat + 1")
    assert prios[("ip", "ipfilt", "prio_11")] == (11, "11")
    assert prios[("ip", "ipfilt", "prio_40")] == (40, "security - 10")
    assert prios[("bridge", "br", "brfwd")] == (0, "0")
    assert prios[("bridge", "br", "brpre")] == (-300, "dstnat")
    assert prios[("bridge", "br", "brout")] == (100, "out")
    assert prios[("arp", "arpt", "arpout")] == (3, "filter + 3")
    assert prios[("netdev", "nd", "ingress")] == (-500, "-500")
    assert rs.chain("netdev", "nd", "ingress").hook == "ingress"
    assert rs.chain("ip6", "filter", "early").policy == "drop"
    # an "ip6 filter" table with lowercase chains is native, not iptables-nft's
    assert not any(t.managed_by_iptables for t in rs.tables)
    # every input base chain of every family, in kernel order
    order = [(c.family, c.name, c.priority) for c in rs.base_chains("input", families=("ip6", "inet"))]
    assert order == [("ip6", "early", -200), ("ip6", "in6", -10), ("ip6", "odd", 37), ("ip6", "sec", 50)]

    in6 = rs.chain("ip6", "filter", "in6")
    assert [(r.decision.reject_type, r.decision.reject_code) for r in in6.rules[:6]] == [
        ("icmpv6", "port-unreachable"),
        ("icmpv6", "admin-prohibited"),
        ("icmpv6", "port-unreachable"),
        ("tcp reset", ""),
        ("icmpv6", "no-route"),
        ("icmpv6", "addr-unreachable"),
    ]
    ipf = rs.chain("ip", "ipfilt", "input")
    assert [(r.decision.reject_type, r.decision.reject_code) for r in ipf.rules[:5]] == [
        ("icmp", "port-unreachable"),
        ("icmp", "host-unreachable"),
        ("icmp", "port-unreachable"),
        ("icmp", "net-unreachable"),
        ("icmp", "admin-prohibited"),
    ]


# --- firewalld-shaped and iptables-nft ----------------------------------------------------


def test_firewalld_shaped_table():
    rs = parsed("firewalld-shaped")
    t = rs.table("inet", "firewalld")
    assert t.managed_by_iptables is False
    inp = t.chain("filter_INPUT")
    assert (inp.base, inp.hook, inp.priority, inp.priority_text, inp.policy) == (
        True,
        "input",
        10,
        "filter + 10",
        "accept",
    )
    assert [r.text for r in inp.rules] == [
        "ct state { established, related } accept",
        "ct status dnat accept",
        'iifname "lo" accept',
        "ct state invalid drop",
        "jump filter_INPUT_ZONES",
        "reject with icmpx admin-prohibited",
    ]
    assert inp.rules[0].matches[0].right.kind == "set"
    assert inp.rules[-1].decision.reject_code == "admin-prohibited"
    zones = t.chain("filter_INPUT_ZONES")
    assert [(r.decision.verdict, r.decision.target) for r in zones.rules] == [
        ("goto", "filter_IN_trusted"),
        ("goto", "filter_IN_public"),
        ("goto", "filter_IN_public"),
    ]
    pub = t.chain("filter_IN_public")
    assert [r.decision.target for r in pub.rules[:7]] == [
        "filter_INPUT_POLICIES_pre",
        "filter_IN_public_pre",
        "filter_IN_public_log",
        "filter_IN_public_deny",
        "filter_IN_public_allow",
        "filter_IN_public_post",
        "filter_INPUT_POLICIES_post",
    ]
    allow = t.chain("filter_IN_public_allow")
    assert [r.matches[0].right.value for r in allow.rules if r.matches[0].left.field == "dport"] == [22, 8080]
    fib = t.chain("filter_PREROUTING").rules[1].matches[1]
    assert fib.left.flags == ["saddr", "mark", "iif"] and fib.left.key == "oif" and fib.right.value is False
    hooks = [(c.hook, c.priority) for c in rs.base_chains()]
    assert hooks == [
        ("prerouting", -140),
        ("prerouting", -90),
        ("prerouting", 10),
        ("input", 10),
        ("forward", 10),
        ("output", 10),
        ("postrouting", 110),
    ]
    dn = t.chain("nat_PRE_public_allow").rules[0].decision
    assert (dn.kind, dn.nat_type, dn.nat_family, dn.addr.value, dn.port.value) == (
        "nat",
        "dnat",
        "ip",
        "10.77.52.1",
        22,
    )
    assert dn.is_terminal


def test_iptables_nft_tables_are_marked_and_xt_is_opaque():
    rs = parsed("iptables-nft")
    managed = {(t.family, t.name): t.managed_by_iptables for t in rs.tables}
    assert managed == {
        ("ip", "filter"): True,
        ("ip", "nat"): True,
        ("ip6", "filter"): True,
        ("inet", "native"): False,
        ("ip", "raw"): False,
    }
    assert "xt" in rs.table("ip", "filter").managed_reason
    assert "built-in chains" in rs.table("ip6", "filter").managed_reason  # no xt there, recognised by shape
    f = rs.table("ip", "filter")
    assert [c.name for c in f.chains] == ["INPUT", "WSL-CHAIN", "OUTPUT", "FORWARD"]
    assert f.chain("FORWARD").policy == "drop"
    inp = f.chain("INPUT")
    # natively translated rules stay fully structured
    assert inp.rules[0].text == "tcp dport 8080 counter packets 0 bytes 0 accept" and not inp.rules[0].opaque
    r = inp.rules[1]
    assert r.opaque
    xts = [(s.params["type"], s.params["name"]) for s in r.statements if s.kind == "xt"]
    assert xts == [("match", "multiport"), ("match", "conntrack"), ("match", "comment"), ("target", "REJECT")]
    assert all(s.opaque for s in r.statements if s.kind == "xt")
    assert r.decision is None  # the REJECT target is opaque: no known decision
    assert inp.rules[3].decision.target == "WSL-CHAIN"
    nat = rs.table("ip", "nat")
    assert [s.params["name"] for r in nat.chain("PREROUTING").rules for s in r.statements if s.kind == "xt"] == [
        "REDIRECT",
        "DNAT",
    ]
    assert rs.problems == []  # xt is expected, not a problem


def test_empty_ruleset():
    rs = parsed("empty")
    assert rs.tables == [] and rs.unknown is None and rs.problems == [] and rs.rules == []


# --- snapshot plumbing -------------------------------------------------------------------


def test_from_snapshot_missing_and_failed_records():
    rs = nft.from_snapshot(Snapshot())
    assert isinstance(rs.unknown, Unknown) and rs.tables == []
    assert rs.unknown.command == "nft -j list ruleset" and "not captured" in rs.unknown.reason

    snap = Snapshot()
    snap.add(
        Record(
            "nf.nft",
            ("nft", "-j", "list", "ruleset"),
            "",
            exit_code=1,
            stderr="Error: Could not process rule: Operation not permitted\n",
        )
    )
    rs = nft.from_snapshot(snap)
    assert rs.unknown is not None and "Operation not permitted" in rs.unknown.reason

    snap = Snapshot()
    snap.add(Record("nf.nft", ("nft", "-j", "list", "ruleset"), "", exit_code=None, error="needs root"))
    assert nft.from_snapshot(snap).unknown.reason == "needs root"

    snap = Snapshot()
    snap.add(Record("nf.nft", ("nft", "-j", "list", "ruleset"), "{not json"))
    rs = nft.from_snapshot(snap)
    assert rs.unknown is not None and rs.unknown.command == "nft -j list ruleset" and rs.problems


def test_rule_text_helper_and_priority_text():
    assert (
        rule_text(
            [
                {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 8080}},
                {"accept": None},
            ]
        )
        == "tcp dport 8080 accept"
    )
    assert rule_text([{"reject": {"type": "icmp", "expr": "port-unreachable"}}], "ip") == "reject"
    assert (
        rule_text([{"reject": {"type": "icmp", "expr": "port-unreachable"}}], "inet")
        == "reject with icmp port-unreachable"
    )
    assert rule_text([{"reject": None}], "ip6") == "reject"
    assert priority_text(10, "inet", "input") == "filter + 10"
    assert priority_text(-100, "ip", "output") == "-100"
    assert priority_text(-200, "bridge", "forward") == "filter"


# --- malformed input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n",
        '{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": {"family": "inet", "na',
        "[]",
        '{"nftables": {}}',
        '"just a string"',
        "null",
        "nft: command not found",
    ],
)
def test_unusable_output_is_unknown_with_problems(text):
    rs = parse_nft_json(text)
    assert rs.unknown is not None and rs.problems and rs.tables == []


def test_non_text_input_is_unknown():
    for bad in (None, b"{}", 42):
        rs = parse_nft_json(bad)  # type: ignore[arg-type]
        assert rs.unknown is not None and rs.problems


def test_named_set_lookup_from_a_rule():
    rs = parsed("inet-filter")
    m = rule(rs, "inet", "wsl", "input", 10).matches[0]
    s = rs.named_set("inet", "wsl", m.right.name)
    assert s is not None and s.name == "pairs" and len(s.elements) == 2
    assert rs.named_set("inet", "wsl", "@nope") is None and rs.named_set("ip", "nope", "x") is None


def test_wrong_shapes_become_problems():
    doc = {
        "nftables": [
            {"metainfo": "weird"},
            42,
            {"table": "notadict"},
            {"table": {"family": "inet", "name": "t", "handle": 1}, "extra": 1},
            {"table": {"family": "inet", "name": "t", "handle": 1}},
            {"table": {"family": "inet", "name": "t", "handle": 1}},  # listed twice
            {
                "chain": {
                    "family": "inet",
                    "table": "t",
                    "name": "c",
                    "handle": 1,
                    "type": "filter",
                    "hook": "input",
                    "prio": "filter + 10",
                    "policy": "drop",
                }
            },
            {
                "chain": {
                    "family": "inet",
                    "table": "t",
                    "name": "d",
                    "handle": 2,
                    "type": "filter",
                    "hook": "input",
                    "prio": {"odd": 1},
                }
            },
            {"set": {"family": "inet", "table": "t", "name": "s", "type": "inet_service", "elem": "notalist"}},
            {
                "map": {
                    "family": "inet",
                    "table": "t",
                    "name": "m",
                    "type": "inet_service",
                    "map": "verdict",
                    "elem": [[1, {"accept": None}], [2], "x"],
                }
            },
            {
                "rule": {
                    "family": "inet",
                    "table": "t",
                    "chain": "c",
                    "handle": 5,
                    "expr": [
                        {
                            "match": {
                                "op": "==",
                                "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                                "right": 22,
                            }
                        },
                        {"match": {"op": "==", "left": {"frobnicate": {"x": 1}}, "right": 1}},
                        {"teleport": {"to": "mars"}},
                        {"accept": None},
                    ],
                }
            },
            {"rule": {"family": "inet", "table": "t", "chain": "c", "handle": 6, "expr": "drop"}},
            {
                "rule": {
                    "family": "inet",
                    "table": "t",
                    "chain": "c",
                    "handle": 7,
                    "expr": [None, [], {"a": 1, "b": 2}, {"match": "x"}, {"jump": {}}],
                }
            },
            {"rule": {"family": "inet", "table": "t", "chain": "nochain", "handle": 8, "expr": [{"drop": None}]}},
            {"rule": {"family": "ip", "table": "notable", "chain": "x", "handle": 9, "expr": [{"drop": None}]}},
            {"wormhole": {"family": "inet"}},
        ]
    }
    rs = parse_nft_json(json.dumps(doc))
    assert rs.unknown is None
    text = "\n".join(rs.problems)
    for needle in (
        "item 1",
        "item 2",
        "item 3",
        "listed twice",
        "priority",
        "elements are not a list",
        "not a [key, value] pair",
        "frobnicate",
        "teleport",
        "expr is not a list",
        "not an object with one key",
        "jump without a target",
        "nochain",
        "notable",
        "wormhole",
    ):
        assert needle in text, needle
    c = rs.chain("inet", "t", "c")
    assert c.priority == 10 and c.priority_text == "filter + 10"
    assert rs.chain("inet", "t", "d").priority is None
    r = c.rules[0]
    assert r.opaque and r.statements[0].kind == "match" and not r.statements[0].opaque
    assert r.statements[1].opaque and r.statements[1].left.kind == "unknown"
    assert r.statements[2].kind == "teleport" and r.statements[2].opaque
    assert r.decision.verdict == "accept"
    assert c.rules[1].statements == []
    assert rs.chain("inet", "t", "nochain").rules[0].decision.verdict == "drop"
    assert rs.table("ip", "notable") is not None
    json.dumps(dataclasses.asdict(rs))


def test_fuzzed_goldens_never_raise():
    rng = random.Random(1234)
    base = (GOLDEN / "nft-inet-filter" / "nf.nft.txt").read_text()
    for _ in range(120):
        cut = rng.randrange(len(base))
        rs = parse_nft_json(base[:cut])
        assert rs.problems
    data = json.loads(base)
    junk = [None, 0, -1, "", "@", [], {}, [1, 2, 3], {"x": None}, True, 1.5, "a" * 3]

    def mutate(node):
        if isinstance(node, dict) and node:
            k = rng.choice(list(node))
            if rng.random() < 0.3:
                node[k] = copy.deepcopy(rng.choice(junk))
            else:
                mutate(node[k])
        elif isinstance(node, list) and node:
            i = rng.randrange(len(node))
            if rng.random() < 0.3:
                node[i] = copy.deepcopy(rng.choice(junk))
            else:
                mutate(node[i])

    for n in range(150):
        doc = json.loads(json.dumps(data))
        for _ in range(rng.randint(1, 5)):
            mutate(doc)
        rs = parse_nft_json(json.dumps(doc))
        assert not any(p.startswith("internal parser error") for p in rs.problems), rs.problems
        if n % 15 == 0:
            json.dumps(dataclasses.asdict(rs))


# --- the real tool ---------------------------------------------------------------------------


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_nft", GOLDEN / "gen_nft.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.realtools
def test_regenerate_firewalld_shaped_with_real_nft(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to create network namespaces and run nft")
    gen = _load_generator()
    out = gen.generate_case(tmp_path, "firewalld-shaped", index=59)
    rs = nft.from_snapshot(load(out))
    assert rs.unknown is None and rs.problems == []
    want, _ = expected_rules((out / "nft-text.expected").read_text())
    got = {(c.family, c.table, c.name): [r.text for r in c.rules] for t in rs.tables for c in t.chains}
    assert got == want
    committed = parsed("firewalld-shaped")

    def shape(r: NftRuleset):
        return [(c.name, c.hook, c.priority, c.policy, len(c.rules)) for t in r.tables for c in t.chains]

    assert shape(rs) == shape(committed)
