"""Where a forwarded packet ends: a container or VM on this machine behind a bridge/veth (its
own network namespace, whose listeners the snapshot read), or another machine (not followed).

The packet got through PREROUTING, routing, FORWARD and POSTROUTING (evaluate._forward_walk).
The destination then answers — a SYN-ACK, a reset when nothing listens, a UDP reply or an ICMP
port unreachable — and that answer crosses FORWARD again on its way back (conntrack state
established, or related for the ICMP error); for TCP the client's next packet crosses it once
more. A ruleset that forwards one way only stops the answer, and the client waits.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING

from wsltui.facts.base import Unknown
from wsltui.facts.forward import Namespace
from wsltui.simulation.attribution import established_fixes
from wsltui.simulation.netfilter.evaluate import (
    FORWARDING_OFF,
    NO_ROUTE,
    NetfilterTrace,
    deliver_established,
    deliver_reply,
)
from wsltui.simulation.netfilter.data import RuleRef, Table
from wsltui.simulation.packet import Address, Packet
from wsltui.simulation.trace import NET_UNREACHABLE, REFUSED, TIMEOUT, Fix, Hop
from wsltui.vocabulary import Verdict

if TYPE_CHECKING:  # (simulate imports this module)
    from wsltui.simulation.simulate import World

# Turns a stopped walk (with its protocol and port) into a netfilter hop: simulate's, passed in.
NetfilterHop = Callable[[NetfilterTrace, str, int], Hop]

NS_COMMAND = "cat /proc/PID/net/{tcp,tcp6,udp,udp6,fib_trie,if_inet6} (wsltui snapshot, as root)"
CONTAINER_FIREWALL = (
    "the container's own network namespace has no firewall of its own (wsltui reads its sockets, "
    "not its rules; a container rarely has any)"
)


def routing_hop(stop: str, pkt: Packet) -> Hop:
    """The kernel's routing stopped the packet after NAT, before FORWARD."""
    where = pkt.describe()
    if stop == FORWARDING_OFF:
        key = "net.ipv6.conf.all.forwarding" if pkt.family == 6 else f"net.ipv4.conf.{pkt.iif}.forwarding"
        fix = Fix(
            f"Turn on forwarding ({key})",
            front_end="sysctl",
            argv=[["sysctl", "-w", f"{key}=1"]],
            undo_argv=[["sysctl", "-w", f"{key}=0"]],
            note="Until reboot; persist it in /etc/sysctl.d/. Docker turns it on when it starts.",
        )
        return Hop(
            "netfilter",
            Verdict.DROP,
            f"After NAT the packet goes to {pkt.dst}, another host, but this machine does "
            f"not forward packets ({key} = 0): the kernel drops it without an answer.",
            packet=where,
            rule=f"{key} = 0",
            location="kernel routing (sysctl)",
            owner="kernel",
            edit=key,
            symptom=TIMEOUT,
            fixes=[fix],
        )
    if stop == NO_ROUTE:
        return Hop(
            "netfilter",
            Verdict.REJECT,
            f"After NAT the packet goes to {pkt.dst}, but this machine has no route "
            "there: the kernel answers ICMP network unreachable.",
            packet=where,
            rule=f"no route to {pkt.dst}",
            location="kernel routing (ip route)",
            owner="kernel",
            edit="the routing table",
            symptom=NET_UNREACHABLE,
        )
    return Hop(
        "netfilter",
        Verdict.UNKNOWN,
        f"After NAT the packet goes to {pkt.dst}, another host: wsltui cannot tell how this machine routes it.",
        packet=where,
        reason=stop,
    )


