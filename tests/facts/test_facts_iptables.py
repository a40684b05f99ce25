"""The iptables-save parser against real tool output (tests/golden/iptables-*, made by
tests/golden/gen_iptables.py with the real iptables-nft / iptables-legacy / ufw / firewalld)
and against malformed input. Only the realtools test needs root."""

from __future__ import annotations

import dataclasses
import json
import random
import sys
from pathlib import Path

import pytest

from wsltui.facts.base import Unknown
from wsltui.facts.iptables import (
    Counters,
    IptablesFacts,
    IptablesRuleset,
    Match,
    Option,
    Rule,
    Value,
    chain_owner,
    from_snapshot,
    parse_iptables_save,
    port_ranges,
    tokenize,
    value_and_mask,
)
from wsltui.snapshot import Record, Snapshot, load

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CASES = ["filter-nft", "filter-legacy", "nat", "docker", "wsl", "mixed", "ufw", "ufw-legacy", "empty", "firewalld"]
RECORDS = ["nf.iptables-nft", "nf.ip6tables-nft", "nf.iptables-legacy", "nf.ip6tables-legacy"]


def facts(case: str) -> IptablesFacts:
    return from_snapshot(load(GOLDEN / f"iptables-{case}"))


def rule(rs: IptablesRuleset, table: str, chain: str, position: int) -> Rule:
    c = rs.table(table).chain(chain)
    assert c is not None, f"{table}/{chain} missing"
    r = c.rules[position - 1]
    assert (r.table, r.chain, r.position) == (table, chain, position)
    return r


def find(rs: IptablesRuleset, needle: str) -> Rule:
    hits = [r for r in rs.rules() if needle in r.verbatim]
    assert len(hits) == 1, (needle, [r.verbatim for r in hits])
    return hits[0]


def opt(name: str, *values: str, negated: bool = False) -> Option:
    return Option(name, list(values), negated)


# --- every golden: round trip, no problems, JSON ------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_golden_round_trip(case: str) -> None:
    snap = load(GOLDEN / f"iptables-{case}")
    f = from_snapshot(snap)
    for name in RECORDS:
        rs = f.get(name)
        assert rs is not None and rs.record == name
        assert rs.unknown is None, rs.unknown
        assert rs.problems == [], rs.problems
        text = snap.get(name).stdout
        lines = [l for l in text.splitlines() if l.startswith("-A ")]
        verbatims = [r.verbatim for r in rs.rules()]
        assert sorted(verbatims) == sorted(lines)  # every -A line is exactly one rule's verbatim
        for r in rs.rules():
            assert r.unparsed is None, r.verbatim
            assert r.target is None or r.target_kind in ("verdict", "chain", "extension")
            if r.target_kind == "chain":
                assert rs.table(r.table).chain(r.target) is not None, r.verbatim
        for t in rs.tables:
            assert t.committed
            for c in t.chains:
                assert [r.position for r in c.rules] == list(range(1, len(c.rules) + 1))
                assert c.builtin == (c.policy is not None)
    # plain data: asdict + json works
    json.dumps(dataclasses.asdict(f))


# --- concrete structure ------------------------------------------------------------------------


