"""The forward path's facts and wording, without root: ipset save, docker ps/version, the
forwarding switches, the other namespaces' sockets; and on the nat-docker-user demo, Docker named
(who owns the blocker, fixes that fit Docker), Docker Desktop, forwarding switched off."""

from __future__ import annotations

import dataclasses

from wsltui import demos
from wsltui.facts import build_facts
from wsltui.facts.base import Unknown
from wsltui.facts.forward import parse_docker_ps, parse_forwarding, parse_namespaces
from wsltui.facts.iptables import parse_ipset_save
from wsltui.probes import netns_scan
from wsltui.simulation.simulate import Scenario, World, simulate


def test_ipset_save():
    sets = parse_ipset_save(
        "create a hash:ip family inet hashsize 1024 maxelem 65536\nadd a 10.0.0.1\n"
        "create n hash:net\nadd n 10.1.0.0/16 nomatch\nadd n 10.0.0.0/8\n"
        "create p hash:ip,port family inet6\nadd p fd00::1,udp:53 timeout 30\n"
        "create l list:set size 8\nadd l a\nadd ghost 10.9.9.9\n"
    )
    assert sets["a"].members == [("10.0.0.1",)] and sets["a"].family == "inet"
    assert sets["n"].family == "inet" and sets["n"].nomatch == [("10.1.0.0/16",)]
    assert sets["p"].dimensions == ["ip", "port"] and sets["p"].members == [("fd00::1", "udp:53")]
    assert sets["l"].family is None and sets["l"].members == [("a",)]
    assert "ghost" not in sets


def test_docker_ps():
    rows = parse_docker_ps(
        '{"Names":"web","Image":"nginx","Ports":"0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, 443/tcp"}\n'
        '{"Names":"dns","Image":"coredns","Ports":"127.0.0.1:5353->53/udp"}\n'
    )
    web, dns = rows
    assert [(p.host_address, p.host_port, p.container_port, p.proto) for p in web.ports] == [
        ("0.0.0.0", 8080, 80, "tcp"),
        ("::", 8080, 80, "tcp"),
    ]  # 443 is exposed, not published
    assert (dns.ports[0].host_address, dns.ports[0].proto) == ("127.0.0.1", "udp")
    assert isinstance(parse_docker_ps("Cannot connect to the Docker daemon\n"), Unknown)


def test_forwarding_and_namespaces():
    fwd = parse_forwarding(
        "net.ipv4.conf.all.forwarding = 1\nnet.ipv4.conf.eth0.forwarding = 0\nnet.ipv6.conf.all.forwarding = 0\n"
    )
    assert fwd == {"ipv4 all": True, "ipv4 eth0": False, "ipv6 all": False}
    assert isinstance(parse_namespaces("{}"), Unknown)
    ns = parse_namespaces(
        '{"namespaces": [{"netns": "net:[1]", "pid": 7, "comm": "nginx", "addresses": ["172.17.0.2"],'
        ' "sockets": [{"proto": "tcp", "address": "0.0.0.0", "port": 80}]}]}'
    )
    assert ns[0].sockets == (("tcp", "0.0.0.0", 80),)


def test_proc_net_formats():
    # /proc/net/tcp prints each 32-bit word of the address as a host-order integer
    assert netns_scan._address("0100007F", False) == "127.0.0.1"
    assert netns_scan._address("00000000000000000000000001000000", True) == "::1"


def _trace(facts, port=8080, scenario="windows-to-wsl-ip"):
    return simulate(World.from_facts(facts), Scenario(scenario, port)).to_json()


def test_docker_user_blocker_is_yours_and_named():
    t = _trace(build_facts(demos.load("nat-docker-user")))
    first = t["first_blocker"]
    assert first["location"] == "iptables-nft (ipv4) table filter, chain DOCKER-USER, rule 1"
    assert first["owner"] == "iptables-nft" and first["edit"].startswith("Your rule in DOCKER-USER")
    assert "Published by Docker: host port 8080/tcp → container web at 172.17.0.2:80." in first["explanation"]
    commands = [c for f in first["fixes"] for c in f["commands"]]
    assert commands and all(" DOCKER-USER " in c for c in commands), commands


