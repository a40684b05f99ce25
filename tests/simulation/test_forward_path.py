"""Forwarded traffic with the kernel as the judge: ports DNAT'ed to a container behind a
bridge, from Docker-shaped rulesets (classic iptables, Docker 28 with its ipset, Docker 29's
nftables backend) and hand-made port forwards. Each probe must be decided and agree with what
the client really sees; the first blocker must be the rule the kernel used."""

from __future__ import annotations

import os

import pytest
from forwardnet import behind
from kernel import Ruleset, report, run_case

pytestmark = pytest.mark.realtools

# 8080 -> container:80 (listens); 8081 -> container:81 (nothing listens); 8082 -> container:80,
# blocked for the client in DOCKER-USER; 8083 -> container:5353 (listens, but no rule lets it
# through FORWARD); 9090: no DNAT, the server's own listener.
TARGETS = [(p, proto, 4) for p in (8080, 8081, 8082, 8083, 9090) for proto in ("tcp", "udp")]


def _dnat_ipt(port: int, to: int, proto: str) -> str:
    return f"-A DOCKER ! -i @BR@ -p {proto} -m {proto} --dport {port} -j DNAT --to-destination @CTR@:{to}"


NAT_CLASSIC = (
    "\n".join(
        [
            "*nat",
            ":PREROUTING ACCEPT [0:0]",
            ":INPUT ACCEPT [0:0]",
            ":OUTPUT ACCEPT [0:0]",
            ":POSTROUTING ACCEPT [0:0]",
            ":DOCKER - [0:0]",
            "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
            "-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER",
            "-A POSTROUTING -s @CTRNET@ ! -o @BR@ -j MASQUERADE",
            "-A DOCKER -i @BR@ -j RETURN",
        ]
        + [
            _dnat_ipt(p, to, proto)
            for p, to in ((8080, 80), (8081, 81), (8082, 80), (8083, 5353))
            for proto in ("tcp", "udp")
        ]
        + ["COMMIT"]
    )
    + "\n"
)

PUBLISHED = "\n".join(
    f"-A DOCKER -d @CTR@/32 ! -i @BR@ -o @BR@ -p {proto} -m {proto} --dport {to} -j ACCEPT"
    for to in (80, 81)
    for proto in ("tcp", "udp")
)
DOCKER_USER = """
-A DOCKER-USER -s @CLI@/32 -m conntrack --ctorigdstport 8082 -j DROP
-A DOCKER-USER -j RETURN
"""

# Docker's filter table: the start (chains, FORWARD's DROP policy, DOCKER-USER first) and the
# end (isolation between bridges, the user's rules) every version shares.
DOCKER_HEAD = """:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
"""
DOCKER_TAIL = (
    """-A DOCKER-ISOLATION-STAGE-1 -i @BR@ ! -o @BR@ -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o @BR@ -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
"""
    + DOCKER_USER.strip()
    + "\nCOMMIT\n"
)

CLASSIC = (
    NAT_CLASSIC
    + f"""*filter
{DOCKER_HEAD}-A FORWARD -o @BR@ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o @BR@ -j DOCKER
-A FORWARD -i @BR@ ! -o @BR@ -j ACCEPT
-A FORWARD -i @BR@ -o @BR@ -j ACCEPT
{PUBLISHED}
{DOCKER_TAIL}"""
)

# Docker 28.0: the bridges' subnets in the ipset docker-ext-bridges-v4; the raw table drops
# packets sent straight to a container's address from outside its bridge.
IPSET28 = "create docker-ext-bridges-v4 hash:net family inet\nadd docker-ext-bridges-v4 @CTRNET@\n"
DOCKER28 = (
    NAT_CLASSIC
    + """*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -d @CTR@/32 ! -i @BR@ -j DROP
COMMIT
"""
    + f"""*filter
{DOCKER_HEAD}-A FORWARD -m set --match-set docker-ext-bridges-v4 dst -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -m set --match-set docker-ext-bridges-v4 dst -j DOCKER
-A FORWARD -i @BR@ -j ACCEPT
{PUBLISHED}
-A DOCKER ! -i @BR@ -o @BR@ -j DROP
{DOCKER_TAIL}"""
)

