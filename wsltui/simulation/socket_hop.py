"""Hops decided by Linux's listening sockets: the socket itself, the NAT localhost relay (which
only forwards for some bind addresses), and mirrored mode's port reservations."""

from __future__ import annotations

import ipaddress

from wsltui.facts.base import Unknown
from wsltui.facts.sockets import Listener, SocketFacts
from wsltui.facts.wsl import WslConfig, WslFacts
from wsltui.simulation.packet import Address, Packet
from wsltui.simulation.trace import Fix, Hop
from wsltui.vocabulary import Verdict

SS_COMMAND = "ss -H -l -n -t -u -p -e"


def _listeners(sockets_facts: SocketFacts | None, proto: str, port: int) -> list[Listener] | Unknown:
    """The listening sockets on ``proto`` ``port`` (the only ones a hop looks at), or Unknown."""
    if sockets_facts is None:
        return Unknown("the socket facts could not be read", SS_COMMAND)
    if isinstance(sockets_facts.listeners, Unknown):
        return sockets_facts.listeners
    return sockets_facts.on_port(port, proto)


def accepts(listener: Listener, pkt: Packet) -> bool:
    """Would the kernel deliver ``pkt`` to this listening socket?"""
    if listener.proto != pkt.proto or listener.port != pkt.dport:
        return False
    if listener.interface and listener.interface != pkt.iif:
        return False
    try:
        addr = ipaddress.ip_address(listener.address)
    except ValueError:
        return False
    dst = pkt.dst
    if dst.version == 4:
        if addr.version == 4:
            return addr == dst or addr == ipaddress.IPv4Address("0.0.0.0")
        # An IPv6 socket takes IPv4 as v4-mapped addresses unless it is v6only.
        if listener.v6only:
            return False
        return addr == ipaddress.IPv6Address("::") or addr == ipaddress.IPv6Address(f"::ffff:{dst}")
    return addr.version == 6 and (addr == dst or addr == ipaddress.IPv6Address("::"))


def _who(listener: Listener) -> str:
    names = [p.name or f"pid {p.pid}" for p in listener.processes if p.name or p.pid]
    return ", ".join(names) if names else "an unknown process"


def _show(listener: Listener) -> str:
    a = listener.address
    host = f"[{a}]" if ":" in a else a
    return f"{listener.proto} {host}:{listener.port}" + (f"%{listener.interface}" if listener.interface else "")


def listener(sockets_facts: SocketFacts | None, pkt: Packet) -> Hop:
    listeners = _listeners(sockets_facts, pkt.proto, pkt.dport)
    where = pkt.describe()
    if isinstance(listeners, Unknown):
        return Hop(
            "socket",
            Verdict.UNKNOWN,
            "wsltui does not know which sockets are listening.",
            packet=where,
            reason=str(listeners),
        )
    for l in listeners:
        if accepts(l, pkt):
            return Hop(
                "socket",
                Verdict.ALLOW,
                f"{_who(l)} listens on {_show(l)} and gets the connection.",
                packet=where,
                rule=_show(l),
                owner=_who(l),
            )
    same_port = [l for l in listeners if l.proto == pkt.proto and l.port == pkt.dport]
    fixes: list[Fix] = []
    if same_port:
        bound = ", ".join(f"{_show(l)} ({_who(l)})" for l in same_port)
        why = f"Something listens on port {pkt.dport}, but not on an address this packet can reach: {bound}."
        wildcard = "::" if pkt.family == 6 else "0.0.0.0"
        fixes.append(
            Fix(
                f"Bind the server to {wildcard} (all addresses) instead of {same_port[0].address}",
                [],
                [],
                "socket",
                needs_root=False,
                note=f'e.g. --host {wildcard} / listen("{wildcard}:{pkt.dport}"); then restart it',
            )
        )
    else:
        why = f"Nothing listens on {pkt.proto} port {pkt.dport}."
        fixes.append(
            Fix(
                f"Start the server on port {pkt.dport} ({pkt.proto}), bound to 0.0.0.0",
                [],
                [],
                "socket",
                needs_root=False,
            )
        )
    symptom = "refused"
    return Hop(
        "socket",
        Verdict.NO_LISTENER,
        why
        + (
            " The kernel answers with a TCP reset."
            if pkt.proto == "tcp"
            else " The kernel answers with ICMP port unreachable."
        ),
        packet=where,
        symptom=symptom,
        fixes=fixes,
    )