@pytest.mark.parametrize("case,backend", [("filter-nft", "iptables_nft"), ("filter-legacy", "iptables_legacy")])
def test_filter_v4(case: str, backend: str) -> None:
    f = facts(case)
    rs = getattr(f, backend)
    n = 40 if case == "filter-nft" else 41
    assert rs.generated_by.startswith("iptables-nft-save v" if backend == "iptables_nft" else "iptables-save v")
    assert [t.name for t in rs.tables] == ["filter"]
    filt = rs.table("filter")
    assert [(c.name, c.builtin, c.policy) for c in filt.chains] == [
        ("INPUT", True, "DROP"),
        ("FORWARD", True, "DROP"),
        ("OUTPUT", True, "ACCEPT"),
        ("LOGDROP", False, None),
        ("RATE", False, None),
        ("WSL-ALLOW", False, None),
    ]
    assert filt.chain("INPUT").counters is not None
    assert len(filt.chain("INPUT").rules) == 26

    r = rule(rs, "filter", "INPUT", 1)
    assert r.verbatim == "-A INPUT -i lo -j ACCEPT"
    assert r.in_iface == Value("lo", False) and r.target == "ACCEPT" and r.target_kind == "verdict"
    assert r.matches == [] and r.protocol is None and r.counters is None

    r = rule(rs, "filter", "INPUT", 2)
    assert r.matches == [Match("conntrack", [opt("ctstate", "RELATED,ESTABLISHED")])]

    r = rule(rs, "filter", "INPUT", 4)  # --icmp-type echo-request is saved as 8
    assert r.protocol == Value("icmp") and r.match("icmp").option("icmp-type").value == "8"

    r = rule(rs, "filter", "INPUT", 7)
    assert r.source == Value(f"10.77.{n}.2/32", False)
    assert r.matches == [Match("tcp", [opt("dport", "8080")])]

    r = rule(rs, "filter", "INPUT", 8)
    assert r.source == Value(f"10.77.{n}.0/24", True)
    assert r.target == "REJECT" and r.target_options == [opt("reject-with", "tcp-reset")]

    r = find(rs, "--dports 8082,8083,9000:9010")
    assert [m.module for m in r.matches] == ["multiport", "conntrack", "comment"]
    assert r.match("multiport").option("dports").values == ["8082,8083,9000:9010"]
    assert port_ranges(r.match("multiport").option("dports").value) == [(8082, 8082), (8083, 8083), (9000, 9010)]
    assert r.match("comment").option("comment").value == "wsltui test"
    assert r.target_option("reject-with").value == "icmp-port-unreachable"

    r = find(rs, "! --dport 53")
    assert r.match("udp").options == [opt("dport", "53", negated=True)]
    assert r.match("addrtype").options == [opt("dst-type", "LOCAL"), opt("limit-iface-in")]

    r = find(rs, '--log-prefix "[WSL BLOCK] "')
    assert r.match("tcp").options == [opt("dport", "1000:2000", negated=True), opt("tcp-flags", "SYN,ACK", "SYN")]
    assert port_ranges("1000:2000") == [(1000, 2000)]
    assert r.match("limit").options == [opt("limit", "5/min"), opt("limit-burst", "10")]
    assert r.target == "LOG" and r.target_options == [opt("log-prefix", "[WSL BLOCK] "), opt("log-level", "6")]

    r = find(rs, "--src-range")
    assert r.match("iprange").option("src-range").value == f"10.77.{n}.2-10.77.{n}.9"
    r = find(rs, "--mark 0x1/0xff")
    assert value_and_mask(r.match("mark").option("mark").value) == (1, 0xFF)
    r = find(rs, "! -d 127.0.0.0/8")
    assert r.destination == Value("127.0.0.0/8", True) and r.in_iface == Value(f"gip{n}-a", True)
    r = find(rs, "-A INPUT -f -j DROP")
    assert r.fragment is True
    r = find(rs, "--set --name ssh")
    assert r.target is None and r.target_kind == ""  # a rule with no target
    assert r.match("recent").options[0] == opt("set")
    assert r.match("tcp").option("tcp-flags").values == ["FIN,SYN,RST,ACK", "SYN"]  # --syn
    r = find(rs, "--update --seconds 60")
    assert [o.name for o in r.match("recent").options] == ["update", "seconds", "hitcount", "name", "mask", "rsource"]
    r = find(rs, "--match-set allow4")
    assert r.match("set").options == [opt("match-set", "allow4", "src,dst")]
    r = find(rs, "--match-set block4")
    assert r.match("set").options == [opt("match-set", "block4", "src", negated=True)]
    assert r.target == "RETURN"

    # quoting exactly as iptables-save writes it
    r = find(rs, "--dport 4000")
    assert (
        r.verbatim == '-A INPUT -p tcp -m tcp --dport 4000 -m comment --comment "say \\"hi\\" \\\\o/ it\\\'s" -j ACCEPT'
    )
    assert r.match("comment").option("comment").value == 'say "hi" \\o/ it\'s'
    r = find(rs, "--dport 4001")
    assert r.match("comment").option("comment").value == "-j DROP" and r.target == "ACCEPT"
    r = find(rs, "--dport 4002")
    assert r.match("comment").option("comment").values == [""] and r.target == "ACCEPT"

    # user chains: jump, goto, return
    r = find(rs, "-j WSL-ALLOW")
    assert r.target_kind == "chain" and not r.goto and r.in_iface == Value(f"gip{n}-a")
    r = find(rs, "-g LOGDROP")
    assert r.target == "LOGDROP" and r.goto and r.target_kind == "chain"
    assert rule(rs, "filter", "WSL-ALLOW", 2).target == "RETURN"
    assert rule(rs, "filter", "WSL-ALLOW", 3).match("multiport").option("sports").value == "1000,2000"
    r = rule(rs, "filter", "WSL-ALLOW", 4)
    assert r.match("tcp").options == [opt("sport", "1024:65535"), opt("dport", "5000:5100")]
    assert rule(rs, "filter", "LOGDROP", 1).target_options == [opt("log-prefix", "dropped: ")]
    r = rule(rs, "filter", "RATE", 1)
    assert r.match("hashlimit").option("hashlimit-name").value == "rate"
    r = rule(rs, "filter", "OUTPUT", 1)
    assert r.match("owner").options == [opt("uid-owner", "1000")]
    assert rule(rs, "filter", "OUTPUT", 2).out_iface == Value("lo")
    assert rule(rs, "filter", "OUTPUT", 3).match("string").option("string").value == "GET /"
    assert rule(rs, "filter", "FORWARD", 1).match("pkttype").option("pkt-type").value == "broadcast"


