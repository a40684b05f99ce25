"""The portproxy hop: ``netsh interface portproxy`` entries of all four kinds, TCP only, and
where iphlpsvc connects on."""

from __future__ import annotations

import ipaddress

from wsltui.facts.base import Unknown
from wsltui.facts.windows import PortProxy, WindowsFacts
from wsltui.simulation import win_commands as wc
from wsltui.simulation.trace import REFUSED, TIMEOUT, Fix, Hop
from wsltui.simulation.windows.listeners import same_address
from wsltui.simulation.windows.shared import PROXY_CMD, unknown_hop
from wsltui.vocabulary import Verdict


def _covers(e: PortProxy, dst: str | None, family: int) -> bool | None:
    """Does the entry's listen address take a connection to ``dst`` (None: the Windows host's
    address as a LAN client uses it, which the facts do not hold)?"""
    if e.listen_family != family:
        return False
    la = e.listen_address.strip("[]").lower()
    if la in ("*", "0.0.0.0", "::"):
        return True
    if la == "localhost":
        la = "127.0.0.1" if family == 4 else "::1"
    try:
        listen = ipaddress.ip_address(la)
    except ValueError:
        return None  # a host name: Windows resolves it
    if dst is None:
        return False if listen.is_loopback else None
    return listen == ipaddress.ip_address(dst)


def portproxy(
    win: WindowsFacts | None,
    port: int,
    wsl_ip: str | None,
    proto: str = "tcp",
    *,
    dst: str | None = None,
    family: int = 4,
) -> tuple[Hop, str | None, int]:
    """The portproxy entry that takes a TCP connection of ``family`` to ``dst:port`` (``dst``
    None: the host's LAN address) and whether it reaches WSL: (hop, connect address, connect port).
    All four kinds: v4tov4 and v4tov6 listen on IPv4, v6tov4 and v6tov6 on IPv6; the connect side
    is IPv4 for *tov4 and IPv6 for *tov6 (so ``localhost`` resolves to ::1 there)."""
    layer = "portproxy"
    kind = f"v{family}tov4"
    any_addr = "0.0.0.0" if family == 4 else "::"

    def forward() -> tuple[list[str], list[str]]:
        return (
            [wc.portproxy_add(kind, port, any_addr, port, wsl_ip or wc.WSL_IP_PLACEHOLDER)],
            [wc.portproxy_delete(kind, port, any_addr)],
        )

    if proto != "tcp":
        return (
            Hop(
                layer,
                Verdict.NO_LISTENER,
                "netsh interface portproxy forwards TCP only: UDP from the LAN cannot reach WSL in NAT mode.",
                symptom=TIMEOUT,
                fixes=[Fix("Switch to networkingMode=mirrored (UDP works there)", [], [], "wsl", needs_root=False)],
            ),
            None,
            port,
        )
    if win is None:
        return (
            unknown_hop(
                layer,
                "In NAT mode the LAN reaches WSL only through `netsh interface portproxy` to the WSL IP.",
                "no Windows data in this snapshot",
                PROXY_CMD,
            ),
            None,
            port,
        )
    if isinstance(win.portproxy, Unknown):
        return (
            unknown_hop(layer, "In NAT mode the LAN reaches WSL only through a portproxy entry.", win.portproxy),
            None,
            port,
        )
    mine = [e for e in win.portproxy.entries if e.listens_on(port)]
    covered = [e for e in mine if _covers(e, dst, family) is True]
    if not covered:
        maybe = [e for e in mine if _covers(e, dst, family) is None]
        if maybe:
            e = maybe[0]
            return (
                Hop(
                    layer,
                    Verdict.UNKNOWN,
                    f"portproxy listens on {e.listen_address}:{e.listen_port} only ({e.text}).",
                    rule=e.text,
                    reason="unknown: whether the client connects to Windows at that address (pass --dst "
                    "with the Windows address the client uses)",
                ),
                None,
                port,
            )
        where = f" on {'IPv4' if family == 4 else 'IPv6'}" + (f" at {dst}" if dst else "")
        # A blocker, but with the address its fix forwards to: the caller traces on as if it were in place.
        return (
            Hop(
                layer,
                Verdict.NO_LISTENER,
                f"No portproxy entry listens on port {port}{where}: in NAT mode nothing on Windows "
                "forwards LAN traffic to WSL.",
                symptom=REFUSED,
                fixes=[
                    wc.netsh_fix(
                        f"Forward port {port} to WSL with portproxy",
                        forward,
                        note="elevated; the WSL IP can change when WSL restarts",
                    )
                ],
            ),
            wsl_ip,
            port,
        )
    e = covered[0]
    hop, target, cport = _entry_forwards(win, e, port, wsl_ip)
    if not isinstance(win.iphlpsvc, Unknown) and not win.iphlpsvc.running:
        cmds = (["Set-Service iphlpsvc -StartupType Automatic"] if win.iphlpsvc.start_type == "disabled" else []) + [
            "Start-Service iphlpsvc"
        ]
        undo = ["Stop-Service iphlpsvc"] + (
            ["Set-Service iphlpsvc -StartupType Disabled"] if win.iphlpsvc.start_type == "disabled" else []
        )
        stopped = Hop(
            layer,
            Verdict.NO_LISTENER,
            f"The IP Helper service (iphlpsvc), which runs portproxy, is {win.iphlpsvc.status}: "
            f"the entry {e.text} does nothing.",
            rule=e.text,
            owner="windows",
            symptom=REFUSED,
            fixes=[Fix("Start the IP Helper service", cmds, undo, "windows")],
        )
        if hop.blocks:  # a stale entry: once the service runs, the entry is the next blocker
            stopped.behind.append(hop)
        return stopped, None if hop.verdict == "unknown" else target, cport
    return hop, target, cport