def _config(wsl_facts: WslFacts | None) -> WslConfig | None:
    """What .wslconfig says, or None when it (or the WSL facts) could not be read."""
    config = wsl_facts.wslconfig if wsl_facts is not None else None
    return None if isinstance(config, Unknown) else config


def _forwarding_off(what: str) -> Hop:
    return Hop(
        "localhost-relay",
        Verdict.NO_LISTENER,
        f"localhostForwarding=false in .wslconfig: {what}.",
        symptom="refused",
        fixes=[
            Fix(
                "Set localhostForwarding=true under [wsl2] in %UserProfile%\\.wslconfig, then wsl --shutdown",
                front_end="wsl",
                needs_root=False,
            )
        ],
    )


_RELAY_BINDS = {6: ("::", "::1"), 4: ("0.0.0.0", "127.0.0.1")}


def bound(sockets_facts: SocketFacts | None, proto: str, port: int) -> bool | None:
    """Does any Linux socket listen on ``proto`` ``port``? None when the sockets are not known."""
    listeners = _listeners(sockets_facts, proto, port)
    if isinstance(listeners, Unknown):
        return None
    return bool(listeners)


def relay_target(sockets_facts: SocketFacts | None, port: int, v6: bool) -> Address:
    """The Linux loopback address the relay connects to for Windows [::1] (``v6``) or 127.0.0.1: its
    own family, unless only the other family's bind explains it (a relay the Windows listener table
    shows in the other family, microsoft/WSL#11740: it can only reach the listener that exists)."""
    own, other = (ipaddress.ip_address("::1"), ipaddress.ip_address("127.0.0.1"))[:: 1 if v6 else -1]
    listeners = _listeners(sockets_facts, "tcp", port)
    if isinstance(listeners, Unknown):
        return own
    tcp = [l for l in listeners if not l.interface]
    if any(l.address in _RELAY_BINDS[own.version] for l in tcp) or not any(
        l.address in _RELAY_BINDS[other.version] for l in tcp
    ):
        return own
    return other


