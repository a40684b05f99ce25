"""A seeded generator of varied rulesets for the kernel-agreement test.

Each ruleset spreads rules over one to three sources (iptables-legacy, iptables-nft, native nft),
IPv4 or IPv6, with user chains (jump, goto, return), NAT (REDIRECT, DNAT), marks, and every match
the simulator claims to evaluate. Placeholders (@SRV@, @CLI@, @SRVIF@ ...) are filled per pair.
"""

from __future__ import annotations

import random

from kernel import Ruleset

PORTS = [8080, 8081, 8082, 9090, 2222]


def generate(rng: random.Random, index: int) -> tuple[Ruleset, list[tuple[int, str, int]]]:
    fam = 6 if rng.random() < 0.25 else 4
    sources = rng.sample(["legacy", "nft-ipt", "nft"], rng.choice([1, 1, 2, 2, 3]))
    rs = Ruleset(label=f"#{index} v{fam} {'+'.join(sources)}")
    # NAT in only one source: two NAT rules at one priority in iptables-legacy and nf_tables
    # run in an order no snapshot tells (the simulator says unknown; a hand-written test checks).
    nat_source = rng.choice(sources)
    for src in sources:
        if src == "nft":
            rs.nft = _nft(rng, fam, nat=src == nat_source)
        else:
            text = _iptables(rng, fam, nat=src == nat_source)
            attr = ("legacy" if src == "legacy" else "nft") + str(fam)
            setattr(rs, attr, text)
    targets = [(p, proto, fam) for p in PORTS for proto in ("tcp", "udp")]
    return rs, targets


# --- iptables --------------------------------------------------------------------------------


def _iptables(rng: random.Random, fam: int, nat: bool) -> str:
    chains = ["CHK1", "CHK2"]
    policy = rng.choice(["ACCEPT", "ACCEPT", "DROP"])
    lines = [f"-A INPUT {r}" for r in (_ipt_rule(rng, fam, chains, user=False) for _ in range(rng.randint(0, 6)))]
    if policy == "DROP" and rng.random() < 0.7:
        lines.insert(0, f"-A INPUT -p {'ipv6-icmp' if fam == 6 else 'icmp'} -j ACCEPT")
    for c in chains:
        lines += [f"-A {c} {r}" for r in (_ipt_rule(rng, fam, [], user=True) for _ in range(rng.randint(0, 4)))]
    text = f"*filter\n:INPUT {policy} [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
    text += "".join(f":{c} - [0:0]\n" for c in chains) + "\n".join(lines) + "\nCOMMIT\n"
    if nat and rng.random() < 0.35:
        nat = []
        to = rng.choice(PORTS[:4])
        nat.append(f"-A PREROUTING -p tcp -m tcp --dport 2222 -j REDIRECT --to-ports {to}")
        dst = "[@SRV6@]" if fam == 6 else "@SRV@"
        nat.append(f"-A PREROUTING -p udp -m udp --dport 2222 -j DNAT --to-destination {dst}:{rng.choice(PORTS[:4])}")
        text += (
            "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
            + "\n".join(rng.sample(nat, rng.randint(1, 2)))
            + "\nCOMMIT\n"
        )
    if rng.random() < 0.25:
        port = rng.choice(PORTS)
        text += (
            "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
            f":POSTROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport {port} -j MARK --set-xmark 0x7/0xffffffff\n"
            "-A PREROUTING -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff\nCOMMIT\n"
        )
    return text