def test_filter_backends_agree() -> None:
    """The same commands through iptables-nft and iptables-legacy give the same structure."""

    def shape(rs: IptablesRuleset) -> list:
        d = dataclasses.asdict(rs)
        for t in d["tables"]:
            for c in t["chains"]:
                c["counters"] = None  # the kernel counts IPv6 MLD/ND in OUTPUT, differently per run
        out = json.dumps(d["tables"]).replace("gip41", "gip40").replace("10.77.41.", "10.77.40.")
        return json.loads(out.replace("fd77:29:", "fd77:28:"))

    nft, legacy = facts("filter-nft"), facts("filter-legacy")
    assert shape(nft.iptables_nft) == shape(legacy.iptables_legacy)
    assert shape(nft.ip6tables_nft) == shape(legacy.ip6tables_legacy)
    assert nft.legacy_loaded is False and legacy.legacy_loaded is True
    assert legacy.iptables_nft.legacy_tables_present and legacy.ip6tables_nft.legacy_tables_present
    assert not legacy.iptables_nft.is_active() and legacy.iptables_legacy.is_active()


def test_filter_v6() -> None:
    rs = facts("filter-nft").ip6tables_nft
    assert rs.family == "ipv6" and rs.backend == "nft"
    assert rs.table("filter").chain("INPUT").policy == "DROP"
    r = rule(rs, "filter", "INPUT", 3)
    assert r.protocol == Value("ipv6-icmp") and r.matches == [Match("icmp6", [opt("icmpv6-type", "128")])]
    r = find(rs, "! -s fd77:28::/64")
    assert r.source == Value("fd77:28::/64", True)
    r = find(rs, "-d ::1/128")
    assert r.in_iface == Value("lo", True) and r.target == "DROP"
    assert find(rs, "-m frag").match("frag").options == [opt("fragmore")]
    assert find(rs, "-p udp -j REJECT").target_options == [opt("reject-with", "icmp6-adm-prohibited")]
    r = rule(rs, "filter", "WSL-ALLOW6", 2)
    assert r.match("comment").option("comment").value == 'v6 "quoted"'