def destination(world: World, first: Packet, fwd: Packet, netfilter_hop: NetfilterHop) -> list[Hop]:
    """The hops after FORWARD: the answer on its way back, then the destination itself.
    ``netfilter_hop(trace, proto, port)`` turns a stopped answer into a netfilter hop."""
    facts = world.facts.forward
    found = facts.namespace_of(fwd.dst) if facts is not None else Unknown("the forward facts could not be read")
    where = fwd.describe()
    if isinstance(found, Unknown):
        return [
            Hop(
                "socket",
                Verdict.UNKNOWN,
                f"The packet is forwarded to {fwd.dst} (out {fwd.oif}); wsltui cannot tell "
                "whether something there listens.",
                packet=where,
                reason=f"the other network namespaces were not read ({found.reason}): {NS_COMMAND}",
            )
        ]
    if found is None:
        return [
            Hop(
                "socket",
                Verdict.UNKNOWN,
                f"The packet leaves this machine for {fwd.dst} (out {fwd.oif}), an address "
                "no network namespace here holds: another machine or a VM. wsltui does not follow it past "
                "this host.",
                packet=where,
                reason=f"the host past {fwd.oif} is not in the snapshot (test from here: nc -zv {fwd.dst} {fwd.dport})",
            )
        ]
    listens, assumption = _listens(found, fwd)
    name = f"{found.comm} (pid {found.pid}, {found.netns})"
    hops: list[Hop] = []
    reply = deliver_reply(world.netfilter, first, fwd, world.host, related=not listens and fwd.proto == "udp")
    if reply.verdict != "accept":
        hops.append(_answer_stopped(reply, fwd, netfilter_hop, listens))
        return hops
    if listens and fwd.proto == "tcp":
        after = deliver_established(world.netfilter, first, fwd, world.host)
        if after.verdict != "accept":
            hop = netfilter_hop(after, fwd.proto, fwd.dport)
            if hop.blocks:
                hop.explanation = (
                    "The connection opens, but the client's next packet (conntrack state established) "
                    f"is stopped on its way to the container: {hop.explanation}"
                )
                hop.symptom, hop.alternatives = TIMEOUT if hop.verdict == "drop" else hop.symptom, []
                if after.decisive is not None:
                    hop.fixes = established_fixes(after.decisive) + hop.fixes
            hops.append(hop)
            if hop.blocks or hop.verdict == "unknown":
                return hops
    assumed = "; ".join(a for a in (CONTAINER_FIREWALL, assumption) if a)
    if listens:
        hops.append(
            Hop(
                "socket",
                Verdict.ASSUMED,
                f"A socket listens on {fwd.proto} port {fwd.dport} in the network namespace "
                f"of {name}, which holds {fwd.dst}.",
                packet=where,
                assumption=assumed,
            )
        )
    else:
        what = "resets the connection" if fwd.proto == "tcp" else "answers ICMP port unreachable"
        hops.append(
            Hop(
                "socket",
                Verdict.NO_LISTENER,
                f"Nothing listens on {fwd.proto} port {fwd.dport} in the network "
                f"namespace of {name}, which holds {fwd.dst}: its kernel {what}.",
                packet=where,
                symptom=REFUSED,
                assumption=assumed,
                fixes=[
                    Fix(
                        f"Start the service in that namespace on {fwd.proto} port {fwd.dport}, listening on "
                        f"{fwd.dst} or on every address",
                        front_end="socket",
                        needs_root=False,
                        manual="the service is started where it lives",
                    )
                ],
            )
        )
    return hops


def _listens(ns: Namespace, pkt: Packet) -> tuple[bool, str | None]:
    """Does a socket of ``ns`` take ``pkt``? An IPv6 wildcard takes IPv4 unless v6only, which
    /proc does not tell: assumed off (net.ipv6.bindv6only's default)."""
    dual = None
    for proto, address, port in ns.sockets:
        if proto != pkt.proto or port != pkt.dport:
            continue
        addr = ipaddress.ip_address(address)
        if addr == pkt.dst or (addr.version == pkt.family and addr.is_unspecified):
            return True, None
        if pkt.family == 4 and addr == ipaddress.IPv6Address("::"):
            dual = "its IPv6 wildcard socket also takes IPv4 (not v6only, the default)"
    return (True, dual) if dual else (False, None)


