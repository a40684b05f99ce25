"""Generate the ``iptables-*`` golden snapshots with the real iptables tools and wsltui's own probes.

Run as root from the repo root: ``python tests/golden/gen_iptables.py [CASE...]`` (rewrites
tests/golden/iptables-<case>/). Every ruleset is built inside a fresh pair of network
namespaces (prefix ``gip<index>``, subnet indices 40-49) with the real iptables-nft /
iptables-legacy / ip6tables (and ufw, firewalld with private config copies, nft for WSL's own
chains); the snapshot is captured by ``python -m wsltui snapshot`` inside the server namespace;
the namespaces are deleted. The host's own firewall, /etc/ufw and /etc/firewalld are never
touched. Each case directory gets a CASE.md listing the exact commands.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE.parent / "support"))

from realtools import Firewalld, NetnsPair, Ufw, ns_run  # noqa: E402

PREFIX = "gip"

# "TOOL ARGS" lines; {S}/{C} = server/client IPv4, {S6}/{C6} IPv6, {IF} = server veth, {N} = subnet
# index. One list per case; tools are run one command at a time (as a person would type them).

FILTER4 = r"""
ipset create allow4 hash:ip,port
ipset create block4 hash:net
IPT -P INPUT DROP
IPT -P FORWARD DROP
IPT -N WSL-ALLOW
IPT -N LOGDROP
IPT -N RATE
IPT -A INPUT -i lo -j ACCEPT
IPT -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
IPT -A INPUT -m conntrack --ctstate INVALID -j DROP
IPT -A INPUT -p icmp --icmp-type echo-request -j ACCEPT
IPT -A INPUT -p icmp -m icmp --icmp-type 3/4 -j ACCEPT
IPT -A INPUT -p tcp --dport 22 -j ACCEPT
IPT -A INPUT -s {C} -p tcp --dport 8080 -j ACCEPT
IPT -A INPUT ! -s 10.77.{N}.0/24 -p tcp --dport 8081 -j REJECT --reject-with tcp-reset
IPT -A INPUT -p tcp -m multiport --dports 8082,8083,9000:9010 -m conntrack --ctstate NEW -m comment --comment "wsltui test" -j REJECT --reject-with icmp-port-unreachable
IPT -A INPUT -p udp ! --dport 53 -m addrtype --dst-type LOCAL --limit-iface-in -j DROP
IPT -A INPUT -p tcp ! --dport 1000:2000 --tcp-flags SYN,ACK SYN -m limit --limit 5/min --limit-burst 10 -j LOG --log-prefix "[WSL BLOCK] " --log-level 6
IPT -A INPUT -m iprange --src-range 10.77.{N}.2-10.77.{N}.9 -p udp --dport 5353 -j ACCEPT
IPT -A INPUT -m mark --mark 0x1/0xff -j ACCEPT
IPT -A INPUT ! -i {IF} ! -d 127.0.0.0/8 -j DROP
IPT -A INPUT -f -j DROP
IPT -A INPUT -p tcp --syn -m recent --name ssh --set
IPT -A INPUT -p tcp --dport 2222 -m recent --name ssh --update --seconds 60 --hitcount 4 -j DROP
IPT -A INPUT -m set --match-set allow4 src,dst -j ACCEPT
IPT -A INPUT -m set ! --match-set block4 src -j RETURN
IPT -A INPUT -p tcp --dport 4000 -m comment --comment 'say "hi" \o/ it'"'"'s' -j ACCEPT
IPT -A INPUT -p tcp --dport 4001 -m comment --comment "-j DROP" -j ACCEPT
IPT -A INPUT -p tcp --dport 4002 -m comment --comment "" -j ACCEPT
IPT -A INPUT -i {IF} -j WSL-ALLOW
IPT -A INPUT -p tcp --dport 7000 -g LOGDROP
IPT -A INPUT -j RATE
IPT -A INPUT -p udp -j REJECT --reject-with icmp-host-prohibited
IPT -A WSL-ALLOW -p tcp --dport 3000 -j ACCEPT
IPT -A WSL-ALLOW -s 10.77.{N}.3 -j RETURN
IPT -A WSL-ALLOW -p udp -m multiport --sports 1000,2000 -j ACCEPT
IPT -A WSL-ALLOW -p tcp -m tcp --sport 1024:65535 --dport 5000:5100 -j ACCEPT
IPT -A LOGDROP -j LOG --log-prefix "dropped: "
IPT -A LOGDROP -j DROP
IPT -A RATE -m hashlimit --hashlimit-above 10/sec --hashlimit-mode srcip --hashlimit-name rate -j DROP
IPT -A RATE -m connlimit --connlimit-above 20 -j REJECT
IPT -A OUTPUT -m owner --uid-owner 1000 -j ACCEPT
IPT -A OUTPUT -o lo -j ACCEPT
IPT -A OUTPUT -p udp -m string --string "GET /" --algo bm -j DROP
IPT -A FORWARD -m pkttype --pkt-type broadcast -j DROP
"""

FILTER6 = r"""
IP6T -P INPUT DROP
IP6T -N WSL-ALLOW6
IP6T -A INPUT -i lo -j ACCEPT
IP6T -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
IP6T -A INPUT -p ipv6-icmp --icmpv6-type echo-request -j ACCEPT
IP6T -A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j ACCEPT
IP6T -A INPUT -s {C6} -p tcp --dport 8080 -j ACCEPT
IP6T -A INPUT ! -s fd77:{N:x}::/64 -p tcp --dport 8081 -j REJECT --reject-with tcp-reset
IP6T -A INPUT -d ::1/128 ! -i lo -j DROP
IP6T -A INPUT -m frag --fragmore -j DROP
IP6T -A INPUT -i {IF} -j WSL-ALLOW6
IP6T -A INPUT -p udp -j REJECT --reject-with icmp6-adm-prohibited
IP6T -A WSL-ALLOW6 -p tcp -m multiport --dports 3000,3001 -j ACCEPT
IP6T -A WSL-ALLOW6 -m comment --comment "v6 \"quoted\"" -j RETURN
"""

NAT = r"""
IPT -t nat -N WSL-PORTS
IPT -t nat -A PREROUTING -p tcp --dport 3333 -j DNAT --to-destination {S}:8080
IPT -t nat -A PREROUTING -p tcp --dport 2222 -j REDIRECT --to-ports 8080
IPT -t nat -A PREROUTING -p udp -m udp --dport 5000:5010 -j REDIRECT --to-ports 6000-6010 --random
IPT -t nat -A PREROUTING -i {IF} -j WSL-PORTS
IPT -t nat -A WSL-PORTS -p tcp -m tcp --dport 4444 -j DNAT --to-destination 10.77.{N}.1:8080-8090
IPT -t nat -A WSL-PORTS -j RETURN
IPT -t nat -A OUTPUT -d 127.0.0.1/32 -p tcp --dport 3334 -j DNAT --to-destination 127.0.0.1:8080
IPT -t nat -A POSTROUTING -s 10.77.{N}.0/24 ! -o {IF} -j MASQUERADE
IPT -t nat -A POSTROUTING -s 172.17.0.0/16 -o {IF} -j SNAT --to-source {S}
IPT -t nat -A POSTROUTING -o {IF} -p tcp -j MASQUERADE --to-ports 40000-50000 --random-fully
IPT -t mangle -A PREROUTING -i {IF} -p tcp --dport 8080 -j MARK --set-mark 0x1
IPT -t mangle -A PREROUTING -m connmark --mark 0x2 -j CONNMARK --restore-mark
IPT -t mangle -A OUTPUT -p tcp -j MARK --set-xmark 0x4/0xff
IPT -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
IPT -t raw -A PREROUTING -p udp --dport 53 -j CT --notrack
IPT -t raw -A OUTPUT -p udp --sport 53 -j NOTRACK
IPT -t security -A INPUT -p tcp --dport 8080 -j ACCEPT
IPT -A INPUT -m mark --mark 0x1 -j ACCEPT
IPT -A INPUT -m conntrack --ctstate DNAT --ctorigdstport 3333 -j ACCEPT
IP6T -t nat -A PREROUTING -p tcp --dport 3333 -j DNAT --to-destination [{S6}]:8080
IP6T -t nat -A PREROUTING -p tcp --dport 2222 -j REDIRECT --to-ports 8080
IP6T -t nat -A POSTROUTING -s fd77:{N:x}::/64 ! -o {IF} -j MASQUERADE
"""

# Docker 26/27 (DOCKER-ISOLATION-STAGE-*) in IPv4, Docker 28 (DOCKER-FORWARD, DOCKER-BRIDGE,
# DOCKER-CT) in IPv6, with the jumps docker creates (packet-tracers.md §7).
DOCKER = r"""
IPT -N DOCKER
IPT -N DOCKER-ISOLATION-STAGE-1
IPT -N DOCKER-ISOLATION-STAGE-2
IPT -N DOCKER-USER
IPT -P FORWARD DROP
IPT -A FORWARD -j DOCKER-USER
IPT -A FORWARD -j DOCKER-ISOLATION-STAGE-1
IPT -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
IPT -A FORWARD -o docker0 -j DOCKER
IPT -A FORWARD -i docker0 ! -o docker0 -j ACCEPT
IPT -A FORWARD -i docker0 -o docker0 -j ACCEPT
IPT -A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
IPT -A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
IPT -A DOCKER-ISOLATION-STAGE-1 -j RETURN
IPT -A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
IPT -A DOCKER-ISOLATION-STAGE-2 -j RETURN
IPT -A DOCKER-USER -s 10.77.{N}.2/32 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP
IPT -A DOCKER-USER -j RETURN
IPT -t nat -N DOCKER
IPT -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
IPT -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
IPT -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
IPT -t nat -A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
IPT -t nat -A DOCKER -i docker0 -j RETURN
IPT -t nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
IP6T -N DOCKER
IP6T -N DOCKER-BRIDGE
IP6T -N DOCKER-CT
IP6T -N DOCKER-FORWARD
IP6T -N DOCKER-ISOLATION-STAGE-1
IP6T -N DOCKER-ISOLATION-STAGE-2
IP6T -N DOCKER-USER
IP6T -P FORWARD DROP
IP6T -A FORWARD -j DOCKER-USER
IP6T -A FORWARD -j DOCKER-FORWARD
IP6T -A DOCKER ! -i docker0 -o docker0 -j DROP
IP6T -A DOCKER-BRIDGE -o docker0 -j DOCKER
IP6T -A DOCKER-CT -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
IP6T -A DOCKER-FORWARD -j DOCKER-CT
IP6T -A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1
IP6T -A DOCKER-FORWARD -j DOCKER-BRIDGE
IP6T -A DOCKER-FORWARD -i docker0 -j ACCEPT
IP6T -A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
IP6T -A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
IP6T -A DOCKER-USER -j RETURN
"""

# WSL's own nftables objects (wsl-networking.md, mirrored mode: GnsEngine.cpp) beside
# iptables-nft rules in the same tables: iptables-nft-save can no longer show those tables fully.
WSL_NFT = r"""
table ip filter {
  chain WSLOUTPUT {
    type filter hook output priority filter; policy accept;
    meta mark set 0x1
  }
}
table ip nat {
  chain WSLPOSTROUTING {
    type nat hook postrouting priority srcnat - 1; policy accept;
    oifname "eth0" meta l4proto tcp tcp sport 1-65535 meta mark != 0x1 masquerade to :60000-65535
    oifname "eth0" meta l4proto udp udp sport 1-65535 meta mark != 0x1 masquerade to :60000-65535
  }
}
table ip6 filter {
  chain WSLOUTPUT {
    type filter hook output priority filter; policy accept;
    meta mark set 0x1
  }
}
"""
WSL = r"""
NFT -f WSL_NFT
IPT -A INPUT -p tcp --dport 8080 -j ACCEPT
IPT -A INPUT -p tcp --dport 8081 -j DROP
IPT -t nat -A PREROUTING -p tcp --dport 2222 -j REDIRECT --to-ports 8080
IP6T -A INPUT -p tcp --dport 8080 -j ACCEPT
IPT-LEGACY -N WSLOUTPUT
IPT-LEGACY -A OUTPUT -j WSLOUTPUT
IPT-LEGACY -A WSLOUTPUT -j MARK --set-xmark 0x1/0xffffffff
"""

# The same port in both backends and both families (real-components.md §2: the kernel runs all
# of them; the oracle said 8080/tcp drop for nft ACCEPT + legacy DROP).
MIXED = r"""
IPT-NFT -A INPUT -p tcp --dport 8080 -j ACCEPT
IPT-NFT -A INPUT -p tcp -m multiport --dports 8081,8083 -m conntrack --ctstate NEW -m comment --comment "wsltui test" -j REJECT --reject-with tcp-reset
IPT-NFT -t nat -A PREROUTING -p tcp --dport 2222 -j REDIRECT --to-ports 8080
IPT-LEGACY -A INPUT -p tcp --dport 8080 -j DROP
IPT-LEGACY -A INPUT -p udp --dport 8084 -j REJECT --reject-with icmp-host-prohibited
IPT-LEGACY -t nat -A PREROUTING -p tcp --dport 3333 -j DNAT --to-destination {S}:8080
IP6T-NFT -A INPUT -p tcp --dport 8080 -j ACCEPT
IP6T-LEGACY -P INPUT DROP
IP6T-LEGACY -A INPUT -p ipv6-icmp -j ACCEPT
IP6T-LEGACY -A INPUT -p tcp --dport 8080 -j REJECT --reject-with icmp6-adm-prohibited
"""

UFW = r"""
UFW --force enable
UFW allow 8080/tcp
UFW deny proto tcp from {C} to any port 8081
UFW reject 22/tcp
UFW allow 5353/udp
UFW limit 2222/tcp
UFW allow from 10.77.{N}.0/24 to any port 9000:9010 proto tcp comment 'lan "dev" ports'
UFW allow in on {IF} to any port 7000 proto udp
"""

FIREWALLD = r"""
FWCMD --zone=public --add-port=8080/tcp
FWCMD --zone=trusted --add-source=10.77.{N}.2/32
FWCMD --zone=public '--add-rich-rule=rule family="ipv4" source address="10.77.{N}.3" port port="8081" protocol="tcp" reject'
FWCMD --zone=public --add-forward-port=port=3333:proto=tcp:toport=8080
FWCMD --direct --add-rule ipv4 filter INPUT 0 -p tcp --dport 9999 -j DROP
"""


@dataclass
class Case:
    name: str
    index: int
    about: str
    script: str
    backend: str = "nft"  # what plain IPT / IP6T mean
    kind: str = "iptables"  # "iptables" | "ufw" | "ufw-legacy" | "firewalld"


CASES: dict[str, Case] = {
    c.name: c
    for c in (
        Case(
            "filter-nft",
            40,
            "INPUT/OUTPUT/FORWARD filter rules with many matches and targets, user chains with "
            "jump/goto/return, quoted comments; IPv4 and IPv6; iptables-nft.",
            FILTER4 + FILTER6,
            "nft",
        ),
        Case("filter-legacy", 41, "The same rules as filter-nft, with iptables-legacy.", FILTER4 + FILTER6, "legacy"),
        Case(
            "nat",
            42,
            "nat DNAT/REDIRECT/SNAT/MASQUERADE with a user chain, mangle MARK/CONNMARK/TCPMSS, "
            "raw CT/NOTRACK, security; IPv4 and IPv6; iptables-nft.",
            NAT,
            "nft",
        ),
        Case(
            "docker",
            43,
            "Docker-shaped chains: Docker 26/27 layout (DOCKER-ISOLATION-STAGE-*) in IPv4, Docker 28 "
            "layout (DOCKER-FORWARD/-BRIDGE/-CT) in IPv6, DOCKER-USER, nat DOCKER DNAT; iptables-nft.",
            DOCKER,
            "nft",
        ),
        Case(
            "wsl",
            44,
            "WSL's own native nft chains (WSLOUTPUT, WSLPOSTROUTING) in tables ip/ip6 filter and ip nat "
            "beside iptables-nft rules (iptables-nft-save says the tables contain incompatible base chains), "
            "plus a WSL-named chain in iptables-legacy.",
            WSL,
            "nft",
        ),
        Case(
            "mixed",
            45,
            "Rules for the same ports in both backends and both families (nft ACCEPT + legacy DROP "
            "for 8080/tcp); iptables-nft-save warns on stderr that legacy tables are present.",
            MIXED,
            "nft",
        ),
        Case(
            "ufw",
            46,
            "Real ufw (private config copies) enabled with allow/deny/reject/limit/comment rules: iptables-nft.",
            UFW,
            "nft",
            "ufw",
        ),
        Case(
            "ufw-legacy",
            47,
            "The same ufw rules with every iptables in ufw's mount namespace being "
            "iptables-legacy (the 'ufw says inactive' trap: rules only in legacy).",
            UFW,
            "legacy",
            "ufw-legacy",
        ),
        Case("empty", 48, "A fresh namespace: no iptables rules in any backend.", "", "nft"),
        Case(
            "firewalld",
            49,
            "Real firewalld with FirewallBackend=iptables (private D-Bus and config copy): "
            "its INPUT_direct/INPUT_ZONES/IN_public* chains, a rich rule, a forward port, a direct rule.",
            FIREWALLD,
            "nft",
            "firewalld",
        ),
    )
}

_TOOLS = {
    ("IPT", "nft"): "iptables-nft",
    ("IP6T", "nft"): "ip6tables-nft",
    ("IPT", "legacy"): "iptables-legacy",
    ("IP6T", "legacy"): "ip6tables-legacy",
}
_FIXED = {
    "IPT-NFT": "iptables-nft",
    "IPT-LEGACY": "iptables-legacy",
    "IP6T-NFT": "ip6tables-nft",
    "IP6T-LEGACY": "ip6tables-legacy",
    "NFT": "nft",
    "ipset": "ipset",
}


def _commands(case: Case, pair: NetnsPair) -> list[list[str]]:
    script = case.script.format(
        S=pair.srv_ip, C=pair.cli_ip, S6=pair.srv_ip6, C6=pair.cli_ip6, IF=pair.srv_if, N=pair.index
    )
    out = []
    for line in script.strip().splitlines():
        argv = shlex.split(line)
        if not argv:
            continue
        head = argv[0]
        tool = _TOOLS.get((head, case.backend)) or _FIXED.get(head) or head
        out.append([tool, *argv[1:]])
    return out


def build(case: Case, out_dir: Path) -> Path:
    """Build ``case`` in fresh namespaces and write its snapshot directory to ``out_dir``."""
    pair = NetnsPair(f"{PREFIX}{case.index}", case.index)
    ufw = firewalld = None
    done: list[str] = []
    try:
        binds: list[tuple[str, str]] = []
        env: dict = {}
        if case.kind in ("ufw", "ufw-legacy"):
            ufw = Ufw(pair.srv, legacy=case.kind == "ufw-legacy")
            # the snapshot sees ufw's private config but the real iptables-nft/-legacy binaries
            binds = [b for b in ufw.binds if b[1] != "/usr/sbin/xtables-nft-multi"]
        if case.kind == "firewalld":
            firewalld = Firewalld(pair.srv, backend="iptables")
            env = firewalld.env
            binds = firewalld.binds
        for argv in _commands(case, pair):
            tool, args = argv[0], argv[1:]
            if tool == "UFW":
                ufw.cmd(*args)
                done.append(shlex.join(["ufw", *args]))
            elif tool == "FWCMD":
                firewalld.cmd(*args)
                done.append(shlex.join(["firewall-cmd", *args]))
            elif tool == "nft" and args == ["-f", "WSL_NFT"]:
                ns_run(pair.srv, ["nft", "-f", "-"], input=WSL_NFT)
                done.append("nft -f - <<'EOF'" + WSL_NFT + "EOF")
            else:
                ns_run(pair.srv, argv)
                done.append(shlex.join(argv))
        snap = pair.snapshot(out_dir, env=env, binds=binds)
        (snap / "CASE.md").write_text(
            f"# iptables-{case.name}\n\n{case.about}\n\nGenerated by tests/golden/gen_iptables.py in network "
            f"namespace {pair.srv} (server {pair.srv_ip} / {pair.srv_ip6} on {pair.srv_if}, client "
            f"{pair.cli_ip} / {pair.cli_ip6}), then `python -m wsltui snapshot --dir` inside it.\n\n"
            "```\n" + "\n".join(done) + ("\n" if done else "") + "```\n",
            encoding="utf-8",
        )
        return snap
    finally:
        if firewalld is not None:
            firewalld.stop()
            shutil.rmtree(firewalld.workdir, ignore_errors=True)
        if ufw is not None:
            shutil.rmtree(ufw.workdir, ignore_errors=True)
        pair.close()


def generate(root: Path, cases: list[str] | None = None) -> list[Path]:
    """Write ``root/iptables-<case>/`` for every case (or the named ones)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    return [build(CASES[name], root / f"iptables-{name}") for name in (cases or list(CASES))]


if __name__ == "__main__":
    for path in generate(HERE, sys.argv[1:] or None):
        print(path)
