"""WSL's forwarding into the VM as Windows sees it: the localhost relay's binds (NAT, bridged) and
mirrored mode's steering of the ports Linux reserved."""

from __future__ import annotations

import dataclasses
import ipaddress

from wsltui.facts.base import Unknown
from wsltui.facts.windows import WindowsFacts, WinListener
from wsltui.simulation.trace import REFUSED, TIMEOUT, WRONG_PROGRAM, Fix, Hop
from wsltui.simulation.windows.excluded import excluded, excluded_table
from wsltui.simulation.windows.listeners import (
    WILDCARD,
    bracketed,
    is_relay,
    listener_name,
    relay_name,
    relay_on,
    same_address,
    stop_fix,
)
from wsltui.simulation.windows.shared import LISTEN_CMD
from wsltui.vocabulary import Verdict


def relay_excluded(win: WindowsFacts | None, proto: str, port: int, address: str) -> Hop:
    """The excluded-range hop for the relay's bind on ``address``: a relay the listener table shows
    there bound before the range was reserved, and keeps the port until WSL restarts."""
    hop = excluded(win, proto, port, ":" in address, who=relay_name(win))
    held = relay_on(win, port, address)
    if not hop.blocks or not isinstance(held, WinListener):
        return hop
    start, end = (hop.rule or "? ?").split()[:2]
    return Hop(
        hop.layer,
        Verdict.ALLOW,
        f"Port {port} is in the Windows excluded port range {start}-{end}, but {listener_name(held)} already "
        "listens on it (it bound before the range was reserved): it works until WSL restarts, when the relay's bind "
        "fails.",
        rule=hop.rule,
        location=hop.location,
        owner="windows",
    )


def relay_binds(win: WindowsFacts | None, relay: Hop, proto: str, port: int, v6: bool) -> Hop:
    """NAT's relay hop (``relay``, decided from the Linux sockets and the Windows listener table)
    with the rest of Windows' side of it: the relay must bind Windows 127.0.0.1:P / [::1]:P. Inside
    an excluded port range that bind fails with WSAEACCES and is only logged (docs/wsl-networking.md
    §1.2 a, from WSL's source): the relay is then not on the path, and the excluded-ports hop carries
    the blocker and its fixes. When the ranges are not known the relay is assumed to bind, and says
    so. Windows' own listener table, when read, is the truth: it tells whether the relay did bind."""
    if relay.verdict not in ("allow", "assumed") or proto != "tcp":
        return relay
    addr = "::1" if v6 else "127.0.0.1"
    shown = f"[{addr}]" if v6 else addr
    seen = relay_on(win, port, addr)
    if isinstance(seen, WinListener):
        return relay
    name = relay_name(win)
    table = excluded_table(win, v6)
    if isinstance(table, Unknown):
        return dataclasses.replace(
            relay,
            verdict=Verdict.ASSUMED,
            assumption="; ".join(
                filter(
                    None,
                    (
                        relay.assumption,
                        f"port {port} is outside the Windows excluded port ranges, which are not known ({table.reason})",
                    ),
                )
            ),
        )
    r = table.containing(port)
    if r is not None:
        return Hop(
            "localhost-relay",
            Verdict.NOT_APPLICABLE,
            f"{name} would listen on Windows {shown}:{port} for "
            f"{relay.rule}, but port {port} is in the excluded range {r.start}-{r.end}: its bind fails (WSAEACCES, "
            "only logged), so the connection never reaches the VM (the excluded-ports hop has the fixes).",
            rule=relay.rule,
            owner="wsl",
        )
    if isinstance(seen, Unknown):
        return relay
    return Hop(
        "localhost-relay",
        Verdict.NO_LISTENER,
        f"{relay.rule} qualifies for the relay, but {name} does not listen "
        f"on Windows {shown}:{port} (Get-NetTCPConnection), so nothing answers there.",
        rule=relay.rule,
        location="Get-NetTCPConnection -State Listen",
        owner="wsl",
        symptom=REFUSED,
        fixes=[
            Fix(
                "Restart WSL so its localhost relay binds again: wsl.exe --shutdown, then start the distro and "
                "the server",
                front_end="wsl",
                needs_root=False,
                note="the relay can stop after sleep, hibernation or Fast Startup (microsoft/WSL#5317, #8825); "
                "it also appears up to a second after the Linux server starts listening, so capture again first",
            )
        ],
    )


def _nothing_there(dst: str) -> tuple[str, list[str]]:
    """What a client sees where nothing listens on Windows: a reset on loopback; on a LAN address
    the firewall's stealth mode drops the SYN when the profile is on (a reset when it is off)."""
    return (REFUSED, []) if ipaddress.ip_address(dst).is_loopback else (TIMEOUT, [REFUSED])


def _windows_owners(win: WindowsFacts, port: int) -> list[WinListener]:
    return [l for l in win.listeners if l.port == port and not is_relay(l)]  # type: ignore[union-attr]


