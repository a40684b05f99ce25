"""The Windows listener table: who listens on a port and address (a bind to an address beats a
wildcard bind), which listeners are WSL's relay, and which svchost listeners are portproxy (it
forwards, it is not the service)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from wsltui.facts.base import Unknown
from wsltui.facts.windows import PortProxy, WindowsFacts, WinListener
from wsltui.simulation import win_commands as wc
from wsltui.simulation.trace import Fix, WinAction
from wsltui.simulation.windows.shared import LISTEN_CMD, PROXY_CMD, norm_program

# WSL's localhost relay is wslrelay.exe in WSL from the Store (2.x) and wslhost.exe in the inbox
# WSL of Windows 10/11 and Store builds before 2.0 (microsoft/WSL#5732, #9763): both are WSL's own.
RELAY_PROCESSES = ("wslrelay", "wslhost")
RELAY_UNSEEN = "WSL's localhost relay (wslrelay.exe or wslhost.exe)"
# Where WSL installs them: the Store package (Program Files\WSL, or the WindowsApps package
# directory of older Store builds) and the inbox WSL (System32).
_RELAY_DIRS = (r":\program files\wsl" "\\", r":\windows\system32" "\\")
_RELAY_PACKAGE = r"\windowsapps\microsoftcorporationii.windowssubsystemforlinux_"


def relay_on(win: WindowsFacts | None, port: int, address: str) -> WinListener | None | Unknown:
    """WSL's relay listening on Windows ``address:port``, None when the listener table shows none,
    Unknown when the table was not read."""
    if win is None:
        return Unknown("no Windows data in this snapshot", LISTEN_CMD)
    if isinstance(win.listeners, Unknown):
        return win.listeners
    return next((l for l in win.listeners if l.port == port and is_relay(l) and same_address(l.address, address)), None)


def relay_name(win: WindowsFacts | None) -> str:
    """The relay's process as this machine shows it (any port), else both names."""
    if win is None or isinstance(win.listeners, Unknown):
        return RELAY_UNSEEN
    return next((f"{_process(l)}.exe" for l in win.listeners if is_relay(l)), RELAY_UNSEEN)


WILDCARD = {4: "0.0.0.0", 6: "::"}


def same_address(a: str, b: str) -> bool:
    if a == b:  # the common case, without parsing
        return True
    try:
        return ipaddress.ip_address(a.strip("[]")) == ipaddress.ip_address(b.strip("[]"))
    except ValueError:
        return a == b


