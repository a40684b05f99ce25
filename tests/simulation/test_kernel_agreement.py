"""The simulator agrees with the kernel: hand-written cases for each match and target, then a
seeded generator of varied rulesets. Every disagreement fails the test with the ruleset."""

from __future__ import annotations

import os
import random

import pytest
from kernel import Ruleset, agreeing, report, run_case
from realtools import netns_pair
from rulegen import generate

pytestmark = pytest.mark.realtools

PORTS4 = [(p, proto, 4) for p in (8080, 8081, 8082, 2222) for proto in ("tcp", "udp")]

HEADER = "*filter\n:INPUT {policy} [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"


def ipt(rules: str, policy: str = "ACCEPT", chains: str = "", nat: str = "", mangle: str = "") -> str:
    text = HEADER.format(policy=policy) + chains + rules.strip() + "\nCOMMIT\n"
    if nat:
        text += (
            "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
            + nat.strip()
            + "\nCOMMIT\n"
        )
    if mangle:
        text += (
            "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
            ":POSTROUTING ACCEPT [0:0]\n" + mangle.strip() + "\nCOMMIT\n"
        )
    return text


IPT_CASES = {
    "accept-drop-reject": ipt("""
-A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8081 -j DROP
-A INPUT -p udp -m udp --dport 8081 -j REJECT
-A INPUT -p tcp -m tcp --dport 8082 -j REJECT --reject-with tcp-reset
-A INPUT -p udp -m udp --dport 8082 -j REJECT --reject-with icmp-host-prohibited
"""),
    "policy-drop-with-allows": ipt(
        """
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m multiport --dports 8080,8082 -j ACCEPT
-A INPUT -p udp -m udp --dport 8080:8081 -j ACCEPT
""",
        policy="DROP",
    ),
    "sources-interfaces-negation": ipt("""
-A INPUT -s @CLI@/32 -p tcp -m tcp --dport 8080 -j REJECT --reject-with icmp-admin-prohibited
-A INPUT ! -s @CLI@/32 -p tcp -m tcp --dport 8081 -j DROP
-A INPUT -i @IFPREFIX@+ -p udp -m udp ! --dport 8080 -j REJECT --reject-with icmp-net-unreachable
-A INPUT -i lo -p tcp -j DROP
"""),
    "user-chains-jump-goto-return": ipt(
        """
-A INPUT -p tcp -j CHECK
-A INPUT -p udp -g UDPCHK
-A INPUT -p tcp -m tcp --dport 8082 -j REJECT --reject-with tcp-reset
-A CHECK -p tcp -m tcp --dport 8080 -j RETURN
-A CHECK -p tcp -m tcp --dport 8081 -j DROP
-A UDPCHK -p udp -m udp --dport 8081 -j RETURN
-A UDPCHK -p udp -j DROP
""",
        chains=":CHECK - [0:0]\n:UDPCHK - [0:0]\n",
    ),
    "addrtype-iprange-conntrack-comment": ipt("""
-A INPUT -m addrtype ! --dst-type LOCAL -j DROP
-A INPUT -m iprange --src-range @CLI@-@CLI@ -p udp -m udp --dport 8080 -m comment --comment "wsl \\"quoted\\" test" -j DROP
-A INPUT -p tcp -m conntrack --ctstate NEW -m tcp --dport 8081 -j REJECT --reject-with icmp-port-unreachable
-A INPUT -p tcp -m state --state ESTABLISHED -j DROP
-A INPUT -p tcp -m tcp --syn --dport 8082 -j DROP
"""),
    "nat-redirect-dnat-then-filter": ipt(
        """
-A INPUT -p tcp -m conntrack --ctstate DNAT -m tcp --dport 8081 -j DROP
-A INPUT -p udp -m conntrack --ctstatus CONFIRMED -j DROP
-A INPUT -p udp -m conntrack --ctorigdstport 2222 -j REJECT
""",
        nat="""
-A PREROUTING -p tcp -m tcp --dport 2222 -j REDIRECT --to-ports 8081
-A PREROUTING -p udp -m udp --dport 2222 -j DNAT --to-destination @SRV@:8080
-A PREROUTING -p tcp -m tcp --dport 8082 -j DNAT --to-destination @SRV@:8080
""",
    ),
    "mark-set-then-matched": ipt(
        """
-A INPUT -m mark --mark 0x1/0xff -j DROP
-A INPUT -p udp -m mark ! --mark 0x2 -m udp --dport 8081 -j REJECT
""",
        mangle="""
-A PREROUTING -p tcp -m tcp --dport 8080 -j MARK --set-xmark 0x1/0xffffffff
-A PREROUTING -p udp -m udp --dport 8080 -j MARK --set-xmark 0x2/0xffffffff
""",
    ),
}


def _check(pair, rs: Ruleset, targets=PORTS4):
    return agreeing(pair, rs, targets)


@pytest.mark.parametrize("name", sorted(IPT_CASES))
@pytest.mark.parametrize("backend", ["legacy4", "nft4"])
def test_iptables_case(pair, name, backend):
    _check(pair, Ruleset(**{backend: IPT_CASES[name]}, label=f"{backend} {name}"))