def _ipt_rule(rng: random.Random, fam: int, chains: list[str], user: bool) -> str:
    parts = []
    proto = rng.choice(["tcp", "udp", "tcp", "udp", None])
    if proto and rng.random() < 0.08:
        parts.append(f"! -p {proto}")
        proto = None  # a negated protocol allows no port match
    elif proto:
        parts.append(f"-p {proto}")
    if rng.random() < 0.3:
        cli = "@CLI6@/128" if fam == 6 else "@CLI@/32"
        other = "fd99::/64" if fam == 6 else "10.99.0.0/16"
        net = "fd77::/16" if fam == 6 else "@NET@"
        parts.append(f"{'! ' if rng.random() < 0.3 else ''}-s {rng.choice([cli, other, net])}")
    if rng.random() < 0.2:
        parts.append(f"{'! ' if rng.random() < 0.3 else ''}-i {rng.choice(['@SRVIF@', '@IFPREFIX@+', 'lo', 'eth9'])}")
    if proto and rng.random() < 0.7:
        kind = rng.random()
        neg = "! " if rng.random() < 0.15 else ""
        if kind < 0.5:
            parts.append(f"-m {proto} {neg}--dport {rng.choice(PORTS)}")
        elif kind < 0.7:
            lo = rng.choice(PORTS)
            parts.append(f"-m {proto} {neg}--dport {lo}:{lo + rng.randint(0, 2000)}")
        else:
            parts.append(f"-m multiport {neg}--dports {','.join(str(p) for p in rng.sample(PORTS, rng.randint(1, 3)))}")
    if user:
        targets = ["ACCEPT", "DROP", "RETURN", "REJECT"]
    else:
        targets = ["ACCEPT", "DROP", "REJECT", "LOG"] + [f"JUMP:{c}" for c in chains] + [f"GOTO:{c}" for c in chains]
    t = rng.choice(targets)
    extra = rng.random()
    if extra < 0.1:
        parts.append(
            f"-m conntrack --ctstate {rng.choice(['NEW', 'RELATED,ESTABLISHED', 'INVALID', 'NEW,ESTABLISHED'])}"
        )
    elif extra < 0.15:
        parts.append(
            f"-m addrtype {'! ' if rng.random() < 0.5 else ''}--dst-type {rng.choice(['LOCAL', 'UNICAST', 'MULTICAST'])}"
        )
    elif extra < 0.2:
        parts.append(f"-m mark {'! ' if rng.random() < 0.3 else ''}--mark 0x7")
    elif extra < 0.25:
        parts.append('-m comment --comment "gen rule"')
    elif extra < 0.28 and fam == 4:
        parts.append("-m iprange --src-range @CLI@-@CLI@")
    elif extra < 0.31:
        parts.append(f"-m connmark {'! ' if rng.random() < 0.3 else ''}--mark 0x7/0xff")
    if t.startswith("JUMP:"):
        parts.append(f"-j {t[5:]}")
    elif t.startswith("GOTO:"):
        parts.append(f"-g {t[5:]}")
    elif t == "REJECT":
        parts.append("-j REJECT" + _reject_with(rng, fam, proto))
    elif t == "LOG":
        parts.append('-j LOG --log-prefix "gen: "')
    else:
        parts.append(f"-j {t}")
    return " ".join(parts)


def _reject_with(rng: random.Random, fam: int, proto: str | None) -> str:
    if fam == 6:
        choices = [
            "",
            " --reject-with icmp6-adm-prohibited",
            " --reject-with icmp6-addr-unreachable",
            " --reject-with icmp6-no-route",
            " --reject-with icmp6-port-unreachable",
        ]
    else:
        choices = [
            "",
            " --reject-with icmp-host-prohibited",
            " --reject-with icmp-admin-prohibited",
            " --reject-with icmp-net-unreachable",
            " --reject-with icmp-host-unreachable",
            " --reject-with icmp-port-unreachable",
            " --reject-with icmp-net-prohibited",
        ]
    if proto == "tcp" and rng.random() < 0.4:
        return " --reject-with tcp-reset"
    return rng.choice(choices)


# --- nft ---------------------------------------------------------------------------------------