def test_nat_mangle_raw_security() -> None:
    f = facts("nat")
    rs = f.iptables_nft
    assert [t.name for t in rs.tables] == ["mangle", "security", "raw", "filter", "nat"]
    nat = rs.table("nat")
    assert [c.name for c in nat.chains] == ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING", "WSL-PORTS"]
    r = rule(rs, "nat", "PREROUTING", 1)
    assert r.target == "DNAT" and r.target_kind == "extension"
    assert r.target_options == [opt("to-destination", "10.77.42.1:8080")]
    assert rule(rs, "nat", "PREROUTING", 2).target_options == [opt("to-ports", "8080")]
    r = rule(rs, "nat", "PREROUTING", 3)
    assert r.target == "REDIRECT" and r.target_options == [opt("to-ports", "6000-6010"), opt("random")]
    assert port_ranges(r.match("udp").option("dport").value) == [(5000, 5010)]
    assert rule(rs, "nat", "PREROUTING", 4).target_kind == "chain"
    assert rule(rs, "nat", "WSL-PORTS", 1).target_options == [opt("to-destination", "10.77.42.1:8080-8090")]
    assert rule(rs, "nat", "OUTPUT", 1).destination == Value("127.0.0.1/32")
    r = rule(rs, "nat", "POSTROUTING", 1)
    assert r.target == "MASQUERADE" and r.out_iface == Value("gip42-a", True)
    assert rule(rs, "nat", "POSTROUTING", 2).target_options == [opt("to-source", "10.77.42.1")]
    assert rule(rs, "nat", "POSTROUTING", 3).target_options == [opt("to-ports", "40000-50000"), opt("random-fully")]
    r = rule(rs, "mangle", "PREROUTING", 1)
    assert r.target == "MARK" and r.target_options == [opt("set-xmark", "0x1/0xffffffff")]
    r = rule(rs, "mangle", "PREROUTING", 2)
    assert r.match("connmark").option("mark").value == "0x2"
    assert [o.name for o in r.target_options] == ["restore-mark", "nfmask", "ctmask"]
    assert rule(rs, "mangle", "FORWARD", 1).target_options == [opt("clamp-mss-to-pmtu")]
    assert rule(rs, "raw", "PREROUTING", 1).target_options == [opt("notrack")]
    assert rule(rs, "raw", "OUTPUT", 1).target == "NOTRACK"
    assert rule(rs, "security", "INPUT", 1).target == "ACCEPT"
    r = rule(rs, "filter", "INPUT", 2)
    assert r.match("conntrack").options == [opt("ctstate", "DNAT"), opt("ctorigdstport", "3333")]
    v6 = f.ip6tables_nft
    assert rule(v6, "nat", "PREROUTING", 1).target_options == [opt("to-destination", "[fd77:2a::1]:8080")]


def test_docker_shapes() -> None:
    f = facts("docker")
    rs = f.iptables_nft
    filt = rs.table("filter")
    assert filt.chain("FORWARD").policy == "DROP"
    assert {c.name: c.owner for c in filt.chains} == {
        "INPUT": "iptables",
        "FORWARD": "iptables",
        "OUTPUT": "iptables",
        "DOCKER": "docker",
        "DOCKER-ISOLATION-STAGE-1": "docker",
        "DOCKER-ISOLATION-STAGE-2": "docker",
        "DOCKER-USER": "docker",
    }
    assert [r.target for r in filt.chain("FORWARD").rules] == [
        "DOCKER-USER",
        "DOCKER-ISOLATION-STAGE-1",
        "ACCEPT",
        "DOCKER",
        "ACCEPT",
        "ACCEPT",
    ]
    r = rule(rs, "filter", "DOCKER", 1)
    assert r.in_iface == Value("docker0", True) and r.out_iface == Value("docker0", False)
    assert r.destination == Value("172.17.0.2/32")
    r = rule(rs, "filter", "DOCKER-USER", 1)
    assert r.match("conntrack").options == [opt("ctorigdstport", "8080"), opt("ctdir", "ORIGINAL")]
    r = rule(rs, "nat", "PREROUTING", 1)
    assert r.match("addrtype").options == [opt("dst-type", "LOCAL")] and r.target == "DOCKER"
    r = rule(rs, "nat", "OUTPUT", 1)
    assert r.destination == Value("127.0.0.0/8", True)
    r = rule(rs, "nat", "DOCKER", 2)
    assert r.target_options == [opt("to-destination", "172.17.0.2:80")]
    assert rs.table("nat").chain("DOCKER").owner == "docker"
    v6 = f.ip6tables_nft
    assert [r.target for r in v6.table("filter").chain("DOCKER-FORWARD").rules] == [
        "DOCKER-CT",
        "DOCKER-ISOLATION-STAGE-1",
        "DOCKER-BRIDGE",
        "ACCEPT",
    ]
    assert all(c.owner == "docker" for c in v6.table("filter").chains if not c.builtin)


def test_wsl_incompatible_tables() -> None:
    f = facts("wsl")
    assert f.iptables_nft.incompatible_tables == ["filter", "nat"]
    assert f.iptables_nft.table("filter").incompatible and f.iptables_nft.table("nat").incompatible
    assert f.ip6tables_nft.incompatible_tables == ["filter"]
    assert f.iptables_nft.legacy_tables_present  # from the record's stderr
    assert sum("nft base chains" in w for w in f.warnings) == 3
    assert any("both backends" in w for w in f.warnings)
    legacy = f.iptables_legacy.table("filter")
    assert legacy.chain("WSLOUTPUT").owner == "wsl"
    assert rule(f.iptables_legacy, "filter", "WSLOUTPUT", 1).target_options == [opt("set-xmark", "0x1/0xffffffff")]
    assert f.legacy_tables == ["filter"] and f.legacy6_tables == [] and f.legacy_loaded is True