def test_docker_policy_blocker_gets_docker_fixes():
    """The same machine with the DOCKER-USER rule gone and the container's allow missing: Docker's
    own DROP in chain DOCKER is the blocker, and the fixes are the -p binding or an ACCEPT in
    DOCKER-USER, never an edit of Docker's chains."""
    snap = demos.load("nat-docker-user")
    rec = snap.get("nf.iptables-nft")
    text = "\n".join(
        l for l in rec.stdout.splitlines() if not l.startswith(("-A DOCKER-USER", "-A DOCKER -d 172.17.0.2/32"))
    )
    snap.records["nf.iptables-nft"] = dataclasses.replace(rec, stdout=text + "\n")
    first = _trace(build_facts(snap))["first_blocker"]
    assert (first["owner"], first["location"]) == ("docker", "iptables-nft (ipv4) table filter, chain DOCKER, rule 1")
    titles = [f["title"] for f in first["fixes"]]
    assert titles[0].startswith("Publish the port with Docker: docker run -p 8080:80/tcp"), titles
    assert any(
        "-I DOCKER-USER 1 -d 172.17.0.2 -p tcp -m conntrack --ctorigdstport 8080 -j ACCEPT" in c
        for f in first["fixes"]
        for c in f["commands"]
    )
    assert not any(" DOCKER " in c or "ISOLATION" in c for f in first["fixes"] for c in f["commands"])


def test_forwarding_off_is_the_blocker():
    facts = build_facts(demos.load("nat-docker-user"))
    facts.forward.forwarding = {"ipv4 all": False, "ipv4 eth0": False}
    first = _trace(facts)["first_blocker"]
    assert (first["layer"], first["verdict"], first["symptom"]) == ("netfilter", "drop", "timeout")
    assert first["rule"] == "net.ipv4.conf.eth0.forwarding = 0"
    facts.forward.forwarding = Unknown("not captured in this snapshot")
    t = _trace(facts)
    assert t["reachable"] is None and "forwards packets is unknown" in t["hops"][-1]["reason"]


def test_docker_desktop_is_explained():
    facts = build_facts(demos.load("nat-docker-user"))
    facts.forward.docker_platform = "Docker Desktop 4.37.1 (178610)"
    notes = _trace(facts, scenario="windows-localhost-v4")["notes"]
    assert any(n.startswith("Docker Desktop 4.37.1 (178610) publishes tcp/8080 (container web)") for n in notes), notes


def test_container_listener_unknown_without_the_namespaces():
    facts = build_facts(demos.load("nat-docker-user"))
    facts.forward.namespaces = Unknown("not captured in this snapshot", "cat /proc/PID/net/tcp")
    src = "192.168.1.50"  # a LAN address DOCKER-USER lets through
    import ipaddress

    t = simulate(
        World.from_facts(facts),
        Scenario("custom", 8080, "tcp", ipaddress.ip_address(src), ipaddress.ip_address("172.28.165.23"), "eth0"),
    ).to_json()
    assert t["reachable"] is None and t["hops"][-1]["layer"] == "socket"
    assert "other network namespaces were not read" in t["hops"][-1]["reason"]


def test_policy_routing_leaves_the_route_unknown():
    """Routes in another table (Tailscale's 52): ``ip rule`` may send the packet there, and the
    rules are not in the snapshot, so the forward route is unknown rather than main's."""
    from wsltui.facts.network import Route

    facts = build_facts(demos.load("nat-docker-user"))
    facts.network.routes.append(
        Route("ipv4", "100.64.0.0/10", None, "tailscale0", "52", "unicast", None, None, None, None)
    )
    t = _trace(facts)
    assert t["reachable"] is None and "ip rule show" in t["hops"][-1]["reason"], t["hops"][-1]