def _nft(rng: random.Random, fam: int, nat: bool) -> str:
    family = rng.choice(["inet", "ip" if fam == 4 else "ip6"])
    addr = "ip6" if fam == 6 else "ip"
    cli = "@CLI6@" if fam == 6 else "@CLI@"
    other = "fd99::1" if fam == 6 else "10.99.0.1"
    prio = rng.choice([-10, 0, 0, 10, 20])
    policy = rng.choice(["accept", "accept", "drop"])
    rules = []
    if policy == "drop":
        rules.append("meta l4proto { icmp, ipv6-icmp } accept")
    for _ in range(rng.randint(0, 6)):
        rules.append(_nft_rule(rng, addr, cli, other, fam, family))
    body = [
        f"table {family} gen {{",
        f"  set ports {{ type inet_service; flags interval; elements = {{ {rng.choice(PORTS)}, 10000-10100 }} }}",
        f"  set peers {{ type {'ipv6_addr' if fam == 6 else 'ipv4_addr'}; elements = {{ {cli}, {other} }} }}",
        f"  chain input {{ type filter hook input priority {prio}; policy {policy};",
    ]
    body += [f"    {r}" for r in rules]
    body += ["  }", "  chain sub {"]
    body += [f"    {_nft_rule(rng, addr, cli, other, fam, family, user=True)}" for _ in range(rng.randint(0, 3))]
    body += ["  }"]
    if nat and rng.random() < 0.3:
        dst = "@SRV6@" if fam == 6 else "@SRV@"
        nat_family = "ip6" if fam == 6 else "ip"
        body += [
            "  chain pre { type nat hook prerouting priority dstnat; policy accept;",
            f"    tcp dport 2222 redirect to :{rng.choice(PORTS[:4])}",
            f"    udp dport 2222 dnat {nat_family + ' ' if family == 'inet' else ''}to {'[' + dst + ']' if fam == 6 else dst}:{rng.choice(PORTS[:4])}",
            "  }",
        ]
    if rng.random() < 0.2:
        body += [
            "  chain marker { type filter hook prerouting priority -150; policy accept;",
            f"    udp dport {rng.choice(PORTS)} meta mark set 0x3",
            "    ct mark set meta mark",
            "  }",
        ]
    body.append("}")
    return "\n".join(body) + "\n"