def test_mixed_backends_and_families() -> None:
    f = facts("mixed")
    assert f.legacy_loaded is True
    assert f.legacy_tables == ["nat", "filter"] and f.legacy6_tables == ["filter"]
    both = [w for w in f.warnings if "both backends" in w]
    assert len(both) == 1 and "nf.ip6tables-legacy" in both[0]
    assert f.iptables_nft.legacy_tables_present and f.ip6tables_nft.legacy_tables_present
    assert rule(f.iptables_nft, "filter", "INPUT", 1).target == "ACCEPT"
    assert rule(f.iptables_legacy, "filter", "INPUT", 1).target == "DROP"
    assert [t.name for t in f.iptables_legacy.tables] == ["nat", "filter"]
    assert rule(f.iptables_legacy, "nat", "PREROUTING", 1).target_options == [opt("to-destination", "10.77.45.1:8080")]
    assert f.ip6tables_legacy.table("filter").chain("INPUT").policy == "DROP"
    assert rule(f.ip6tables_legacy, "filter", "INPUT", 1).protocol == Value("ipv6-icmp")


def test_ufw_chains() -> None:
    for case, attr in (("ufw", "iptables_nft"), ("ufw-legacy", "iptables_legacy")):
        f = facts(case)
        rs = getattr(f, attr)
        filt = rs.table("filter")
        assert filt.chain("INPUT").policy == "DROP"
        assert [r.target for r in filt.chain("INPUT").rules][:2] == ["ufw-before-logging-input", "ufw-before-input"]
        assert all(c.owner == "ufw" for c in filt.chains if not c.builtin)
        user = filt.chain("ufw-user-input").rules
        assert user[0].matches == [Match("tcp", [opt("dport", "8080")])] and user[0].target == "ACCEPT"
        assert user[1].source.value.endswith(".2/32") and user[1].target == "DROP"
        assert user[2].target_options == [opt("reject-with", "tcp-reset")]
        limit = [r for r in user if r.match("recent")]
        assert [r.match("recent").options[0].name for r in limit] == ["set", "update"]
        assert limit[1].target == "ufw-user-limit"
        comment = find(rs, "--dports 9000:9010")
        assert comment.match("multiport").option("dports").value == "9000:9010"
        log = find(rs, "-A ufw-after-logging-input")
        assert log.target_option("log-prefix").value == "[UFW BLOCK] "
        v6 = getattr(f, attr.replace("iptables", "ip6tables"))
        assert any(c.name.startswith("ufw6-") or c.name.startswith("ufw-") for c in v6.table("filter").chains)
    trap = facts("ufw-legacy")
    assert trap.legacy_loaded is True and not trap.iptables_nft.is_active()
    assert trap.warnings == []  # rules in legacy only; ufw.status says inactive (another parser's job)


def test_firewalld_iptables_backend() -> None:
    rs = facts("firewalld").iptables_nft
    filt = rs.table("filter")
    owners = {c.name: c.owner for c in filt.chains}
    for name in (
        "INPUT_direct",
        "INPUT_ZONES",
        "INPUT_POLICIES_pre",
        "IN_public",
        "IN_public_allow",
        "FWD_public",
        "IN_trusted",
    ):
        assert owners[name] == "firewalld", name
    assert owners["INPUT"] == "iptables"
    r = find(rs, "--dport 8080 -j ACCEPT")
    assert r.chain == "IN_public_allow" and r.match("tcp").option("dport").value == "8080"
    r = find(rs, "--dport 3333 -j DNAT")
    assert r.chain == "PRE_public_allow" and r.target_options == [opt("to-destination", ":8080")]
    r = find(rs, "-s 10.77.49.3/32")
    assert r.chain == "IN_public_deny" and r.target == "REJECT"
    r = find(rs, "-A INPUT_direct")
    assert r.target == "DROP" and r.match("tcp").option("dport").value == "9999"
    gotos = [r for r in filt.chain("INPUT_ZONES").rules if r.goto]
    assert gotos and all(r.target_kind == "chain" for r in gotos)


def test_empty_namespace() -> None:
    f = facts("empty")
    for rs in f.rulesets():
        assert rs.tables == [] and rs.problems == [] and not rs.is_active()
    assert f.legacy_loaded is False and f.warnings == []