def relay(
    sockets_facts: SocketFacts | None,
    wsl_facts: WslFacts | None,
    proto: str,
    port: int,
    v6: bool,
    *,
    name: str,
    seen: bool | None = None,
) -> Hop:
    """NAT's localhost relay (``name``: the process as Windows shows it): binds Windows 127.0.0.1:P
    for a Linux TCP listener on 0.0.0.0 or 127.0.0.1, and [::1]:P for one on :: or ::1 (a dual-stack
    [::] socket gets only [::1]). ``seen``: whether the Windows listener table shows the relay on
    that address (None: not read). The table is the truth: it wins over the bind rule above, which
    differs between WSL versions (microsoft/WSL#11740: 2.2.4 binds both for 0.0.0.0)."""
    win = "[::1]" if v6 else "127.0.0.1"
    config = _config(wsl_facts)
    if config is not None and not config.localhost_forwarding:
        return _forwarding_off("WSL does not forward localhost to the VM")
    if proto != "tcp":
        return Hop(
            "localhost-relay",
            Verdict.NO_LISTENER,
            f"The NAT localhost relay forwards TCP only: UDP to {win}:{port} never reaches WSL.",
            symptom="refused",
            fixes=[
                Fix(
                    "Send the UDP traffic to the WSL VM's IP instead, or switch to networkingMode=mirrored",
                    front_end="wsl",
                    needs_root=False,
                )
            ],
        )
    listed = f"{name} listens on Windows {win}:{port} (Get-NetTCPConnection)"
    listeners = _listeners(sockets_facts, "tcp", port)
    if isinstance(listeners, Unknown):
        if seen:
            return Hop(
                "localhost-relay", Verdict.ALLOW, f"{listed}; which Linux socket it serves is not known.", owner="wsl"
            )
        return Hop(
            "localhost-relay",
            Verdict.UNKNOWN,
            "The relay forwards only for some Linux bind addresses; wsltui does not know the listening sockets.",
            reason=str(listeners),
        )
    wanted = _RELAY_BINDS[6 if v6 else 4]
    mine = [l for l in listeners if l.proto == "tcp" and l.port == port and l.address in wanted and not l.interface]
    if mine:
        return Hop(
            "localhost-relay",
            Verdict.ALLOW,
            f"{name} listens on Windows {win}:{port} for {_show(mine[0])} "
            f"({_who(mine[0])}) and connects to it from inside the VM over lo.",
            rule=_show(mine[0]),
            owner="wsl",
        )
    others = [l for l in listeners if l.proto == "tcp" and l.port == port]
    got = ", ".join(_show(l) for l in others)
    if seen and others:
        return Hop(
            "localhost-relay",
            Verdict.ASSUMED,
            f"{listed} although Linux binds only {got}: some WSL versions relay "
            "both loopback addresses (microsoft/WSL#11740), and Windows' listener table is the truth.",
            rule=got,
            owner="wsl",
            assumption=f"the relay connects to {_show(others[0])} inside the VM",
        )
    if seen:
        return Hop(
            "localhost-relay",
            Verdict.ALLOW,
            f"{listed}, but no Linux TCP socket listens on port {port}: the relay has "
            "nothing to connect to inside the VM.",
            owner="wsl",
        )
    if others:
        if v6:
            fix = Fix(
                f"Bind the server to :: (dual-stack) or ::1, or connect to 127.0.0.1:{port} instead",
                front_end="socket",
                needs_root=False,
            )
        elif any(l.address == "::" and l.dual_stack for l in others):
            fix = Fix(
                f"Connect to localhost or [::1]:{port} instead of 127.0.0.1, or bind the server to 0.0.0.0 as well",
                front_end="socket",
                needs_root=False,
                note="a dual-stack [::] listener (Go, Node, Java) gets only an IPv6 relay in NAT mode",
            )
        else:
            fix = Fix("Bind the server to 0.0.0.0 or 127.0.0.1", front_end="socket", needs_root=False)
        why = (
            f"The relay only forwards {win}:{port} for a Linux listener on {' or '.join(wanted)}; "
            f"this port is bound as {got}, so Windows {win}:{port} has nobody listening."
        )
        return Hop("localhost-relay", Verdict.NO_LISTENER, why, symptom="refused", fixes=[fix])
    return Hop(
        "localhost-relay",
        Verdict.NO_LISTENER,
        f"No Linux TCP listener on port {port}, so {name} does not listen on Windows {win}:{port}.",
        symptom="refused",
        fixes=[_start_server_fix(port)],
    )


def _start_server_fix(port: int) -> Fix:
    """Nothing listens yet: the fix is the user's own server, on every address."""
    return Fix(f"Start the server on port {port}, bound to 0.0.0.0", front_end="socket", needs_root=False)


def mirrored_reservation(
    sockets_facts: SocketFacts | None, wsl_facts: WslFacts | None, proto: str, port: int, *, loopback: bool
) -> Hop:
    """Mirrored mode steers a port into Linux only if a root-namespace socket bound it there;
    port 53 and ``ignoredPorts`` are never reserved."""
    config = _config(wsl_facts)
    ignored = [] if config is None else list(config.ignored_ports)
    if port == 53 or port in ignored:
        return Hop(
            "localhost-relay",
            Verdict.NO_LISTENER,
            f"Port {port} is not reserved for Linux in mirrored mode "
            f"({'port 53 never is' if port == 53 else 'it is in ignoredPorts'}): Windows keeps it.",
            symptom="refused",
        )
    listeners = _listeners(sockets_facts, proto, port)
    if isinstance(listeners, Unknown):
        return Hop(
            "localhost-relay",
            Verdict.UNKNOWN,
            "Mirrored mode forwards only ports a Linux socket bound; wsltui does not know the listening sockets.",
            reason=str(listeners),
        )
    wanted = {"0.0.0.0", "127.0.0.1", "::"} if loopback else None
    mine = [l for l in listeners if l.proto == proto and l.port == port and (wanted is None or l.address in wanted)]
    if mine:
        return Hop(
            "localhost-relay",
            Verdict.ALLOW,
            f"{_show(mine[0])} ({_who(mine[0])}) reserved port {port} on Windows, so Windows steers it into the VM.",
            rule=_show(mine[0]),
            owner="wsl",
        )
    return Hop(
        "localhost-relay",
        Verdict.NO_LISTENER,
        f"No Linux socket bound {proto} port {port}, so mirrored networking does not steer it into the VM.",
        symptom="refused",
        fixes=[_start_server_fix(port)],
    )


