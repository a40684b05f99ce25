"""Kernel agreement for what the front ends generate — real firewalld (private D-Bus, both
backends) and real ufw (private config) — and for the cases where the honest answer is an
assumption or "unknown"."""

from __future__ import annotations


import pytest
from kernel import Ruleset, agreeing, run_case
from realtools import Firewalld, Ufw
from test_kernel_agreement import PORTS4, ipt

pytestmark = pytest.mark.realtools

V4 = PORTS4
V6 = [(p, proto, 6) for p in (8080, 8081, 8082) for proto in ("tcp", "udp")]


def agree(pair, targets, rs: Ruleset | None = None, label: str = ""):
    outcomes = agreeing(pair, rs or Ruleset(label=label), targets)
    return {(o.port, o.proto, o.family): o for o in outcomes}


@pytest.mark.parametrize("backend", ["nftables", "iptables"])
def test_firewalld_zones_ports_rich_rules_forward_ports(pair, backend):
    fw = Firewalld(pair.srv, backend=backend)
    try:
        default = agree(pair, V4, label=f"firewalld {backend} default")
        assert default[(8080, "tcp", 4)].kernel != "accept"  # the public zone rejects it
        fw.cmd("--zone=public", "--add-port=8080/tcp")
        fw.cmd("--zone=public", "--add-port=8081/udp")
        fw.cmd(
            "--zone=public",
            "--add-rich-rule",
            f'rule family="ipv4" source address="{pair.cli_ip}" port port="8082" protocol="tcp" reject type="tcp-reset"',
        )
        fw.cmd("--zone=public", "--add-rich-rule", 'rule family="ipv4" port port="8082" protocol="udp" drop')
        fw.cmd("--zone=public", "--add-forward-port=port=2222:proto=tcp:toport=8081")
        configured = agree(pair, V4, label=f"firewalld {backend} configured")
        assert configured[(8080, "tcp", 4)].kernel == "accept"
        assert configured[(8082, "tcp", 4)].kernel == "refused:rst"
        assert configured[(8082, "udp", 4)].kernel == "drop"
        blocker = configured[(8081, "tcp", 4)].trace["first_blocker"]
        assert blocker["owner"] == "firewalld" and "public" in blocker["edit"]
        assert blocker["fixes"][0]["commands"][0] == "firewall-cmd --zone=public --add-port=8081/tcp"
    finally:
        fw.stop()


def test_firewalld_source_zone_and_target(pair):
    fw = Firewalld(pair.srv)
    try:
        fw.cmd("--permanent", "--new-zone=wsl")
        fw.cmd("--permanent", "--zone=wsl", f"--add-source={pair.cli_ip}/32")
        fw.cmd("--permanent", "--zone=wsl", "--add-port=8081/tcp")
        fw.cmd("--permanent", "--zone=wsl", "--set-target=DROP")
        fw.cmd("--permanent", "--zone=public", "--add-port=8080/tcp")
        fw.cmd("--reload")
        seen = agree(pair, V4, label="firewalld source zone")
        assert seen[(8081, "tcp", 4)].kernel == "accept"
        assert seen[(8080, "tcp", 4)].kernel == "drop"  # the source zone wins over public, and drops
    finally:
        fw.stop()


def test_ufw_allow_deny_reject_limit_defaults(pair):
    ufw = Ufw(pair.srv)
    ufw.cmd("--force", "enable")
    for args in (
        ("allow", "8080/tcp"),
        ("deny", "8081/udp"),
        ("reject", "8082/tcp"),
        ("limit", "8081/tcp"),
        ("allow", "proto", "udp", "from", pair.cli_ip, "to", "any", "port", "8080"),
    ):
        ufw.cmd(*args)
    seen = agree(pair, V4 + V6, label="ufw")
    assert seen[(8080, "tcp", 4)].kernel == "accept"
    assert seen[(8082, "tcp", 4)].kernel == "refused:rst"
    assert seen[(9090 if False else 8081, "udp", 4)].kernel == "drop"
    limited = seen[(8081, "tcp", 4)].trace
    assert limited["reachable"] is True
    assert any(h["verdict"] == "assumed" and "recent" in (h["assumption"] or "") for h in limited["hops"])
    denied = seen[(8081, "udp", 4)].trace["first_blocker"]
    assert denied["owner"] == "ufw" and denied["fixes"][0]["front_end"] == "ufw"
    ufw.cmd("default", "reject", "incoming")
    agree(pair, V4, label="ufw default reject")


def test_docker_shaped_chains(pair):
    rules = ipt(
        """
-A INPUT -j DOCKER-USER
-A DOCKER-USER -p udp -m udp --dport 8081 -j DROP
-A DOCKER-USER -j RETURN
""",
        chains=":DOCKER-USER - [0:0]\n",
        nat="""
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A DOCKER -p tcp -m tcp --dport 2222 -j DNAT --to-destination @SRV@:8080
""".replace("*nat", ""),
    ).replace(":POSTROUTING ACCEPT [0:0]\n", ":POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n")
    seen = agree(pair, V4, Ruleset(nft4=rules, label="docker"))
    first = seen[(8081, "udp", 4)].trace["first_blocker"]
    # a rule in DOCKER-USER is the user's own (Docker leaves that chain to them), fixed there
    assert first["owner"] == "iptables-nft" and first["edit"].startswith("Your rule in DOCKER-USER"), first
    assert all(" DOCKER-USER " in c for f in first["fixes"] for c in f["commands"]), first["fixes"]


def test_ipv6_neighbor_discovery_blocked(pair):
    rs = Ruleset(
        nft="table ip6 t {\n chain input { type filter hook input priority 0; policy drop; tcp dport 8080 accept; }\n}\n",
        label="nd blocked",
    )
    seen = agree(pair, V6, rs)
    trace = seen[(8080, "tcp", 6)].trace
    assert trace["symptom"] == "timeout" and "neighbor discovery" in trace["first_blocker"]["explanation"]


def test_established_packets_blocked(pair):
    rules = ipt("""
-A INPUT -p tcp -m conntrack --ctstate NEW -m tcp --dport 8080 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8081 -m conntrack --ctstate NEW -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8081 -j REJECT --reject-with tcp-reset
-A INPUT -p tcp -j DROP
""")
    seen = agree(pair, V4, Ruleset(legacy4=rules, label="established blocked"))
    assert seen[(8080, "tcp", 4)].kernel == "drop"  # the handshake completes on the client, then hangs
    assert "next packet" in seen[(8080, "tcp", 4)].trace["first_blocker"]["explanation"]


def test_nat_in_both_backends_is_unknown(pair):
    """Two NAT rules at one priority in iptables-legacy and nf_tables: the kernel runs the table
    created last first, which no snapshot tells. The simulator must say so, not guess."""
    legacy = ipt("", nat="-A PREROUTING -p tcp -m tcp --dport 2222 -j REDIRECT --to-ports 8080")
    nft = "table ip n {\n chain pre { type nat hook prerouting priority dstnat; policy accept; tcp dport 2222 redirect to :8082; }\n}\n"
    outcomes = run_case(pair, Ruleset(legacy4=legacy, nft=nft, label="nat twice"), [(2222, "tcp", 4)])
    trace = outcomes[0].trace
    assert trace["reachable"] is None
    assert any("two NAT rules" in (h["reason"] or "") for h in trace["hops"])