# --- chain owners -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table,chain,owner",
    [
        ("filter", "ufw-user-input", "ufw"),
        ("filter", "ufw6-before-input", "ufw"),
        ("filter", "DOCKER", "docker"),
        ("nat", "DOCKER", "docker"),
        ("filter", "DOCKER-USER", "docker"),
        ("filter", "DOCKER-ISOLATION-STAGE-2", "docker"),
        ("filter", "DOCKER-FORWARD", "docker"),
        ("filter", "INPUT_direct", "firewalld"),
        ("filter", "INPUT_ZONES", "firewalld"),
        ("filter", "IN_public_allow", "firewalld"),
        ("filter", "FWDI_public", "firewalld"),
        ("filter", "FWDO_work_deny", "firewalld"),
        ("nat", "POST_public", "firewalld"),
        ("filter", "FORWARD_IN_ZONES", "firewalld"),
        ("filter", "OUTPUT_POLICIES_pre", "firewalld"),
        ("filter", "WSLOUTPUT", "wsl"),
        ("nat", "WSLPOSTROUTING", "wsl"),
        ("filter", "INPUT", "iptables"),
        ("filter", "WSL-CHAIN", "iptables"),
        ("filter", "LOGDROP", "iptables"),
        ("filter", "DOCKERFILE", "iptables"),
    ],
)
def test_chain_owner(table: str, chain: str, owner: str) -> None:
    assert chain_owner(table, chain) == owner


# --- hand-written and malformed input -----------------------------------------------------------

SAVE = """# Generated by iptables-save v1.8.9 on Fri
*filter
:INPUT ACCEPT [10:200]
:FOO - [0:0]
[3:180] -A INPUT -p tcp --dport 80 -j ACCEPT
-A INPUT -p tcp -m comment --comment x --dport 81 -j ACCEPT
-A INPUT -s ! 1.2.3.4 -p udp --dport ! 53 -j DROP
-A INPUT -p tcp -m tcp --dport 82 -c 5 600 -j FOO
-A FOO -m frobnicate --wiggle 3 --flag -j RETURN
-A FOO -j ACCEPT
-A FOO -p tcp -m multiport --dports 1,2 -m tcp --sport 9 -j ACCEPT
COMMIT
"""


def test_hand_written_forms() -> None:
    rs = parse_iptables_save(SAVE, backend="legacy", family="ipv4")
    assert rs.problems == []
    inp = rs.table("filter").chain("INPUT")
    assert inp.counters == Counters(10, 200)
    r = inp.rules[0]
    assert r.counters == Counters(3, 180) and r.verbatim == "-A INPUT -p tcp --dport 80 -j ACCEPT"
    assert r.matches == [Match("tcp", [opt("dport", "80")], implicit=True)]
    r = inp.rules[1]  # implicit tcp after another match
    assert r.matches == [Match("comment", [opt("comment", "x")]), Match("tcp", [opt("dport", "81")], implicit=True)]
    r = inp.rules[2]  # pre-1.4.3 negation after the option
    assert r.source == Value("1.2.3.4", True) and r.match("udp").options == [opt("dport", "53", negated=True)]
    r = inp.rules[3]
    assert r.counters == Counters(5, 600) and r.target == "FOO" and r.target_kind == "chain"
    r = rs.table("filter").chain("FOO").rules[0]  # unknown module: kept as read, not a problem
    assert r.matches == [Match("frobnicate", [opt("wiggle", "3"), opt("flag")])] and r.target == "RETURN"
    r = rs.table("filter").chain("FOO").rules[2]
    assert [m.module for m in r.matches] == ["multiport", "tcp"]