def _entry_forwards(win: WindowsFacts, e: PortProxy, port: int, wsl_ip: str | None) -> tuple[Hop, str | None, int]:
    """Where the portproxy entry ``e`` forwards, as ``portproxy`` returns it (a stale entry blocks,
    with the address its fix points it at)."""
    layer = "portproxy"
    entry = e.text
    if "-" in e.listen_port:
        return (
            Hop(
                layer,
                Verdict.UNKNOWN,
                f"The entry {entry} uses a port range, which netsh accepts but which did not work in reports.",
                rule=entry,
                reason="unknown: portproxy port ranges (microsoft/WSL#8963)",
            ),
            None,
            port,
        )
    target = e.connect_address.strip("[]")
    if target.lower() == "localhost":
        target = "127.0.0.1" if e.connect_family == 4 else "::1"
    cport = int(e.connect_port) if e.connect_port.isdigit() else port
    try:
        target_ip = ipaddress.ip_address(target)
    except ValueError:
        hop, resolved = _to_host_name(win, e, target, wsl_ip)
        return hop, resolved, cport if resolved else port
    if target_ip.is_loopback:
        return (
            Hop(
                layer,
                Verdict.ALLOW,
                f"portproxy (iphlpsvc) listens on {e.listen_address}:{port} and forwards to "
                f"{e.connect_address}:{e.connect_port} on Windows loopback, where WSL's localhost relay should take it.",
                rule=entry,
                owner="windows",
            ),
            target,
            cport,
        )
    if wsl_ip is None:
        return (
            Hop(
                layer,
                Verdict.UNKNOWN,
                f"portproxy forwards {entry}, but the WSL IP is not known.",
                rule=entry,
                reason="unknown: the WSL address (run: ip -j addr show)",
            ),
            target,
            cport,
        )
    if target_ip != ipaddress.ip_address(wsl_ip):
        new_kind = f"v{e.listen_family}tov4"

        def repoint() -> tuple[list[str], list[str]]:
            return (
                [
                    wc.portproxy_delete(e.kind, e.listen_port, e.listen_address),
                    wc.portproxy_add(new_kind, e.listen_port, e.listen_address, e.connect_port, wsl_ip),
                ],
                [
                    wc.portproxy_delete(new_kind, e.listen_port, e.listen_address),
                    wc.portproxy_add(e.kind, e.listen_port, e.listen_address, e.connect_port, e.connect_address),
                ],
            )

        why = (
            f"WSL has no IPv6 address in NAT mode (its address is {wsl_ip}): the entry cannot reach WSL"
            if target_ip.version == 6
            else f"WSL's address is now {wsl_ip}: the entry is stale (WSL got a new IP after a restart)"
        )
        return (
            Hop(
                layer,
                Verdict.DROP,
                f"portproxy forwards to {e.connect_address}, but {why}, so its connections there go unanswered.",
                rule=entry,
                location=r"HKLM\SYSTEM\CurrentControlSet\Services\PortProxy",
                owner="windows",
                edit=f"portproxy {e.kind} {e.listen_address}:{e.listen_port}",
                symptom=TIMEOUT,
                fixes=[
                    wc.netsh_fix(
                        f"Point the portproxy entry at {wsl_ip}",
                        repoint,
                        note="elevated; re-run after each WSL restart, or forward to 127.0.0.1 instead",
                    )
                ],
            ),
            wsl_ip,
            cport,
        )
    return (
        Hop(
            layer,
            Verdict.ALLOW,
            f"portproxy (iphlpsvc) listens on {e.listen_address}:{port} and forwards to "
            f"{e.connect_address}:{e.connect_port}.",
            rule=entry,
            owner="windows",
        ),
        target,
        cport,
    )