# Docker 29 with firewall-backend=nftables: its own table, per-bridge chains reached through
# verdict maps; no DOCKER-USER (a rule of your own goes in your own table, in a forward chain
# that runs before Docker's).
DOCKER29 = """
table ip docker-bridges {
  map filter-forward-in-jumps { type ifname : verdict; elements = { "@BR@" : jump filter-forward-in__@BR@ } }
  map filter-forward-out-jumps { type ifname : verdict; elements = { "@BR@" : jump filter-forward-out__@BR@ } }
  chain filter-FORWARD {
    type filter hook forward priority filter; policy accept;
    oifname vmap @filter-forward-in-jumps
    iifname vmap @filter-forward-out-jumps
  }
  chain raw-PREROUTING {
    type filter hook prerouting priority raw; policy accept;
    ip daddr @CTR@ iifname != "@BR@" counter drop comment "DROP DIRECT ACCESS"
  }
  chain nat-PREROUTING {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local counter jump nat-prerouting-and-output
  }
  chain nat-prerouting-and-output {
    iifname != "@BR@" tcp dport 8080 counter dnat to @CTR@:80 comment "DNAT"
    iifname != "@BR@" udp dport 8080 counter dnat to @CTR@:80 comment "DNAT"
    iifname != "@BR@" tcp dport 8081 counter dnat to @CTR@:81 comment "DNAT"
    iifname != "@BR@" udp dport 8081 counter dnat to @CTR@:81 comment "DNAT"
    iifname != "@BR@" tcp dport 8082 counter dnat to @CTR@:80 comment "DNAT"
    iifname != "@BR@" udp dport 8082 counter dnat to @CTR@:80 comment "DNAT"
    iifname != "@BR@" meta l4proto { tcp, udp } th dport 8083 counter dnat to @CTR@:5353 comment "DNAT"
  }
  chain nat-POSTROUTING {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr @CTRNET@ oifname != "@BR@" counter masquerade comment "MASQUERADE"
  }
  chain filter-forward-in__@BR@ {
    ct state established,related counter accept
    iifname "@BR@" counter accept comment "ICC"
    ip daddr @CTR@ tcp dport { 80, 81 } counter accept
    ip daddr @CTR@ udp dport { 80, 81 } counter accept
    counter drop comment "UNPUBLISHED PORT DROP"
  }
  chain filter-forward-out__@BR@ {
    ct state established,related counter accept
    counter accept comment "OUTGOING"
  }
}
table inet mine {
  chain forward {
    type filter hook forward priority filter - 1; policy accept;
    ip saddr @CLI@ tcp dport 80 ct original proto-dst 8082 drop
    ip saddr @CLI@ udp dport 80 ct original proto-dst 8082 drop
  }
}"""

# A port forward by hand: DNAT in nft, a FORWARD policy of drop in iptables-nft with the rules
# a how-to gives (new connections to the forwarded port, and established ones both ways).
HANDMADE_NFT = """
table ip portfwd {
  chain pre { type nat hook prerouting priority dstnat; policy accept;
    tcp dport 8080 dnat to @CTR@:80
    udp dport 8080 dnat to @CTR@:80
    tcp dport 8081 dnat to @CTR@:81
    udp dport 8081 dnat to @CTR@:81
    meta l4proto { tcp, udp } th dport 8082 dnat to @CTR@:80
    meta l4proto { tcp, udp } th dport 8083 dnat to @CTR@:5353
  }
}"""
HANDMADE_IPT = """*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -i @SRVIF@ -o @BR@ -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -m conntrack --ctorigdstport 8080 -j ACCEPT
-A FORWARD -i @SRVIF@ -o @BR@ -p udp -m udp --dport 80 -j ACCEPT
-A FORWARD -i @SRVIF@ -o @BR@ -p tcp -m tcp --dport 81 -j ACCEPT
-A FORWARD -i @SRVIF@ -o @BR@ -p udp -m udp --dport 81 -j ACCEPT
-A FORWARD -i @SRVIF@ -o @BR@ -p tcp -m tcp --dport 5353 -j REJECT --reject-with tcp-reset
-A FORWARD -i @BR@ -o @SRVIF@ -m conntrack --ctstate ESTABLISHED -j ACCEPT
-A FORWARD -i @SRVIF@ -o @BR@ -p udp -m udp --dport 5353 -j ACCEPT
COMMIT
"""
# one way only: the answers (ct state established, related) are never let back
ONE_WAY = """*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -i @SRVIF@ -o @BR@ -j ACCEPT
-A FORWARD -i @BR@ -p udp -j ACCEPT
COMMIT
"""