@pytest.mark.parametrize(
    "text,expect",
    [
        ("", []),
        ("\n\n", []),
        ("garbage\n", ["line 1: not understood"]),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dpo", ["unknown option --dpo", "no COMMIT"]),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport", ["--dport needs 1 value", "no COMMIT"]),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j\nCOMMIT\n", ["-j without a value"]),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A\nCOMMIT\n", ["rule without a chain"]),
        ('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment "open\nCOMMIT\n', ["unterminated quote"]),
        (
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --bogus 1 -j ACCEPT\nCOMMIT\n",
            ["unknown option --bogus for this rule"],
        ),
        (
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m tcp --dport 1 --sport 2 --nope -j ACCEPT\nCOMMIT\n",
            ["unknown option --nope for match tcp"],
        ),
        (
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j REJECT --reject-with tcp-reset --weird\nCOMMIT\n",
            ["unknown option --weird for target REJECT"],
        ),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j NOSUCHCHAIN\nCOMMIT\n", ["target NOSUCHCHAIN is neither"]),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A OUTPUT -j ACCEPT\nCOMMIT\n", ["undeclared chain OUTPUT"]),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT ! ! -s 1.1.1.1 -j ACCEPT\nCOMMIT\n", ["double '!'"]),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT foo -j ACCEPT\nCOMMIT\n", ["unexpected 'foo'"]),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT !\nCOMMIT\n", ["'!' at the end"]),
        ("*filter\n:INPUT ACCEPT [0:0]\n[1:x] -A INPUT -j ACCEPT\nCOMMIT\n", ["malformed counters"]),
        ("*filter\n:INPUT MAYBE [0:0]\nCOMMIT\n", ["unknown policy MAYBE"]),
        ("*filter\n:INPUT\nCOMMIT\n", ["malformed chain line"]),
        ("*filter\n:INPUT ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\nCOMMIT\n", ["declared twice"]),
        ("-A INPUT -j ACCEPT\n", ["rule outside a table"]),
        (":INPUT ACCEPT [0:0]\n", ["chain outside a table"]),
        ("COMMIT\n", ["COMMIT outside a table"]),
        ("*bogus\nCOMMIT\n", ["unknown table bogus"]),
        ("*filter\n*nat\nCOMMIT\n", ["no COMMIT before *nat"]),
        ("*filter\n:INPUT ACCEPT [0:0]\n-I INPUT -j ACCEPT\nCOMMIT\n", ["not understood"]),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m -j ACCEPT\nCOMMIT\n", ["unexpected 'ACCEPT'"]),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT -j DROP\nCOMMIT\n", ["second target DROP"]),
    ],
)
def test_malformed(text: str, expect: list[str]) -> None:
    rs = parse_iptables_save(text, backend="nft", family="ipv4")
    assert len(rs.problems) == len(expect), rs.problems
    for want, got in zip(expect, rs.problems):
        assert want in got
        assert got.startswith("line ")
    json.dumps(dataclasses.asdict(rs))


def test_unparsed_rule_is_kept() -> None:
    text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --bogus 1 2 -s 10.0.0.1 -j DROP\nCOMMIT\n"
    rs = parse_iptables_save(text, backend="nft", family="ipv4")
    r = rs.table("filter").chain("INPUT").rules[0]
    assert r.unparsed == "--bogus 1 2" and r.target == "DROP" and r.source == Value("10.0.0.1")
    assert rs.problems == ["line 3: unknown option --bogus for this rule"]
    rs = parse_iptables_save(
        "*filter\n:INPUT ACCEPT [0:0]\n[1:x] -A INPUT -j ACCEPT\nCOMMIT\n", backend="nft", family="ipv4"
    )
    r = rs.table("filter").chain("INPUT").rules[0]
    assert r.verbatim == "-A INPUT -j ACCEPT" and r.counters is None and r.target == "ACCEPT"
    # truncated in the middle: what was read is kept
    rs = parse_iptables_save(
        "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination",
        backend="nft",
        family="ipv4",
    )
    r = rs.table("nat").chain("PREROUTING").rules[0]
    assert r.target == "DNAT" and r.unparsed and r.match("tcp").option("dport").value == "80"


def test_fuzz_never_raises() -> None:
    src = (GOLDEN / "iptables-filter-nft" / "nf.iptables-nft.txt").read_text()
    rnd = random.Random(7)
    alphabet = list(src) + ['"', "\\", "!", "-", "[", "]", ":", "\n", "*", " "]
    for _ in range(300):
        chars = list(src)
        for _ in range(rnd.randrange(1, 40)):
            k = rnd.randrange(len(chars))
            op = rnd.randrange(3)
            if op == 0:
                del chars[k]
            elif op == 1:
                chars.insert(k, rnd.choice(alphabet))
            else:
                chars[k] = rnd.choice(alphabet)
        text = "".join(chars)[: rnd.randrange(len(chars) + 1)]
        rs = parse_iptables_save(text, backend="nft", family="ipv4")
        assert not any("internal error" in p for p in rs.problems), rs.problems
    assert parse_iptables_save(None, backend="nft", family="ipv4").tables == []  # type: ignore[arg-type]