def steering_binds(
    win: WindowsFacts | None, reservation: Hop, proto: str, port: int, v6: bool, *, dst: str, linux_bound: bool | None
) -> Hop:
    """Mirrored mode's port reservation (``reservation``, decided from the Linux sockets) against
    what Windows holds. A Linux bind() asks Windows to reserve the port, and fails with EADDRINUSE
    when a Windows program listens there or, likely, when an excluded range covers it
    (microsoft/WSL src/windows/service/exe/WslCoreGuestNetworkService.cpp OnPortAllocationRequest, microsoft/WSL#10494):
    so with no Linux listener (``linux_bound`` False) the Windows owner is the blocker, never "start
    the server" (it would fail again). A Linux socket that holds a port Windows also holds
    contradicts that, and what Windows does with the port then is not documented."""
    if proto != "tcp":
        return reservation
    table = excluded_table(win, v6)
    r = None if isinstance(table, Unknown) else table.containing(port)
    listeners = Unknown("no Windows data in this snapshot", LISTEN_CMD) if win is None else win.listeners
    owners = [] if isinstance(listeners, Unknown) else _windows_owners(win, port)  # type: ignore[arg-type]
    shown = bracketed(dst)
    if reservation.verdict == "allow":
        held = (
            f"{listener_name(owners[0])} listens on Windows {owners[0].address}:{port}"
            if owners
            else f"Windows excludes it ({r.start}-{r.end})"
            if r is not None
            else None
        )
        if held is None:
            return reservation
        return Hop(
            "localhost-relay",
            Verdict.UNKNOWN,
            f"{reservation.rule} holds port {port}, but {held}; a mirrored-mode bind "
            "of a port Windows holds should have failed.",
            rule=reservation.rule,
            owner="wsl",
            reason=f"unknown: undocumented: whether Windows steers such a port into Linux "
            f"(run from Windows: Test-NetConnection -ComputerName {dst} -Port {port})",
        )
    if linux_bound is not False or reservation.verdict != "no-listener":
        return reservation
    if owners:
        return _mirrored_owner(win, owners, port, dst, shown)  # type: ignore[arg-type]
    if r is not None:
        hop = excluded(win, proto, port, v6, who="the Linux server")
        symptom, alternatives = _nothing_there(dst)
        return dataclasses.replace(
            hop,
            symptom=symptom,
            alternatives=alternatives,
            explanation=f"Port {port} is in the Windows excluded port range {r.start}-{r.end}: in mirrored mode a Linux "
            "bind() reserves the port on Windows, which likely fails inside an excluded range, so the server's "
            "bind() gets EADDRINUSE and it never starts (no Linux socket holds the port).",
        )
    if isinstance(listeners, Unknown):
        fixes = [
            dataclasses.replace(
                f,
                note="; ".join(
                    filter(
                        None,
                        (
                            f.note,
                            (
                                "if it fails with EADDRINUSE, a Windows program holds the port (mirrored mode reserves it on Windows; the "
                                f"Windows listeners are not known: {listeners.reason})"
                            ),
                        ),
                    )
                ),
            )
            for f in reservation.fixes
        ]
        return dataclasses.replace(reservation, fixes=fixes)
    return reservation


def _mirrored_owner(win: WindowsFacts, owners: list[WinListener], port: int, dst: str, shown: str) -> Hop:
    """No Linux listener and a Windows program on the port: the Linux bind failed (EADDRINUSE)."""
    family = ipaddress.ip_address(dst).version
    covering = [l for l in owners if same_address(l.address, dst) or l.address == WILDCARD[family]]
    owner = (covering or owners)[0]
    where = "; ".join(f"{bracketed(l.address)}:{port} {l.process or '?'} (pid {l.pid})" for l in owners)
    alternatives: list[str]
    if covering:
        symptom, alternatives = WRONG_PROGRAM, []
        client = f"{owner.process} answers {shown}:{port} instead"
    else:
        symptom, alternatives = _nothing_there(dst)
        client = f"nothing answers {shown}:{port}"
    return Hop(
        "windows-listener",
        Verdict.NO_LISTENER,
        f"{listener_name(owner)} listens on Windows {bracketed(owner.address)}:{port}. In mirrored "
        f"mode a Linux bind() reserves the port on Windows, so the Linux server's bind() fails with EADDRINUSE and "
        f"it never starts (no Linux socket holds port {port}): {client}. Starting the server again would fail the "
        "same way.",
        rule=where,
        location="Get-NetTCPConnection -State Listen",
        owner="windows",
        edit=f"Windows program {owner.process}",
        symptom=symptom,
        alternatives=alternatives,
        fixes=[
            stop_fix(owner, port),
            Fix(
                f"Or run the Linux server on a port no Windows program holds (not {port})",
                [],
                [],
                "socket",
                needs_root=False,
            ),
        ],
    )