# While a client is connected, the address iphlpsvc really connects to.
IPHLPSVC_CONNECTIONS = (
    "powershell.exe Get-NetTCPConnection -State Established -OwningProcess "
    "(Get-CimInstance Win32_Service -Filter \"Name='iphlpsvc'\").ProcessId"
)


def _seen_by_iphlpsvc(win: WindowsFacts, e: PortProxy) -> list[str] | Unknown | None:
    """The addresses iphlpsvc's live connections go to for entry ``e`` (outbound legs: to the
    connect port, from a port other than the listen port); None when the batch did not say."""
    conns = win.iphlpsvc_connections
    if conns is None or isinstance(conns, Unknown):
        return conns
    cport = int(e.connect_port) if e.connect_port.isdigit() else None
    lport = int(e.listen_port) if e.listen_port.isdigit() else None
    return sorted({c.remote for c in conns if c.remote_port == cport and c.local_port != lport})


def _to_host_name(win: WindowsFacts, e: PortProxy, name: str, wsl_ip: str | None) -> tuple[Hop, str | None]:
    """iphlpsvc resolves a connectaddress host name once, when the service starts, and keeps that
    address (shayne/go-wsl2-host#55, microsoft/WSL#4150): after WSL's IP changes the entry is stale
    until iphlpsvc restarts. Resolve-DnsName shows the name's *new* address, so it cannot tell;
    iphlpsvc's live connection, when the snapshot caught one, does. (hop, WSL's address when the
    entry reaches it)."""
    layer, where = "portproxy", r"HKLM\SYSTEM\CurrentControlSet\Services\PortProxy"
    edit = f"portproxy {e.kind} {e.listen_address}:{e.listen_port}"
    restart = Fix(
        "Restart the IP Helper service, so it resolves the name again",
        ["Restart-Service iphlpsvc"],
        [],
        "windows",
        note="elevated; needed after every change of WSL's IP, as long as the entry names a host",
    )
    seen = _seen_by_iphlpsvc(win, e)
    if isinstance(seen, list) and seen and wsl_ip is not None:
        if any(same_address(a, wsl_ip) for a in seen):
            return Hop(
                layer,
                Verdict.ALLOW,
                f"portproxy forwards {e.text} to the host name {name}; iphlpsvc's live connection "
                f"goes to {wsl_ip}, WSL's address: the name resolved to it.",
                rule=e.text,
                owner="windows",
            ), wsl_ip
        return Hop(
            layer,
            Verdict.DROP,
            f"portproxy forwards {e.text} to the host name {name}, which iphlpsvc resolved once, "
            f"when it started: its live connection goes to {', '.join(seen)}, but WSL's address is now {wsl_ip}. "
            "iphlpsvc keeps the old address until it restarts.",
            rule=e.text,
            location=where,
            owner="windows",
            edit=edit,
            symptom=TIMEOUT,
            assumption=f"{name} is meant to reach WSL (a WSL host name)",
            fixes=[restart],
        ), None
    now = f"WSL's address is now {wsl_ip}" if wsl_ip else "WSL's current address is not known (ip -j addr show)"
    caught = " (no live connection of iphlpsvc in this snapshot)" if seen == [] else ""
    return Hop(
        layer,
        Verdict.UNKNOWN,
        f"portproxy forwards {e.text} to the host name {name}. iphlpsvc resolved it once, "
        "when the service started, and keeps that address: if WSL's IP changed since (a WSL restart in NAT mode), "
        "portproxy still connects to the old one.",
        rule=e.text,
        location=where,
        owner="windows",
        edit=edit,
        reason=f"unknown: which address iphlpsvc resolved {name} to{caught} ({now}). Resolve-DnsName shows the "
        f"name's current address, not the one iphlpsvc kept. While a client is connected, "
        f"{IPHLPSVC_CONNECTIONS} shows the address it uses; if the name is right but that address is old, "
        "run Restart-Service iphlpsvc (elevated) so it resolves the name again.",
        fixes=[restart],
    ), None


def portproxy_loop(target: str, port: int) -> Hop:
    """portproxy forwards to Windows loopback where portproxy itself listens, not the relay."""
    shown = f"[{target}]" if ":" in target else target
    return Hop(
        "portproxy",
        Verdict.UNKNOWN,
        f"portproxy forwards to {shown}:{port}, where portproxy listens again instead of "
        "WSL's relay: the connection goes round in a loop and never reaches WSL.",
        rule=f"{shown}:{port}",
        reason="unknown: what the client then sees is not documented (a portproxy loop: MicrosoftDocs/WSL#1070)",
        fixes=[
            Fix(
                "Forward portproxy to the WSL IP instead of loopback, or start the Linux server so the relay "
                "binds first",
                [],
                [],
                "windows",
                needs_root=False,
            )
        ],
    )