def test_tokenize_like_iptables_restore() -> None:
    assert tokenize('-A X --comment "a b" -j Y') == (["-A", "X", "--comment", "a b", "-j", "Y"], {3}, None)
    assert tokenize('--comment "" -j Y')[0] == ["--comment", "", "-j", "Y"]
    assert tokenize(r'--comment "a \"b\" \\c \'d" x')[0] == ["--comment", 'a "b" \\c \'d', "x"]
    assert tokenize('a"b c"d')[0] == ["ab c", "d"]  # a closing quote ends the token
    assert tokenize('x "open')[2] == "unterminated quote"


def test_port_and_mark_helpers() -> None:
    assert port_ranges("22") == [(22, 22)]
    assert port_ranges(":1024") == [(0, 1024)] and port_ranges("1024:") == [(1024, 65535)]
    assert port_ranges("ssh") is None and port_ranges("70000") is None
    assert value_and_mask("0x10") == (16, 0xFFFFFFFF) and value_and_mask("zz") is None


# --- from_snapshot with missing / failed records -----------------------------------------------


def test_snapshot_unknowns() -> None:
    snap = Snapshot()
    snap.add(
        Record("nf.iptables-nft", ("iptables-nft-save",), "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j DROP\nCOMMIT\n")
    )
    snap.add(
        Record("nf.iptables-legacy", ("iptables-legacy-save",), "", exit_code=None, error="needs root (sudo -n failed)")
    )
    snap.add(
        Record(
            "nf.ip6tables-nft",
            ("ip6tables-nft-save",),
            "",
            exit_code=1,
            stderr="ip6tables-nft-save: no kernel support\n",
        )
    )
    snap.add(Record("nf.legacy-tables", ("cat", "/proc/net/ip_tables_names"), "filter\n"))
    snap.add(
        Record(
            "nf.legacy6-tables",
            ("cat", "/proc/net/ip6_tables_names"),
            "",
            exit_code=1,
            stderr="cat: /proc/net/ip6_tables_names: No such file or directory",
        )
    )
    f = from_snapshot(snap)
    assert f.iptables_nft.unknown is None and f.iptables_nft.rule_count() == 1
    assert f.iptables_legacy.unknown == Unknown("needs root (sudo -n failed)", "iptables-legacy-save")
    assert f.ip6tables_nft.unknown.reason.startswith("exit code 1: ip6tables-nft-save: no kernel support")
    assert f.ip6tables_legacy.unknown == Unknown("not captured in this snapshot", "ip6tables-legacy-save")
    assert f.ip6tables_legacy.backend == "legacy" and f.ip6tables_legacy.family == "ipv6"
    assert f.legacy_tables == ["filter"] and f.legacy6_tables == [] and f.legacy_loaded is True
    assert any("could not be read" in w and "nf.iptables-legacy" in w for w in f.warnings)
    json.dumps(dataclasses.asdict(f))
    assert from_snapshot(Snapshot()).legacy_loaded is None


# --- scale (speed is measured in bench/, not here) -------------------------------------------


def test_parses_10k_rules() -> None:
    lines = ["*filter", ":INPUT DROP [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":U - [0:0]"]
    for k in range(10000):
        lines.append(
            f"-A INPUT -s 10.{k % 256}.0.0/16 -p tcp -m multiport --dports {k},{k + 1} -m conntrack "
            f'--ctstate NEW -m comment --comment "r {k}" -j REJECT --reject-with tcp-reset'
        )
    rs = parse_iptables_save("\n".join(lines + ["COMMIT", ""]), backend="nft", family="ipv4")
    assert rs.rule_count() == 10000 and rs.problems == []
    assert rs.table("filter").chain("INPUT").rules[9999].verbatim == lines[-1]


# --- regenerate with the real tools -------------------------------------------------------------


@pytest.mark.realtools
def test_regenerate_with_real_tools(tmp_path: Path) -> None:
    from realtools import can_run

    reason = can_run()
    if reason is not None:
        pytest.skip(f"real iptables tools cannot run here: {reason}")
    sys.path.insert(0, str(GOLDEN))
    import gen_iptables

    (out,) = gen_iptables.generate(tmp_path, ["mixed"])
    f = from_snapshot(load(out))
    assert all(rs.unknown is None and rs.problems == [] for rs in f.rulesets())
    assert rule(f.iptables_nft, "filter", "INPUT", 1).target == "ACCEPT"
    assert rule(f.iptables_legacy, "filter", "INPUT", 1).target == "DROP"
    assert f.legacy_loaded is True and any("both backends" in w for w in f.warnings)
    assert (out / "CASE.md").is_file()