def _answer_stopped(reply: NetfilterTrace, fwd: Packet, netfilter_hop: NetfilterHop, listens: bool) -> Hop:
    what = "its answer" if listens else "its reset" if fwd.proto == "tcp" else "its ICMP port unreachable"
    hop = netfilter_hop(reply, reply.packet.proto, reply.packet.dport)
    if hop.blocks:
        hop.explanation = (
            f"The packet reaches {fwd.dst}, but {what} is stopped on its way back to the client: {hop.explanation}"
        )
        hop.symptom, hop.alternatives = TIMEOUT, []  # whatever stops the answer, the client hears nothing
        if reply.decisive is not None:
            hop.fixes = established_fixes(reply.decisive)
    return hop


def published_by_docker(world: World, nft: NetfilterTrace) -> str | None:
    """ "Published by Docker: host port → container:port" when Docker's NAT rule rewrote the packet."""
    for hook in nft.hooks:
        for step in hook.steps:
            rule = step.outcome.rule
            if not step.outcome.nat or rule is None or not _docker_owned(step.base.table, rule):
                continue
            before, after = step.before, step.after
            facts = world.facts.forward
            names = [c.name for c in facts.published(before.dport, after.dport, before.proto)] if facts else []
            who = f"container {', '.join(names)}" if names else "a container"
            return (
                f"Published by Docker: host port {before.dport}/{before.proto} → {who} at "
                f"{_endpoint(after.dst, after.dport)}."
            )
    return None


def _docker_owned(table: Table, rule: RuleRef) -> bool:
    if table.source == "nft":
        return table.name.startswith("docker")
    return rule.chain == "DOCKER" or rule.chain.startswith("DOCKER-")


def _endpoint(addr: Address, port: int) -> str:
    return f"[{addr}]:{port}" if addr.version == 6 else f"{addr}:{port}"


def docker_desktop_note(world: World, proto: str, port: int) -> str | None:
    """Docker Desktop's WSL integration runs the containers in its own VM: a port it publishes
    is opened by its proxy on Windows, not by rules or sockets of this distro."""
    facts = world.facts.forward
    platform = facts.docker_platform if facts is not None else None
    if facts is None or not isinstance(platform, str) or "docker desktop" not in platform.lower():
        return None
    containers = facts.containers if not isinstance(facts.containers, Unknown) else []
    names = [c.name for c in containers if any(p.host_port == port and p.proto == proto for p in c.ports)]
    if not names:
        return None
    return (
        f"{platform} publishes {proto}/{port} (container {', '.join(names)}): Docker Desktop's WSL integration runs "
        "its containers in its own VM and opens published ports with its own proxy on Windows (localhost), not "
        "with rules or sockets of this distro, so the Linux layers traced here are not on that path. "
        f"Test from Windows: curl http://localhost:{port}/ (or Test-NetConnection localhost -Port {port})."
    )


def docker_proxy(world: World, pkt: Packet, sock: Hop) -> str | None:
    """A published port held by docker-proxy (Docker's userland-proxy). When it answers, it
    connects to the container from this machine, a path that never crosses FORWARD or DOCKER-USER:
    the note returned says so. When it is bound where this packet does not arrive (``-p
    127.0.0.1:8080:80``), the fix is the ``-p`` binding, added to ``sock``."""
    sockets = world.facts.sockets
    if sockets is None or isinstance(sockets.listeners, Unknown):
        return None
    proxies = [l for l in sockets.on_port(pkt.dport, pkt.proto) if any(p.name == "docker-proxy" for p in l.processes)]
    if not proxies:
        return None
    if sock.blocks:
        where = ", ".join(sorted({l.address for l in proxies}))
        sock.fixes.insert(
            0,
            Fix(
                f"Publish the port on every address: docker run -p {pkt.dport}:<container port> (it is "
                f"published on {where} only)",
                front_end="docker",
                needs_root=False,
                manual="the container is recreated with its -p binding",
            ),
        )
        return None
    return (
        f"docker-proxy (Docker's userland-proxy) answers {pkt.proto}/{pkt.dport} here and connects to the container "
        "from this machine: this path skips FORWARD and DOCKER-USER, which still decide the connections Docker's "
        "DNAT rules take (to this machine's other addresses: the WSL IP, the LAN through portproxy)."
    )
