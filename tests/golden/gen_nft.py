"""Generate the ``nft-*`` golden snapshots with the real ``nft`` (and iptables-nft) inside network
namespaces, captured by wsltui's own probes.

Run as root from the repo root: ``python tests/golden/gen_nft.py [case ...]`` (rewrites
tests/golden/nft-<case>/). Namespaces use the prefix ``gnf`` and subnet indices 50-59; only the
namespaces created here are touched, and they are deleted at the end.

Each case directory holds the snapshot (``nf.nft.txt`` = ``nft -j list ruleset`` and the other
records) plus ``nft-text.expected``: plain ``nft list ruleset`` taken right after, which the tests
compare the parser's text rendering against.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE.parent / "support"))

from realtools import NetnsPair, ns_run  # noqa: E402

PREFIX = "gnf"

# Tokens replaced per namespace pair: %IF% server veth, %NET% = 10.77.<index>, %SRV% server IPv4,
# %SRV6% server IPv6, %CLI% client IPv4.

INET_FILTER = r"""
table inet wsl {
	set allowed_tcp {
		type inet_service
		elements = { 22, 8080 }
	}
	set trusted4 {
		type ipv4_addr
		flags interval
		elements = { 10.0.0.0/8, 192.168.1.10-192.168.1.20, 172.16.5.5 }
	}
	set trusted6 {
		type ipv6_addr
		flags interval
		elements = { fd00::/8, ::1 }
	}
	set pairs {
		type ipv4_addr . inet_service
		elements = { %CLI% . 8081, %NET%.3 . 8082 }
	}
	set blocked_ports {
		type inet_service
		flags interval
		elements = { 9000-9010, 9100 }
	}
	set ifaces {
		type ifname
		elements = { "lo", "%IF%" }
	}
	set dyn {
		type ipv4_addr
		flags dynamic,timeout
		timeout 1m
		size 1024
	}
	map portmap {
		type inet_service : ipv4_addr
		elements = { 80 : %SRV%, 443 : %NET%.9 }
	}
	map port_verdicts {
		type inet_service : verdict
		elements = { 8083 : accept, 8084 : drop, 8085 : jump web }
	}
	map marks {
		type ipv4_addr : mark
		elements = { %CLI% : 0x00000010 }
	}
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		ct status dnat accept
		iifname "lo" accept
		iifname != "lo" ip daddr 127.0.0.0/8 drop
		meta l4proto { tcp, udp } th dport 53 accept
		tcp dport @allowed_tcp accept
		ip saddr @trusted4 tcp dport 3000-3005 accept
		ip6 saddr @trusted6 accept
		ip saddr . tcp dport @pairs accept
		ip saddr . tcp dport { %NET%.4 . 8086, %NET%.5 . 8087 } accept
		tcp dport vmap @port_verdicts
		tcp dport vmap { 8088 : accept, 8089 : drop }
		tcp dport != { 1-1023, 8000-8999 } tcp flags syn counter jump checks
		fib daddr type local tcp dport 7000 accept
		fib daddr type != local drop
		meta l4proto icmp accept
		icmpv6 type { nd-neighbor-solicit, echo-request } accept
		icmp type echo-request limit rate 5/second burst 10 packets accept
		iifname @ifaces tcp dport 7001 accept
		meta mark 0x00000042 accept
		meta mark set 0x00000007
		ct mark set meta mark
		tcp dport 9200 log prefix "wsl-in: " level info drop
		tcp dport 9201 log
		udp dport 9202 counter reject
		tcp dport 9203 reject with tcp reset
		tcp dport 9204 reject with icmp type host-prohibited
		tcp dport 9205 reject with icmpx type admin-prohibited
		tcp dport 9206 reject with icmpv6 type admin-prohibited
		tcp dport 9207 reject with icmpx type port-unreachable
		tcp dport 9208 reject with icmp type port-unreachable
		tcp dport 9209 reject with icmpx type host-unreachable
		tcp dport @blocked_ports goto web
		ip saddr %NET%.0/24 udp dport 5000-5100 accept
		ip daddr != { %SRV%, %NET%.255 } ip protocol udp drop
		tcp dport 9301 continue
		ip saddr @dyn drop
		tcp dport 9302 add @dyn { ip saddr }
		tcp dport 9303 update @dyn { ip saddr timeout 30s }
		meta nfproto ipv6 tcp dport 9304 accept
		tcp dport 9305 ct count over 10 drop
		tcp dport 9306 meta priority set 1:2
		tcp dport 9307 accept comment "allow 9307"
		counter reject with icmpx type admin-prohibited
	}
	chain web {
		tcp dport 8085 accept
		ip saddr %NET%.66 return
		limit rate over 100/minute drop
		accept
	}
	chain checks {
		tcp flags & (syn | ack) == syn counter
		tcp option maxseg size 1-500 drop
		ip ttl < 5 drop
		ip length > 1000 drop
		return
	}
	chain forward {
		type filter hook forward priority filter + 10; policy accept;
		ct state new meta mark & 0x0000ff00 == 0x00000100 accept
		oifname "%IF%" ip daddr != %NET%.0/24 drop
	}
	chain output {
		type filter hook output priority -5; policy accept;
		oifname "%IF%" meta skuid 0 accept
	}
	chain pre_raw {
		type filter hook prerouting priority raw; policy accept;
		tcp dport 7777 notrack
	}
	chain pre_mangle {
		type filter hook prerouting priority mangle - 5; policy accept;
		meta mark set ip saddr map @marks
	}
}
"""

NAT_FAMILIES = r"""
table ip nat4 {
	map fwdmap {
		type inet_service : ipv4_addr . inet_service
		elements = { 2223 : %SRV% . 22 }
	}
	chain prer {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport 2222 redirect to :22
		tcp dport 3333 dnat to %SRV%:8080
		tcp dport 3334 dnat to %SRV%
		tcp dport 3335-3340 dnat to %SRV%:8000-8005
		iifname "%IF%" tcp dport 4444 redirect
		dnat to tcp dport map { 5555 : %SRV%, 5556 : %NET%.2 }
		dnat ip addr . port to tcp dport map @fwdmap
	}
	chain outp {
		type nat hook output priority -100; policy accept;
		ip daddr 127.0.0.1 tcp dport 6000 dnat to %SRV%:6001
	}
	chain postr {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "%IF%" masquerade
		ip saddr 10.0.0.0/8 snat to %SRV%
		ip saddr 10.1.0.0/16 meta l4proto tcp masquerade to :1024-2048 random,persistent
		ip saddr 10.2.0.0/16 snat to %NET%.1-%NET%.5 fully-random
	}
	chain inhook {
		type nat hook input priority 100; policy accept;
	}
}
table ip6 nat6 {
	chain prer6 {
		type nat hook prerouting priority dstnat - 10; policy accept;
		tcp dport 1 dnat to %SRV6%
		tcp dport 2 dnat to [%SRV6%]:80
		tcp dport 3 dnat to fd77::1-fd77::5
		tcp dport 4 dnat to [%SRV6%]:80-90
		tcp dport 5 redirect to :8080
	}
}
table ip6 filter {
	chain in6 {
		type filter hook input priority -10; policy accept;
		tcp dport 80 reject with icmpv6 type port-unreachable
		tcp dport 81 reject with icmpv6 type admin-prohibited
		tcp dport 82 reject
		tcp dport 83 reject with tcp reset
		udp dport 84 reject with icmpv6 type no-route
		udp dport 85 reject with icmpv6 type addr-unreachable
		ip6 saddr fd77::/16 ip6 nexthdr tcp accept
		ip6 daddr != %SRV6% drop
		meta l4proto ipv6-icmp accept
		icmpv6 type echo-request accept
	}
	chain mangle6 {
		type filter hook prerouting priority -150; policy accept;
	}
	chain early {
		type filter hook input priority -200; policy drop;
		iifname "lo" accept
		ip6 saddr fd77::/16 accept
	}
	chain sec {
		type filter hook input priority 50; policy accept;
	}
	chain odd {
		type filter hook input priority 37; policy accept;
	}
}
table inet nat46 {
	chain prer {
		type nat hook prerouting priority dstnat + 5; policy accept;
		tcp dport 7000 dnat ip to %SRV%:7001
		tcp dport 7000 dnat ip6 to [%SRV6%]:7001
		meta nfproto ipv4 tcp dport 7002 redirect to :7003
	}
	chain post {
		type nat hook postrouting priority srcnat + 1; policy accept;
		oifname "%IF%" meta nfproto ipv6 masquerade
	}
}
table ip ipfilt {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 80 reject
		tcp dport 81 reject with icmp type host-unreachable
		tcp dport 82 reject with icmp type port-unreachable
		tcp dport 83 reject with icmp type net-unreachable
		tcp dport 84 reject with icmp type admin-prohibited
		ip protocol tcp tcp dport 85 ct state new counter accept comment "allow 85"
		ip saddr { 10.0.0.0/8, 192.168.0.0/16 } drop
	}
	chain prio_low {
		type filter hook input priority -289; policy accept;
	}
	chain prio_11 {
		type filter hook input priority 11; policy accept;
	}
	chain prio_40 {
		type filter hook input priority 40; policy accept;
	}
}
table arp arpt {
	chain arpin {
		type filter hook input priority filter; policy accept;
	}
	chain arpout {
		type filter hook output priority 3; policy accept;
	}
}
table bridge br {
	chain brfwd {
		type filter hook forward priority 0; policy accept;
	}
	chain brpre {
		type filter hook prerouting priority -300; policy accept;
	}
	chain brout {
		type filter hook output priority 100; policy accept;
	}
}
table netdev nd {
	chain ingress {
		type filter hook ingress device "%IF%" priority -500; policy accept;
		ip saddr 192.0.2.0/24 drop
	}
}
"""

# A firewalld-shaped table written by hand (the layout firewalld 1.x generates; see
# docs/packet-tracers.md §5). Real firewalld goldens come from gen_firewalld_ufw.py.
FIREWALLD_SHAPED = r"""
table inet firewalld {
	chain mangle_PREROUTING {
		type filter hook prerouting priority mangle + 10; policy accept;
		jump mangle_PREROUTING_ZONES
	}
	chain mangle_PREROUTING_ZONES {
		iifname "%IF%" goto mangle_PRE_public
		goto mangle_PRE_public
	}
	chain mangle_PRE_public {
		jump mangle_PRE_public_pre
		jump mangle_PRE_public_log
		jump mangle_PRE_public_deny
		jump mangle_PRE_public_allow
		jump mangle_PRE_public_post
	}
	chain mangle_PRE_public_pre {
	}
	chain mangle_PRE_public_log {
	}
	chain mangle_PRE_public_deny {
	}
	chain mangle_PRE_public_allow {
	}
	chain mangle_PRE_public_post {
	}
	chain nat_PREROUTING {
		type nat hook prerouting priority dstnat + 10; policy accept;
		jump nat_PREROUTING_ZONES
	}
	chain nat_PREROUTING_ZONES {
		iifname "%IF%" goto nat_PRE_public
		goto nat_PRE_public
	}
	chain nat_PRE_public {
		jump nat_PRE_public_pre
		jump nat_PRE_public_log
		jump nat_PRE_public_deny
		jump nat_PRE_public_allow
		jump nat_PRE_public_post
	}
	chain nat_PRE_public_pre {
	}
	chain nat_PRE_public_log {
	}
	chain nat_PRE_public_deny {
	}
	chain nat_PRE_public_allow {
		meta nfproto ipv4 tcp dport 2222 dnat ip to %SRV%:22
	}
	chain nat_PRE_public_post {
	}
	chain nat_POSTROUTING {
		type nat hook postrouting priority srcnat + 10; policy accept;
		jump nat_POSTROUTING_ZONES
	}
	chain nat_POSTROUTING_ZONES {
		oifname "%IF%" goto nat_POST_public
		goto nat_POST_public
	}
	chain nat_POST_public {
		jump nat_POST_public_allow
	}
	chain nat_POST_public_allow {
		meta nfproto ipv4 oifname != "lo" masquerade
	}
	chain filter_PREROUTING {
		type filter hook prerouting priority filter + 10; policy accept;
		icmpv6 type { nd-router-advert, nd-neighbor-solicit } accept
		meta nfproto ipv6 fib saddr . mark . iif oif missing drop
	}
	chain filter_INPUT {
		type filter hook input priority filter + 10; policy accept;
		ct state { established, related } accept
		ct status dnat accept
		iifname "lo" accept
		ct state invalid drop
		jump filter_INPUT_ZONES
		reject with icmpx type admin-prohibited
	}
	chain filter_FORWARD {
		type filter hook forward priority filter + 10; policy accept;
		ct state { established, related } accept
		ct status dnat accept
		iifname "lo" accept
		ct state invalid drop
		ip6 daddr { ::/96, ::ffff:0.0.0.0/96, 2002::/24, 2002:a00::/24, 2002:7f00::/24, 2002:a9fe::/32, 2002:ac10::/28, 2002:c0a8::/32, 2002:e000::/19 } reject with icmpv6 type addr-unreachable
		jump filter_FORWARD_ZONES
		reject with icmpx type admin-prohibited
	}
	chain filter_OUTPUT {
		type filter hook output priority filter + 10; policy accept;
		ct state { established, related } accept
		oifname "lo" accept
		ip6 daddr { ::/96, ::ffff:0.0.0.0/96, 2002::/24 } reject with icmpv6 type addr-unreachable
		jump filter_OUTPUT_POLICIES_pre
		jump filter_OUTPUT_POLICIES_post
	}
	chain filter_OUTPUT_POLICIES_pre {
	}
	chain filter_OUTPUT_POLICIES_post {
	}
	chain filter_INPUT_POLICIES_pre {
	}
	chain filter_INPUT_POLICIES_post {
	}
	chain filter_INPUT_ZONES {
		ip saddr 10.77.200.0/24 goto filter_IN_trusted
		iifname "%IF%" goto filter_IN_public
		goto filter_IN_public
	}
	chain filter_FORWARD_ZONES {
		iifname "%IF%" goto filter_FWD_public
		goto filter_FWD_public
	}
	chain filter_FWD_public {
		reject with icmpx type admin-prohibited
	}
	chain filter_IN_trusted {
		accept
	}
	chain filter_IN_public {
		jump filter_INPUT_POLICIES_pre
		jump filter_IN_public_pre
		jump filter_IN_public_log
		jump filter_IN_public_deny
		jump filter_IN_public_allow
		jump filter_IN_public_post
		jump filter_INPUT_POLICIES_post
		meta l4proto { icmp, ipv6-icmp } accept
		reject with icmpx type admin-prohibited
	}
	chain filter_IN_public_pre {
	}
	chain filter_IN_public_log {
	}
	chain filter_IN_public_deny {
		ip saddr %NET%.99 reject with icmp type admin-prohibited
	}
	chain filter_IN_public_allow {
		tcp dport 22 ct state { new, untracked } accept
		ip6 daddr fe80::/64 udp dport 546 ct state { new, untracked } accept
		tcp dport 8080 ct state { new, untracked } accept
		ip saddr %CLI% tcp dport 9090 ct state { new, untracked } accept
	}
	chain filter_IN_public_post {
	}
}
"""

# iptables-nft commands (each an argv run in the server namespace), then a native table.
IPTABLES_NFT = [
    "iptables-nft -A INPUT -p tcp --dport 8080 -j ACCEPT",
    "iptables-nft -A INPUT -p tcp -m multiport --dports 8081,8083 -m conntrack --ctstate NEW"
    " -m comment --comment wsltui-test -j REJECT --reject-with tcp-reset",
    "iptables-nft -A INPUT -s %NET%.0/24 -p udp --dport 8080 -j DROP",
    "iptables-nft -N WSL-CHAIN",
    "iptables-nft -A WSL-CHAIN -p tcp --dport 8082 -j REJECT --reject-with icmp-admin-prohibited",
    "iptables-nft -A INPUT -i %IF% -j WSL-CHAIN",
    "iptables-nft -A INPUT -p tcp --dport 8090 -m recent --set",
    "iptables-nft -A INPUT -p tcp -m addrtype --dst-type LOCAL --dport 8092 -j ACCEPT",
    "iptables-nft -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT",
    "iptables-nft -A INPUT -p tcp --dport 8093 -m limit --limit 5/min -j LOG --log-prefix wsl:",
    "iptables-nft -A INPUT -p udp -m iprange --src-range %NET%.2-%NET%.9 --dport 5353 -j ACCEPT",
    "iptables-nft -A OUTPUT -m owner --uid-owner 1000 -j ACCEPT",
    "iptables-nft -P FORWARD DROP",
    "iptables-nft -t nat -A PREROUTING -p tcp --dport 2222 -j REDIRECT --to-ports 8080",
    "iptables-nft -t nat -A PREROUTING -p tcp --dport 3333 -j DNAT --to-destination %SRV%:8080",
    "iptables-nft -t nat -A POSTROUTING -o %IF% -j MASQUERADE",
    "ip6tables-nft -A INPUT -p tcp --dport 80 -j ACCEPT",
    "ip6tables-nft -A INPUT -s fd77::/16 -j DROP",
]
IPTABLES_NATIVE = r"""
table inet native {
	chain input {
		type filter hook input priority filter + 5; policy accept;
		tcp dport 8080 drop
	}
}
table ip raw {
	chain prerouting {
		type filter hook prerouting priority raw; policy accept;
	}
}
"""


def _subst(text: str, pair: NetnsPair) -> str:
    net = pair.srv_ip.rsplit(".", 1)[0]
    return (
        text.replace("%IF%", pair.srv_if)
        .replace("%NET%", net)
        .replace("%SRV6%", pair.srv_ip6)
        .replace("%SRV%", pair.srv_ip)
        .replace("%CLI%", pair.cli_ip)
    )


def _nft(pair: NetnsPair, ruleset: str) -> None:
    ns_run(pair.srv, ["nft", "-f", "-"], input=_subst(ruleset, pair))


def build_inet_filter(pair: NetnsPair) -> None:
    _nft(pair, INET_FILTER)


def build_nat_families(pair: NetnsPair) -> None:
    _nft(pair, NAT_FAMILIES)


def build_firewalld_shaped(pair: NetnsPair) -> None:
    _nft(pair, FIREWALLD_SHAPED)


def build_iptables_nft(pair: NetnsPair) -> None:
    for cmd in IPTABLES_NFT:
        ns_run(pair.srv, _subst(cmd, pair).split())
    _nft(pair, IPTABLES_NATIVE)


def build_empty(pair: NetnsPair) -> None:
    pass


# case -> (subnet index, builder)
CASES = {
    "inet-filter": (50, build_inet_filter),
    "nat-families": (51, build_nat_families),
    "firewalld-shaped": (52, build_firewalld_shaped),
    "iptables-nft": (53, build_iptables_nft),
    "empty": (54, build_empty),
}
# 59 is used by the realtools test in tests/facts/test_facts_nft.py.


def generate_case(root: Path, case: str, index: int | None = None) -> Path:
    """Build ``case`` in a fresh namespace pair, capture ``root/nft-<case>/``, delete the pair."""
    idx, build = CASES[case]
    idx = idx if index is None else index
    out = Path(root) / f"nft-{case}"
    with NetnsPair(f"{PREFIX}{idx}", idx) as pair:
        build(pair)
        pair.snapshot(out)
        text = ns_run(pair.srv, ["nft", "list", "ruleset"]).stdout.decode()
        (out / "nft-text.expected").write_text(text, encoding="utf-8")
    return out


def generate(root: Path, only: list[str] | None = None) -> dict[str, float]:
    """Write every case (or ``only`` those) under ``root``; returns seconds per case."""
    timings: dict[str, float] = {}
    for case in only or list(CASES):
        start = time.monotonic()
        generate_case(Path(root), case)
        timings[case] = round(time.monotonic() - start, 2)
    return timings


if __name__ == "__main__":
    names = sys.argv[1:]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        sys.exit(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(CASES)}")
    for case, secs in generate(HERE, names or None).items():
        print(f"nft-{case}: {secs}s")