def _nft_rule(rng, addr, cli, other, fam, family, user=False) -> str:
    parts = []
    proto = rng.choice(["tcp", "udp", None])
    verdicts = (
        ["accept", "drop", "reject", "counter"]
        + ([] if user else ["jump sub", "goto sub"])
        + (["return"] if user else [])
    )
    v = rng.choice(verdicts)
    r = rng.random()
    if r < 0.25:
        parts.append(f"{addr} saddr {rng.choice(['', '!= '])}{rng.choice([cli, other, '@peers'])}")
    elif r < 0.35:
        name = rng.choice(["@SRVIF@", "@IFPREFIX@*", "lo", "eth9"])
        parts.append(f'iifname {rng.choice(["", "!= "])}"{name}"')
    elif r < 0.4:
        parts.append(f"ct state {rng.choice(['new', 'invalid', '{ new, untracked }', 'established,related'])}")
    elif r < 0.45:
        parts.append(f"fib daddr type {rng.choice(['local', 'unicast', '!= local'])}")
    elif r < 0.5:
        parts.append(f"meta mark {rng.choice(['0x3', '!= 0x3'])}")
    elif r < 0.53:
        parts.append(f'{rng.choice(["iif", "oif"])} {rng.choice(["", "!= "])}"lo"')
    elif r < 0.56:
        parts.append(f"ct mark {rng.choice(['0x3', '!= 0x3'])}")
    elif r < 0.55 and proto is None:
        parts.append(f"meta l4proto {rng.choice(['tcp', 'udp', '{ tcp, udp }'])}")
    if proto:
        k = rng.random()
        if k < 0.4:
            parts.append(f"{proto} dport {rng.choice(['', '!= '])}{rng.choice(PORTS)}")
        elif k < 0.6:
            parts.append(f"{proto} dport {{ {', '.join(str(p) for p in rng.sample(PORTS, rng.randint(1, 3)))} }}")
        elif k < 0.7:
            parts.append(f"{proto} dport @ports")
        elif k < 0.8:
            lo = rng.choice(PORTS)
            parts.append(f"th dport {lo}-{lo + rng.randint(1, 1000)}")
        elif k < 0.85 and fam == 4:
            parts.append(f"ip saddr . {proto} dport {{ {cli} . {rng.choice(PORTS)}, {other} . 8080 }}")
    if v == "reject":
        if family == "inet":
            opts = ["reject"] + [
                f"reject with icmpx type {t}"
                for t in ("admin-prohibited", "host-unreachable", "no-route", "port-unreachable")
            ]
            kind, types = (
                ("icmpv6", ("admin-prohibited", "addr-unreachable"))
                if fam == 6
                else ("icmp", ("host-prohibited", "net-unreachable"))
            )
            opts.append(f"meta nfproto {'ipv6' if fam == 6 else 'ipv4'} reject with {kind} type {rng.choice(types)}")
        elif family == "ip":
            opts = ["reject"] + [
                f"reject with icmp type {t}"
                for t in (
                    "host-prohibited",
                    "admin-prohibited",
                    "net-unreachable",
                    "host-unreachable",
                    "port-unreachable",
                    "net-prohibited",
                )
            ]
        else:
            opts = ["reject"] + [
                f"reject with icmpv6 type {t}"
                for t in ("admin-prohibited", "no-route", "addr-unreachable", "port-unreachable")
            ]
        if proto == "tcp":
            opts.append("reject with tcp reset")
        v = rng.choice(opts)
    if rng.random() < 0.15 and not v.startswith(("jump", "goto", "counter")):
        parts.append("counter")
    if rng.random() < 0.5 and proto and "vmap" not in v and not parts and rng.random() < 0.3:
        a, b = rng.sample(PORTS, 2)
        return f"{proto} dport vmap {{ {a} : drop, {b} : accept }}"
    return " ".join(parts + [v])


# --- forwarded traffic: ports DNAT'ed to a container behind a bridge (tests/support/forwardnet.py) -------

FORWARD_PORTS = [8080, 8081, 8082, 8083, 9090]
# host port -> container port: 80 and 5353 listen in the container, 81 does not
FORWARD_DNAT = {8080: 80, 8081: 81, 8082: 80, 8083: 5353}


def generate_forward(rng: random.Random, index: int) -> tuple[Ruleset, list[tuple[int, str, int]]]:
    """A ruleset that DNATs some ports to the container (@CTR@, bridge @BR@) and filters the
    forward path with the constructs real rulesets use there: interfaces both ways, conntrack
    states and original ports, marks and connection marks, ipsets, nft iif/oif and verdict maps."""
    sources = rng.sample(["legacy", "nft-ipt", "nft"], rng.choice([1, 1, 2]))
    rs = Ruleset(label=f"#{index} forward {'+'.join(sources)}")
    nat_source = rng.choice(sources)
    if any(s != "nft" for s in sources) and rng.random() < 0.4:
        rs.ipset = (
            "create gen-nets hash:net family inet\nadd gen-nets @CTRNET@\ncreate gen-ports bitmap:port range 0-10000\n"
            f"add gen-ports {rng.choice([80, 81, 5353])}\n"
        )
    for src in sources:
        if src == "nft":
            rs.nft = _nft_forward(rng, nat=src == nat_source)
        else:
            setattr(
                rs,
                "legacy4" if src == "legacy" else "nft4",
                _ipt_forward(rng, nat=src == nat_source, ipset=bool(rs.ipset)),
            )
    return rs, [(p, proto, 4) for p in FORWARD_PORTS for proto in ("tcp", "udp")]


def _dnat_ports(rng: random.Random) -> list[int]:
    return sorted(rng.sample(list(FORWARD_DNAT), rng.randint(2, 4)))


