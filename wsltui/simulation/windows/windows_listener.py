"""The windows-listener hop: which Windows program gets a connection to a port, WSL's relay,
portproxy or another program."""

from __future__ import annotations

from wsltui.facts.base import Unknown
from wsltui.facts.windows import WindowsFacts, WinListener
from wsltui.simulation.trace import REFUSED, WRONG_PROGRAM, Fix, Hop
from wsltui.simulation.windows.listeners import (
    delete_proxy_fix,
    is_relay,
    listener_name,
    listeners_on,
    proxy_entries,
    relay_name,
    relay_on,
    stop_fix,
)
from wsltui.simulation.windows.shared import LISTEN_CMD, PROXY_CMD, unknown_hop
from wsltui.vocabulary import Verdict


def relay_listener(win: WindowsFacts | None, proto: str, port: int, address: str) -> tuple[Hop, bool]:
    """Who answers a Windows app's connection to ``address:port`` (127.0.0.1 or ::1, or another
    loopback address) in NAT mode: WSL's relay, another Windows program (it shadows WSL), or
    portproxy (True: follow the portproxy entry). A bind to the address beats a wildcard bind; a
    Windows program and the relay on the same address: in the reported reproductions the Windows
    program answers (microsoft/WSL#5732)."""
    layer = "windows-listener"
    shown = f"[{address}]" if ":" in address else address
    if proto != "tcp":
        return Hop(layer, Verdict.NOT_APPLICABLE, "wsltui reads Windows TCP listeners only."), False
    if win is None:
        return unknown_hop(
            layer,
            f"A Windows program listening on {shown}:{port} would answer instead of WSL.",
            "no Windows data in this snapshot",
            LISTEN_CMD,
        ), False
    if isinstance(win.listeners, Unknown):
        return unknown_hop(
            layer, f"A Windows program listening on {shown}:{port} would answer instead of WSL.", win.listeners
        ), False
    name = relay_name(win)
    exact, wild, dual = (list(filter(lambda l: not is_relay(l), ls)) for ls in listeners_on(win, port, address))
    seen = relay_on(win, port, address)
    relay = seen if isinstance(seen, WinListener) else None  # (the table was read: never Unknown here)
    taker = next(iter(exact or wild), None)
    if relay is not None and not exact:
        beside = (
            f"; {listener_name(wild[0])} listens on {wild[0].address}:{port}, but a bind to {shown} beats a wildcard bind"
            if wild
            else ""
        )
        return Hop(
            layer,
            Verdict.ALLOW,
            f"{listener_name(relay)}, WSL's localhost relay, listens on Windows {shown}:{port}{beside}.",
            rule=f"{shown}:{port} {relay.process or name}",
            owner="wsl",
        ), False
    if taker is None:
        if dual:
            return Hop(
                layer,
                Verdict.UNKNOWN,
                f"{listener_name(dual[0])} listens on [::]:{port}; if its socket is dual-stack it answers "
                f"{shown}:{port} instead of WSL.",
                rule=f"[::]:{port} {dual[0].process}",
                reason=f"unknown: whether {dual[0].process} turned IPV6_V6ONLY off (Windows' default is on)",
            ), False
        return Hop(layer, Verdict.ALLOW, f"No other Windows program listens on {shown}:{port}.", owner="windows"), False
    where = f"{taker.address}:{port} {taker.process}"
    if relay is not None:  # both on the same address
        where += f"; {shown}:{port} {relay.process} (pid {relay.pid})"
        against = (
            f"{listener_name(relay)}, WSL's relay, listens there too, but in the reported reproductions the Windows "
            "program answers (microsoft/WSL#5732)"
        )
    else:
        against = f"{name} does not"
    entries = proxy_entries(win, taker)
    if isinstance(entries, str):
        return Hop(
            layer,
            Verdict.UNKNOWN,
            f"{listener_name(taker)} answers {shown}:{port} and {against}.",
            rule=where,
            reason=f"unknown: {entries} (run: {PROXY_CMD})",
        ), False
    if entries:
        return Hop(
            layer,
            Verdict.ALLOW,
            f"portproxy (iphlpsvc in {listener_name(taker)}) listens on {taker.address}:{port}, which covers "
            f"{shown}, and {against}: portproxy, not the relay, takes the connection.",
            rule=where,
            location="Get-NetTCPConnection",
            owner="windows",
        ), True
    return Hop(
        layer,
        Verdict.NO_LISTENER,
        f"{listener_name(taker)} listens on Windows {taker.address}:{port} and {against}: "
        f"{taker.process} answers {shown}:{port}, WSL never sees the connection.",
        rule=where,
        location="Get-NetTCPConnection",
        owner="windows",
        edit=f"Windows program {taker.process}",
        symptom=WRONG_PROGRAM,
        fixes=[stop_fix(taker, port)],
    ), False