def consomme_forward(
    sockets_facts: SocketFacts | None, wsl_facts: WslFacts | None, proto: str, port: int, *, dst: Address
) -> Hop:
    """Consomme (virtioproxy) opens a host socket for each Linux bind (microsoft/WSL
    src/windows/common/ConsommeNetworking.cpp HandlePortNotification): a loopback or unspecified bind gets a Windows
    loopback socket in its own family (``[::]`` -> Windows [::1], not 127.0.0.1), when
    localhostForwarding is on; a non-loopback bind, wildcard included, a socket on the host's
    interface. TCP and UDP; no ignoredPorts, no excluded-range check in WSL's code."""
    layer = "localhost-relay"
    loopback = dst.is_loopback
    family = dst.version
    config = _config(wsl_facts)
    if loopback and config is not None and not config.localhost_forwarding:
        return _forwarding_off("consomme opens no Windows loopback socket for Linux listeners")
    listeners = _listeners(sockets_facts, proto, port)
    if isinstance(listeners, Unknown):
        return Hop(
            layer,
            Verdict.UNKNOWN,
            "Consomme forwards only ports a Linux socket bound; wsltui does not know the listening sockets.",
            reason=str(listeners),
        )
    same = [l for l in listeners if l.proto == proto and l.port == port and not l.interface]
    wildcard = _RELAY_BINDS[family][0]
    wanted: tuple[str, ...]
    if loopback:
        wanted = _RELAY_BINDS[family]
        where = f"Windows {'[::1]' if family == 6 else '127.0.0.1'}:{port}"
    else:
        wanted = tuple({wildcard, str(dst)})
        where = f"the Windows host's {dst}:{port}"
    mine = [l for l in same if l.address in wanted]
    if mine:
        return Hop(
            layer,
            Verdict.ALLOW,
            f"Consomme opened {where} for {_show(mine[0])} ({_who(mine[0])}) and forwards it into the VM.",
            rule=_show(mine[0]),
            owner="wsl",
        )
    if family == 4 and not loopback and any(l.address == "::" and l.dual_stack for l in same):
        return Hop(
            layer,
            Verdict.UNKNOWN,
            f"Linux binds {proto} [::]:{port} (dual-stack); consomme opens the host socket in the "
            "bind's own family, and whether that socket takes IPv4 is not documented.",
            rule=f"[::]:{port}",
            owner="wsl",
            reason="unknown: undocumented: consomme's host socket for a dual-stack [::] bind "
            f"(test from the LAN: Test-NetConnection -Port {port}, or bind 0.0.0.0)",
        )
    if same:
        got = ", ".join(_show(l) for l in same)
        fix = Fix(
            f"Bind the server to {wildcard}" + (" or its loopback address" if loopback else ""),
            front_end="socket",
            needs_root=False,
            note="consomme opens a Windows socket in the bind's own family and scope",
        )
        return Hop(
            layer,
            Verdict.NO_LISTENER,
            f"Consomme opens {where} only for a Linux bind to {' or '.join(wanted)}; this port is bound as {got}.",
            symptom="refused",
            fixes=[fix],
        )
    return Hop(
        layer,
        Verdict.NO_LISTENER,
        f"No Linux socket bound {proto} port {port}, so consomme opens nothing on {where}.",
        symptom="refused",
        fixes=[Fix(f"Start the server on port {port}, bound to {wildcard}", front_end="socket", needs_root=False)],
    )