def _ipt_forward(rng: random.Random, nat: bool, ipset: bool) -> str:
    policy = rng.choice(["ACCEPT", "DROP", "DROP"])
    rules = rng.sample(_IPT_FORWARD_RULES + (_IPT_SET_RULES if ipset else []), rng.randint(1, 6))
    if policy == "DROP" and rng.random() < 0.7:
        rules.insert(rng.randint(0, len(rules)), "-o @BR@ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
        rules.insert(rng.randint(0, len(rules)), "-i @BR@ ! -o @BR@ -j ACCEPT")
    text = f"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD {policy} [0:0]\n:OUTPUT ACCEPT [0:0]\n:GEN-USER - [0:0]\n"
    text += "-A FORWARD -j GEN-USER\n" + "".join(
        f"-A {'GEN-USER' if i % 3 == 0 else 'FORWARD'} {r}\n" for i, r in enumerate(_fill_rule(rng, r) for r in rules)
    )
    text += "COMMIT\n"
    if nat:
        text += (
            "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
            ":DOCKER - [0:0]\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n"
        )
        for port in _dnat_ports(rng):
            for proto in ("tcp", "udp"):
                text += f"-A DOCKER ! -i @BR@ -p {proto} -m {proto} --dport {port} -j DNAT --to-destination @CTR@:{FORWARD_DNAT[port]}\n"
        if rng.random() < 0.5:
            text += "-A POSTROUTING -s @CTRNET@ ! -o @BR@ -j MASQUERADE\n"
        text += "COMMIT\n"
    if rng.random() < 0.35:
        port = rng.choice(FORWARD_PORTS)
        text += (
            "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
            ":POSTROUTING ACCEPT [0:0]\n"
            "-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff\n"
            f"-A PREROUTING -p {rng.choice(['tcp', 'udp'])} -m multiport --dports {port} -j MARK --set-xmark 0x7/0xff\n"
            "-A PREROUTING -m mark --mark 0x7/0xff -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff\nCOMMIT\n"
        )
    return text


_IPT_FORWARD_RULES = [
    "-s @CLI@/32 -m conntrack --ctorigdstport {hport} -j DROP",
    "-m conntrack --ctorigdstport {hport} -j REJECT{reject}",
    "-d @CTR@/32 -o @BR@ -p tcp -m tcp --dport {cport} -j ACCEPT",
    "-d @CTR@/32 -o @BR@ -p udp -m udp --dport {cport} -j ACCEPT",
    "-o @BR@ -p {proto} -m {proto} --dport {cport} -m conntrack --ctstate NEW -j ACCEPT",
    "-i @BR@ -p udp -j ACCEPT",
    "-i @BR@ -m conntrack --ctstate ESTABLISHED -j ACCEPT",
    "-p tcp -m tcp --dport {cport} -j REJECT --reject-with tcp-reset",
    "-o @BR@ -p {proto} -j REJECT{reject}",
    "-m mark --mark 0x7/0xff -j DROP",
    "-m connmark --mark 0x7/0xff -m conntrack --ctstate ESTABLISHED -j DROP",
    "-m conntrack --ctstate DNAT -p {proto} -j ACCEPT",
    "-i @SRVIF@ -o @BR@ -j ACCEPT",
    "-o @BR@ -j DROP",
    "-m conntrack --ctdir REPLY -j ACCEPT",
    "-p {proto} -m conntrack --ctdir ORIGINAL -m conntrack --ctstate ESTABLISHED -j DROP",
]
_IPT_SET_RULES = [
    "-m set --match-set gen-nets dst -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "-p {proto} -m set --match-set gen-ports dst -j ACCEPT",
    "-m set ! --match-set gen-nets dst -j DROP",
]


def _fill_rule(rng: random.Random, rule: str) -> str:
    proto = rng.choice(["tcp", "udp"])
    reject = rng.choice(
        [
            "",
            " --reject-with icmp-host-prohibited",
            " --reject-with icmp-port-unreachable",
            " --reject-with icmp-admin-prohibited",
        ]
    )
    if proto == "tcp" and "-p" in rule and rng.random() < 0.4:
        reject = " --reject-with tcp-reset"
    rule = rule.replace(
        "-m conntrack --ctorigdstport {hport} -j REJECT{reject}",
        "-p {proto} -m conntrack --ctorigdstport {hport} -j REJECT{reject}",
    )
    return rule.format(
        hport=rng.choice(list(FORWARD_DNAT)), cport=rng.choice([80, 81, 5353]), proto=proto, reject=reject
    )


def _nft_forward(rng: random.Random, nat: bool) -> str:
    prio = rng.choice([-1, 0, 10])
    policy = rng.choice(["accept", "drop"])
    rules = rng.sample(_NFT_FORWARD_RULES, rng.randint(1, 5))
    if policy == "drop" and rng.random() < 0.7:
        rules.insert(0, "ct state established,related accept")
    body = [
        "table ip genfwd {",
        '  map out-jumps { type ifname : verdict; elements = { "@BR@" : jump to-bridge } }',
        f"  chain forward {{ type filter hook forward priority {prio}; policy {policy};",
    ]
    body += ["    " + _fill_nft(rng, r) for r in rules]
    body += ["  }", "  chain to-bridge {"]
    body += ["    " + _fill_nft(rng, r) for r in rng.sample(_NFT_BRIDGE_RULES, rng.randint(0, 3))]
    body += ["  }"]
    if nat:
        body += ["  chain pre { type nat hook prerouting priority dstnat; policy accept;"]
        for port in _dnat_ports(rng):
            body.append(
                f'    iifname != "@BR@" meta l4proto {{ tcp, udp }} th dport {port} dnat to @CTR@:{FORWARD_DNAT[port]}'
            )
        body.append("  }")
    if rng.random() < 0.3:
        body += [
            "  chain marks { type filter hook prerouting priority mangle; policy accept;",
            "    meta mark set ct mark and 0xff",
            f"    {rng.choice(['tcp', 'udp'])} dport {rng.choice(FORWARD_PORTS)} meta mark set meta mark and 0xffffff00 or 0x7",
            "    ct mark set meta mark and 0xff",
            "  }",
        ]
    body.append("}")
    return "\n".join(body) + "\n"


_NFT_FORWARD_RULES = [
    "oifname vmap @out-jumps",
    'iif "@SRVIF@" oif "@BR@" {proto} dport {cport} accept',
    'iif "lo" drop',
    'oif != "@BR@" accept',
    "ip saddr @CLI@ ct original proto-dst {hport} {verdict}",
    'iifname "@BR@" accept',
    "ct status dnat {proto} dport {cport} accept",
    "meta mark and 0xff == 0x7 drop",
    "ct state established ct mark and 0xff == 0x7 drop",
    "{proto} dport {cport} {verdict}",
    "ct direction reply accept",
    "ct direction original ct state established {verdict}",
]
_NFT_BRIDGE_RULES = [
    "ct state established,related accept",
    "ip daddr @CTR@ {proto} dport {cport} accept",
    "{proto} dport {{ 80, 81 }} {verdict}",
    "return",
    "counter drop",
]


def _fill_nft(rng: random.Random, rule: str) -> str:
    proto = rng.choice(["tcp", "udp"])
    verdict = rng.choice(
        ["accept", "drop", "reject", "reject with icmp type host-unreachable"]
        + (["reject with tcp reset"] if proto == "tcp" else [])
    )
    if "ct original proto-dst" in rule:  # needs a protocol
        rule = "meta l4proto {proto} " + rule
    return rule.format(
        hport=rng.choice(list(FORWARD_DNAT)), cport=rng.choice([80, 81, 5353]), proto=proto, verdict=verdict
    )
