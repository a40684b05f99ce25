"""The constructs real rulesets use, with the kernel as the judge: nft ``iif``/``oif`` by
interface index (OpenWrt fw4), connection marks carried to the established packet (Tailscale's
CONNMARK / ``ct mark`` rules, iptables and nft form), and ipset matches. Every probe must be
decided and agree with the kernel (kernel.run_case fails on an ``unknown``)."""

from __future__ import annotations


import pytest
from kernel import Ruleset, agreeing, run_case
from test_kernel_agreement import PORTS4, ipt

pytestmark = pytest.mark.realtools

TARGETS = [(p, proto, 4) for p in (8080, 8081, 8082, 9090) for proto in ("tcp", "udp")]


def _check(pair, rs: Ruleset, targets=TARGETS):
    return {(o.port, o.proto): o for o in agreeing(pair, rs, targets)}


FW4 = """
table inet fw4 {
  chain input {
    type filter hook input priority filter; policy drop;
    iif "lo" accept comment "!fw4: Accept traffic from loopback"
    ct state vmap { established : accept, related : accept }
    iifname "@SRVIF@" jump input_lan comment "!fw4: Handle lan IPv4/IPv6 input traffic"
  }
  chain input_lan {
    tcp dport 8080 counter accept
    udp dport { 8080, 8081 } accept
    oif "lo" drop
    iif != "lo" tcp dport 8081 jump reject_from_lan
    jump reject_from_lan
  }
  chain reject_from_lan {
    meta l4proto tcp reject with tcp reset comment "!fw4: reject lan IPv4/IPv6 input traffic"
    reject with icmpx type admin-prohibited
  }
}"""


def test_fw4_iif_lo(pair):
    seen = _check(pair, Ruleset(nft=FW4, label="fw4 iif lo"))
    assert seen[(8080, "tcp")].kernel == "accept" and seen[(8081, "tcp")].kernel == "refused:rst"


# Tailscale keeps its mark bits in 0xff0000 and carries them on the connection (CONNMARK
# --save-mark / --restore-mark with those masks). Port 8081's connection gets a mark on its first
# packet; a rule that drops marked established packets then breaks it right after it opens.
TS_MANGLE = """
-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff0000 --ctmask 0xff0000
-A PREROUTING -p tcp -m tcp --dport 8081 -j MARK --set-xmark 0x40000/0xff0000
-A PREROUTING -p udp -m udp --dport 8082 -j MARK --set-xmark 0x80000/0xff0000
-A PREROUTING -m mark ! --mark 0x0/0xff0000 -j CONNMARK --save-mark --nfmask 0xff0000 --ctmask 0xff0000
"""
TS_FILTER = """
-A INPUT -m conntrack --ctstate ESTABLISHED -m connmark --mark 0x40000/0xff0000 -j DROP
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p udp -m connmark --mark 0x80000/0xff0000 -j REJECT
-A INPUT -p tcp -m tcp --dport 8082 -m connmark ! --mark 0x0/0xff0000 -j REJECT --reject-with tcp-reset
-A INPUT -p tcp -m tcp --dport 9090 -j CONNMARK --set-xmark 0x10000/0xff0000
-A INPUT -p tcp -m connmark --mark 0x10000/0xff0000 -m tcp --dport 9090 -j REJECT --reject-with tcp-reset
"""


@pytest.mark.parametrize("backend", ["legacy4", "nft4"])
def test_tailscale_connmark_iptables(pair, backend):
    seen = _check(pair, Ruleset(**{backend: ipt(TS_FILTER, mangle=TS_MANGLE)}, label=f"{backend} connmark"))
    assert seen[(8081, "tcp")].kernel == "drop"  # opens, then the established packet is dropped
    assert seen[(8082, "udp")].kernel == "refused:icmp" and seen[(9090, "tcp")].kernel == "refused:rst"


TS_NFT = """
table ip ts_mangle {
  chain pre {
    type filter hook prerouting priority mangle; policy accept;
    meta mark set ct mark and 0xff0000
    tcp dport 8081 meta mark set meta mark and 0xff00ffff or 0x40000
    udp dport 8082 meta mark set meta mark and 0xff00ffff or 0x80000
    ct mark set meta mark and 0xff0000
  }
}
table inet ts_filter {
  chain input {
    type filter hook input priority filter; policy accept;
    ct state established ct mark and 0xff0000 == 0x40000 drop
    ct state established,related accept
    meta l4proto udp ct mark & 0xff0000 == 0x80000 reject
    tcp dport 9090 ct mark set 0x7
    tcp dport 9090 ct mark 0x7 reject with tcp reset
  }
}"""


def test_tailscale_connmark_nft(pair):
    seen = _check(pair, Ruleset(nft=TS_NFT, label="nft connmark"))
    assert seen[(8081, "tcp")].kernel == "drop" and seen[(9090, "tcp")].kernel == "refused:rst"


IPSETS = """
create allow hash:ip,port family inet
add allow @CLI@,tcp:8080
add allow @CLI@,udp:9090
create lan hash:net family inet
add lan @NET@
add lan @CLI@/32 nomatch
create ports bitmap:port range 0-10000
add ports 8082
create both list:set
add both ports
"""
IPSET_RULES = """
-A INPUT -m set --match-set allow src,dst -j ACCEPT
-A INPUT -p tcp -m set --match-set lan src -j REJECT --reject-with tcp-reset
-A INPUT -p udp -m set --match-set both dst -j REJECT
-A INPUT -p tcp -m set ! --match-set ports dst -m tcp --dport 8081 -j REJECT --reject-with icmp-admin-prohibited
"""


@pytest.mark.parametrize("backend", ["legacy4", "nft4"])
def test_ipset_match(pair, backend):
    seen = _check(pair, Ruleset(ipset=IPSETS, **{backend: ipt(IPSET_RULES, policy="DROP")}, label=f"{backend} ipset"))
    assert seen[(8080, "tcp")].kernel == "accept" and seen[(8082, "udp")].kernel == "refused:icmp"


def test_ipset_unreadable_is_unknown(pair, monkeypatch):
    """Without ``ipset save`` the match is undecided: named, never guessed."""
    import kernel

    monkeypatch.setattr(kernel, "NETFILTER_PROBES", [p for p in kernel.NETFILTER_PROBES if p.name != "nf.ipset"])
    outcomes = run_case(pair, Ruleset(ipset=IPSETS, legacy4=ipt(IPSET_RULES, policy="DROP")), [(8080, "tcp", 4)])
    assert outcomes[0].predicted.startswith("unknown") and "ipset save" in outcomes[0].predicted
    kernel.TALLY["packets"] -= 1  # a deliberate unknown, not a disagreement
    kernel.TALLY["unknown"] -= 1


assert PORTS4  # the agreement suite's ports, shared