def test_both_backends_see_the_packet(pair):
    """An ACCEPT in iptables-nft does not spare the packet from iptables-legacy's DROP."""
    rs = Ruleset(
        nft4=ipt("-A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT"),
        legacy4=ipt("-A INPUT -p tcp -m tcp --dport 8080 -j DROP\n-A INPUT -p udp -j REJECT"),
        label="split",
    )
    outcomes = _check(pair, rs)
    assert {(o.port, o.proto): o.kernel for o in outcomes}[(8080, "tcp")] == "drop"


IPV6 = [(p, proto, 6) for p in (8080, 8081, 8082) for proto in ("tcp", "udp")]


@pytest.mark.parametrize("backend", ["legacy6", "nft6"])
def test_ipv6_iptables(pair, backend):
    rules = ipt("""
-A INPUT -p ipv6-icmp -j ACCEPT
-A INPUT -s @CLI6@/128 -p tcp -m tcp --dport 8080 -j REJECT --reject-with icmp6-adm-prohibited
-A INPUT -p udp -m udp --dport 8080 -j REJECT --reject-with icmp6-addr-unreachable
-A INPUT -p tcp -m tcp --dport 8081 -j REJECT --reject-with tcp-reset
-A INPUT -p udp -m udp --dport 8081 -j DROP
""")
    _check(pair, Ruleset(**{backend: rules}, label=backend), IPV6)


NFT_CASES = {
    "inet-sets-and-rejects": """
table inet t {
  set allowed { type inet_service; elements = { 8080, 9090 } }
  set nets { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.168.0.0/16 } }
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iifname "lo" accept
    meta nfproto ipv6 accept
    tcp dport @allowed accept
    ip saddr @nets udp dport 8081 reject with icmpx type admin-prohibited
    udp dport 8082 reject
    tcp dport 8081 reject with tcp reset
    udp dport { 8080, 2222 } accept
  }
}""",
    "priorities-accept-only-ends-its-chain": """
table inet early {
  chain input { type filter hook input priority -10; policy accept; tcp dport 8080 accept; }
}
table ip late {
  chain input { type filter hook input priority 10; policy accept; tcp dport 8080 drop; udp dport 8081 drop; }
}
table inet mid {
  chain input { type filter hook input priority 0; policy accept; udp dport 8081 accept; meta l4proto udp th dport 8082 reject with icmp type host-unreachable; }
}""",
    "vmap-concat-jump-goto": """
table inet t {
  set pairs { type ipv4_addr . inet_service; elements = { @CLI@ . 8080, 10.9.9.9 . 8081 } }
  chain input {
    type filter hook input priority 0; policy accept;
    meta l4proto vmap { tcp : jump tcpchk, udp : goto udpchk }
  }
  chain tcpchk {
    ip saddr . tcp dport @pairs drop
    tcp dport 8081-8082 return
    tcp dport 2222 reject with tcp reset
  }
  chain udpchk {
    udp dport 8080 return
    udp dport != 8081 drop
  }
}""",
    "nat-redirect-and-dnat": """
table ip nat {
  chain prerouting { type nat hook prerouting priority dstnat; policy accept;
    tcp dport 2222 redirect to :8081
    udp dport 2222 dnat to @SRV@:8080
  }
}
table inet filter {
  chain input { type filter hook input priority 0; policy accept;
    ct status dnat tcp dport 8081 drop
    udp dport 8080 ct original proto-dst 2222 reject
    fib daddr type local tcp dport 8082 reject with icmpx type host-unreachable
  }
}""",
    "firewalld-shaped-with-marks": """
table inet fw {
  chain mangle_pre { type filter hook prerouting priority -150; policy accept; tcp dport 8080 meta mark set 0x5; }
  chain filter_INPUT {
    type filter hook input priority 10; policy accept;
    ct state { established, related } accept
    ct status dnat accept
    iifname "lo" accept
    jump filter_INPUT_ZONES
    reject with icmpx admin-prohibited
  }
  chain filter_INPUT_ZONES { iifname "@IFPREFIX@*" goto filter_IN_public; goto filter_IN_public; }
  chain filter_IN_public {
    jump filter_IN_public_deny
    jump filter_IN_public_allow
    meta l4proto { icmp, ipv6-icmp } accept
    reject with icmpx admin-prohibited
  }
  chain filter_IN_public_deny { meta mark 0x5 drop; }
  chain filter_IN_public_allow { tcp dport 22 accept; udp dport 8081 accept; }
}""",
}


@pytest.mark.parametrize("name", sorted(NFT_CASES))
def test_nft_case(pair, name):
    _check(pair, Ruleset(nft=NFT_CASES[name], label=f"nft {name}"))


def test_generated_rulesets():
    """Hundreds of seeded random rulesets across every backend; the tally goes in the summary."""
    count = int(os.environ.get("WSLTUI_KERNEL_RULESETS", "200"))
    seed = int(os.environ.get("WSLTUI_KERNEL_SEED", "20261127"))
    rng = random.Random(seed)
    failures = []
    for i in range(count):
        rs, targets = generate(rng, i)
        with netns_pair("wg", 90 + i % 7) as pair:
            outcomes = run_case(pair, rs, targets, timeout=0.1)
        if not all(o.agree for o in outcomes):
            failures.append(report(rs, outcomes))
    assert not failures, f"{len(failures)} of {count} rulesets disagree (seed {seed}):\n\n" + "\n\n".join(failures[:5])