def bracketed(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _process(l: WinListener) -> str:
    """The listener's program name, lower case, without ``.exe`` (from its path when only that is known)."""
    name = l.process or norm_program(l.path or "").rsplit("\\", 1)[-1]
    return name.lower().removesuffix(".exe")


def is_relay(l: WinListener) -> bool:
    """WSL's relay, by its name, or by its path when Windows told it (a program of the same name
    elsewhere on disk is not WSL's)."""
    if _process(l) not in RELAY_PROCESSES:
        return False
    if not l.path:
        return True
    path = norm_program(l.path)
    return any(path[1:].startswith(d) for d in _RELAY_DIRS) or _RELAY_PACKAGE in path


def listener_name(l: WinListener) -> str:
    return f"{l.process or _process(l) or 'an unknown process'} (pid {l.pid})"


def listeners_on(
    win: WindowsFacts, port: int, address: str
) -> tuple[list[WinListener], list[WinListener], list[WinListener]]:
    """Windows TCP listeners a connection to ``address:port`` could reach: (bound to that address,
    bound to the family's wildcard, bound to [::] when ``address`` is IPv4). A [::] socket takes
    IPv4 only when its program turned IPV6_V6ONLY off (Windows' default is on), which the listener
    list does not show."""
    family = ipaddress.ip_address(address).version
    mine = [l for l in win.listeners if l.port == port]  # type: ignore[union-attr]
    exact = [l for l in mine if same_address(l.address, address)]
    wild = [l for l in mine if l.address == WILDCARD[family]]
    dual = [l for l in mine if family == 4 and l.address == "::"]
    return exact, wild, dual


def proxy_entries(win: WindowsFacts, l: WinListener) -> list[PortProxy] | str:
    """The portproxy entries a svchost listener serves (portproxy runs in svchost for iphlpsvc),
    or why that is not known. [] for any other program."""
    if _process(l) != "svchost":
        return []
    if isinstance(win.portproxy, Unknown):
        return (
            f"{listener_name(l)} listens on {l.address}:{l.port}: portproxy (iphlpsvc) runs in svchost, and the portproxy "
            f"entries are not known ({win.portproxy.reason})"
        )
    family = 6 if ":" in l.address else 4
    return [e for e in win.portproxy.entries if e.listens_on(l.port) and e.listen_family == family]


def listener_for(win: WindowsFacts | None, port: int, address: str) -> tuple[str | None, str | None]:
    """(program, service) of the Windows listener that gets a TCP connection to ``address:port``
    (a bind to the address beats a wildcard bind; portproxy is svchost for iphlpsvc): the
    program's path when Windows told it, else its name; (None, None) when no listener does or the
    listeners are not known."""
    if win is None or isinstance(win.listeners, Unknown):
        return None, None
    exact, wild, _ = listeners_on(win, port, address)
    taker = next(iter(exact + wild), None)
    if taker is None:
        return None, None
    entries = proxy_entries(win, taker)
    return taker.path or taker.process, "iphlpsvc" if entries and not isinstance(entries, str) else None


@dataclass(frozen=True)
class PortListener:
    """Something on Windows that listens on a port, and what it means for a connection there."""

    kind: str  # relay | portproxy | program | entry (a portproxy entry nobody listens for)
    where: str  # "127.0.0.1:8080 wslrelay (pid 4242)", or the entry
    meaning: str


def port_listeners(win: WindowsFacts | None, port: int) -> list[PortListener] | Unknown:
    """Every Windows TCP listener on ``port`` (WSL's relay, portproxy in svchost, other programs)
    and the portproxy entries for it that nothing listens for, each with what it means for a
    connection to that port; Unknown when the listener table was not read."""
    if win is None:
        return Unknown("no Windows data in this snapshot", LISTEN_CMD)
    if isinstance(win.listeners, Unknown):
        return win.listeners
    out, served = [], []
    for l in (l for l in win.listeners if l.port == port):
        where = f"{bracketed(l.address)}:{port} {listener_name(l)}"
        wildcard = l.address in WILDCARD.values()
        if is_relay(l):
            out.append(
                PortListener(
                    "relay",
                    where,
                    f"WSL's localhost relay: a Windows app's connection to "
                    f"{bracketed(l.address)}:{port} is forwarded into WSL",
                )
            )
            continue
        entries = proxy_entries(win, l)
        if isinstance(entries, str):
            out.append(PortListener("portproxy", where, f"unknown: {entries} (run: {PROXY_CMD})"))
        elif entries:
            served += entries
            out.append(
                PortListener(
                    "portproxy",
                    where,
                    "portproxy (iphlpsvc): forwards "
                    + "; ".join(
                        f"{e.listen_address}:{e.listen_port} to {e.connect_address}:{e.connect_port}" for e in entries
                    ),
                )
            )
        else:
            out.append(
                PortListener(
                    "program",
                    where,
                    f"a Windows program: connections to "
                    f"{'any address of this host' if wildcard else bracketed(l.address)} on port {port} "
                    "reach it, not WSL (a bind to an exact address beats a wildcard bind)",
                )
            )
    if not isinstance(win.portproxy, Unknown):
        svc = win.iphlpsvc
        why = (
            "iphlpsvc is stopped, or could not bind the port"
            if isinstance(svc, Unknown)
            else f"the IP Helper service (iphlpsvc), which runs portproxy, is {svc.status}"
            if not svc.running
            else "iphlpsvc runs but has not bound the port (taken by another program, or reserved?)"
        )
        for e in win.portproxy.entries:
            if e.listens_on(port) and e not in served:
                out.append(
                    PortListener("entry", f"portproxy {e.text}", f"configured, but nothing listens for it: {why}")
                )
    return out


def stop_fix(l: WinListener, port: int) -> Fix:
    if _process(l) in ("svchost", "system"):  # a shared service host or the kernel (http.sys): find the service
        return wc.windows_fix(
            f"Find the Windows service behind {listener_name(l)} and move it off port {port}",
            WinAction("find-service", pid=l.pid),
            needs_root=False,
            note="or run the WSL service on a different port",
        )
    return wc.windows_fix(
        f"Stop {listener_name(l)} or move it to another port",
        WinAction("stop-process", pid=l.pid),
        note="or run the WSL service on a different port",
    )


def delete_proxy_fix(e: PortProxy) -> Fix:
    return wc.netsh_fix(
        f"Delete the portproxy entry {e.text}",
        lambda: (
            [wc.portproxy_delete(e.kind, e.listen_port, e.listen_address)],
            [wc.portproxy_add(e.kind, e.listen_port, e.listen_address, e.connect_port, e.connect_address)],
        ),
        note="elevated",
    )