CASES = {
    "docker-classic-legacy": dict(legacy4=CLASSIC),
    "docker-classic-nft": dict(nft4=CLASSIC),
    "docker-28-ipset": dict(ipset=IPSET28, nft4=DOCKER28),
    "docker-29-nftables": dict(nft=DOCKER29),
    "handmade-nft-dnat-iptables-forward": dict(nft=HANDMADE_NFT, nft4=HANDMADE_IPT),
    "handmade-one-way": dict(nft=HANDMADE_NFT, legacy4=ONE_WAY),
}


@pytest.fixture
def net(request):
    index = 70 + (abs(hash(request.node.name)) % 10)
    with behind("fwd", index) as b:
        yield b


def run(net, name: str, targets=TARGETS):
    rs = Ruleset(**{k: net.fill(v) for k, v in CASES[name].items()}, label=name)
    outcomes = run_case(net.pair, rs, targets, timeout=0.3, also_accepted=lambda: net.accepted)
    assert all(o.agree for o in outcomes), report(rs, outcomes)
    return {(o.port, o.proto): o for o in outcomes}


@pytest.mark.parametrize("name", sorted(CASES))
def test_forwarded_ports_agree_with_the_kernel(net, name):
    seen = run(net, name)
    kernel = {k: o.kernel for k, o in seen.items()}
    if name.startswith("docker"):
        assert kernel[(8080, "tcp")] == "accept" and kernel[(8081, "tcp")] == "refused:rst"
        assert kernel[(8082, "tcp")] == "drop" and kernel[(8083, "tcp")] == "drop"
        first = seen[(8082, "tcp")].trace["first_blocker"]
        assert "8082" in first["rule"], first  # the user's own rule, not Docker's


def test_published_port_blocked_in_docker_user_is_named(net):
    seen = run(net, "docker-classic-legacy", [(8082, "tcp", 4), (8081, "udp", 4)])
    first = seen[(8082, "tcp")].trace["first_blocker"]
    assert first["location"].endswith("chain DOCKER-USER, rule 1"), first
    closed = seen[(8081, "udp")].trace["first_blocker"]
    assert closed["layer"] == "socket" and closed["symptom"] == "refused", closed


def test_generated_forward_rulesets():
    """Seeded random rulesets filtering the forward path (tests/support/rulegen.py, generate_forward)."""
    import random

    from forwardnet import behind as setup
    from rulegen import generate_forward

    count = int(os.environ.get("WSLTUI_FORWARD_RULESETS", "60"))
    seed = int(os.environ.get("WSLTUI_KERNEL_SEED", "20261127"))
    rng = random.Random(seed)
    failures = []
    for i in range(count):
        rs, targets = generate_forward(rng, i)
        with setup("fwg", 50 + i % 5) as b:
            for attr in ("legacy4", "nft4", "nft", "ipset"):
                setattr(rs, attr, b.fill(getattr(rs, attr)))
            outcomes = run_case(b.pair, rs, targets, timeout=0.25, also_accepted=lambda: b.accepted)
        if not all(o.agree for o in outcomes):
            failures.append(report(rs, outcomes))
    assert not failures, f"{len(failures)} of {count} rulesets disagree (seed {seed}):\n\n" + "\n\n".join(failures[:5])


def test_forwarding_switched_off(net):
    """ip_forward 0: the DNAT'ed packet is dropped at routing, before FORWARD (no answer)."""
    from realtools import ns_run

    ns_run(net.pair.srv, ["sysctl", "-qw", "net.ipv4.ip_forward=0"])
    seen = run(net, "handmade-nft-dnat-iptables-forward", [(8080, "tcp", 4), (8081, "udp", 4), (9090, "tcp", 4)])
    assert seen[(8080, "tcp")].kernel == "drop" and seen[(9090, "tcp")].kernel == "accept"
    assert seen[(8080, "tcp")].trace["first_blocker"]["rule"].endswith(".forwarding = 0")