def service_listener(win: WindowsFacts | None, proto: str, port: int, address: str) -> Hop:
    """Does a Windows program (the service WSL wants) listen where WSL connects? A portproxy
    listener (svchost for iphlpsvc) is not that service: it forwards the connection elsewhere."""
    layer = "windows-listener"
    if proto != "tcp":
        return Hop(layer, Verdict.NOT_APPLICABLE, "wsltui reads Windows TCP listeners only.")
    if win is None:
        return unknown_hop(
            layer, f"A Windows program listening on {port}.", "no Windows data in this snapshot", LISTEN_CMD
        )
    if isinstance(win.listeners, Unknown):
        return unknown_hop(layer, f"A Windows program listening on {port}.", win.listeners)
    exact, wild, dual = listeners_on(win, port, address)
    taker = next(iter(exact or wild), None)
    if taker is not None:
        where = f"{taker.address}:{port} {taker.process}"
        entries = proxy_entries(win, taker)
        if isinstance(entries, str):
            return Hop(
                layer,
                Verdict.UNKNOWN,
                f"{listener_name(taker)} listens on {taker.address}:{port}.",
                rule=where,
                reason=f"unknown: {entries} (run: {PROXY_CMD})",
            )
        if entries:
            e = entries[0]
            return Hop(
                layer,
                Verdict.NO_LISTENER,
                f"portproxy (iphlpsvc in {listener_name(taker)}) listens on {taker.address}:{port} and "
                f"forwards to {e.connect_address}:{e.connect_port}: WSL reaches portproxy, not a Windows program of "
                "yours.",
                rule=e.text,
                location=r"HKLM\SYSTEM\CurrentControlSet\Services\PortProxy",
                owner="windows",
                edit=f"portproxy {e.kind} {e.listen_address}:{e.listen_port}",
                symptom=WRONG_PROGRAM,
                fixes=[
                    delete_proxy_fix(e),
                    Fix(
                        "Or run the Windows service on a port portproxy does not use",
                        [],
                        [],
                        "windows",
                        needs_root=False,
                    ),
                ],
            )
        return Hop(
            layer,
            Verdict.ALLOW,
            f"{listener_name(taker)} listens on {taker.address}:{port}.",
            rule=where,
            owner="windows",
        )
    if dual:
        return Hop(
            layer,
            Verdict.UNKNOWN,
            f"{listener_name(dual[0])} listens on [::]:{port} only.",
            rule=f"[::]:{port} {dual[0].process}",
            reason=f"unknown: whether {dual[0].process} turned IPV6_V6ONLY off (Windows' default is on), so that it "
            f"also takes IPv4",
        )
    elsewhere = [l for l in win.listeners if l.port == port]
    if elsewhere:
        l = elsewhere[0]
        return Hop(
            layer,
            Verdict.NO_LISTENER,
            f"{listener_name(l)} listens on {l.address}:{port} only, which WSL cannot reach.",
            symptom=REFUSED,
            fixes=[Fix(f"Make the Windows service listen on 0.0.0.0:{port}", [], [], "windows", needs_root=False)],
        )
    return Hop(
        layer,
        Verdict.NO_LISTENER,
        f"Nothing listens on Windows port {port}.",
        symptom=REFUSED,
        fixes=[Fix(f"Start the Windows service on port {port}, bound to 0.0.0.0", [], [], "windows", needs_root=False)],
    )
