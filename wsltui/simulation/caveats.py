"""Causes outside the five layers that users hit, said beside the verdict (``Trace.caveats``),
never as a blocker, and only where the facts hold a signal for them: a VPN adapter, a
third-party firewall, NetworkManager in mirrored mode, a WSL version with a known networking
regression, an idle timeout, ``localhost`` meaning two different paths. Pure: facts in, text out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from wsltui.facts.base import Unknown
from wsltui.facts.windows import WindowsFacts
from wsltui.facts.wsl import WslFacts
from wsltui.simulation import windows as winsim
from wsltui.simulation.trace import Trace

if TYPE_CHECKING:  # (simulate imports this module)
    from wsltui.simulation.simulate import Scenario, World

LOCALHOST = {"windows-localhost-v4": "windows-localhost-v6", "windows-localhost-v6": "windows-localhost-v4"}

# VPN clients' virtual adapters, by Get-NetAdapter's InterfaceDescription (or the adapter's name).
VPN_ADAPTERS = (
    ("Cisco AnyConnect / Secure Client", r"anyconnect|cisco secure client"),
    ("GlobalProtect", r"pangp|globalprotect"),
    ("FortiClient", r"forti"),
    ("WireGuard", r"wireguard"),
    ("OpenVPN", r"tap-windows|openvpn|\btap\d*\b"),
    ("Wintun (WireGuard/OpenVPN/other)", r"wintun"),
    ("Zscaler", r"zscaler"),
    ("NordVPN", r"nordlynx|nordvpn"),
    ("Tailscale", r"tailscale"),
    ("Check Point", r"check point"),
    ("Pulse Secure / Ivanti", r"pulse secure|juniper|ivanti"),
    ("ExpressVPN", r"expressvpn"),
    ("ProtonVPN", r"protonvpn"),
)

# WSL package versions with a known networking regression: (first, last, what, source).
REGRESSIONS = (
    ((0, 65, 1), (0, 65, 1), "a localhost relay regression", "microsoft/WSL#8679"),
    (
        (1, 2, 0),
        (1, 2, 0),
        "networking broken together with Windows update KB5025239 (if it is installed)",
        "microsoft/WSL#9969",
    ),
    ((2, 7, 8), (2, 9, 4), "a networking regression", "microsoft/WSL#41137"),
)


def caveats(world: World, sc: Scenario, trace: Trace, sibling: Callable[[str], Trace]) -> list[str]:
    """The caveats for ``trace``; ``sibling(name)``: the trace of scenario ``name`` for the same port."""
    facts = world.facts
    win = winsim.captured(facts)
    out: list[str] = []
    if win is not None:
        out += vpn_caveats(win, trace.mode)
        out += firewall_product_caveats(win)
    out += networkmanager_caveats(facts.wsl, trace.mode)
    out += regression_caveats(facts.wsl)
    out += idle_caveats(facts.wsl)
    if sc.name in LOCALHOST:
        out += localhost_caveats(sc, trace, sibling(LOCALHOST[sc.name]))
    return out


def vpn_adapters(win: WindowsFacts) -> list[tuple[str, str, bool]]:
    """(VPN, adapter, connected) for every adapter whose description or name is a VPN client's."""
    adapters = win.adapters
    if isinstance(adapters, Unknown):
        return []
    conns = win.connections if not isinstance(win.connections, Unknown) else []
    connected = {c.alias.lower() for c in conns}
    out = []
    for a in adapters:
        text = f"{a.desc or ''} {a.alias}".lower()
        vpn = next((name for name, pattern in VPN_ADAPTERS if re.search(pattern, text)), None)
        if vpn is not None:
            out.append((vpn, a.alias, a.alias.lower() in connected))
    return out


def vpn_caveats(win: WindowsFacts, mode: str) -> list[str]:
    found = vpn_adapters(win)
    if not found:
        return []
    names = ", ".join(f"{vpn} ('{alias}'{', connected' if on else ''})" for vpn, alias, on in found)
    effect = (
        "VPN clients can break mirrored networking (microsoft/WSL#10380, #13776)"
        if mode == "mirrored"
        else "VPN clients can take over routes so WSL's NAT subnet, or the LAN, is no longer reachable (microsoft/WSL#4277; "
        "the WSL troubleshooting docs)"
    )
    return [
        f"VPN adapter on Windows: {names}. {effect}: if the trace says reachable but it is not, disconnect the VPN "
        "and try again."
    ]


def firewall_product_caveats(win: WindowsFacts) -> list[str]:
    products = win.firewall_products
    if not products or isinstance(products, Unknown):
        return []
    return [
        f"Third-party firewall registered with Windows Security Center: {', '.join(products)}. Its own filters "
        "(WFP) are not in the Windows Defender Firewall rules wsltui reads and can block what the trace lets through "
        "(henrypp/simplewall#699, microsoft/WSL#12747)."
    ]


def networkmanager_caveats(wsl: WslFacts | None, mode: str) -> list[str]:
    state = wsl.network_manager if wsl is not None else None
    if mode != "mirrored" or state != "active":
        return []
    return [
        "NetworkManager is active in the distro, which mirrored networking does not support: it can rewrite the "
        "mirrored addresses and routes (microsoft/WSL#10632). Disable it: sudo systemctl disable --now NetworkManager."
    ]


def version_tuple(text: str) -> tuple[int, ...] | None:
    parts = text.strip().split(".")
    if not parts or not all(p.isdigit() for p in parts):
        return None
    nums = tuple(int(p) for p in parts)[:3]
    return nums + (0,) * (3 - len(nums))


def regression_caveats(wsl: WslFacts | None) -> list[str]:
    version = wsl.version if wsl is not None else None
    if not isinstance(version, str):
        return []
    v = version_tuple(version)
    if v is None:
        return []
    return [
        f"WSL {version} has {what} ({source}): update WSL (wsl.exe --update) if the trace and reality disagree."
        for first, last, what, source in REGRESSIONS
        if first <= v <= last
    ]


def idle_caveats(wsl: WslFacts | None) -> list[str]:
    cfg = wsl.wslconfig if wsl is not None else None
    if cfg is None or isinstance(cfg, Unknown):
        return []
    out = []
    for key, ms, what in (
        ("[wsl2] vmIdleTimeout", cfg.vm_idle_timeout_ms, "the VM"),
        ("[general] instanceIdleTimeout", cfg.instance_idle_timeout_ms, "the distro"),
    ):
        if ms is not None and ms >= 0:
            out.append(
                f".wslconfig {key}={ms}: WSL stops {what} after {ms / 1000:g} s without activity, and every "
                "server in it stops with it; a client then finds nothing until WSL starts again."
            )
    return out


def localhost_caveats(sc: Scenario, trace: Trace, other: Trace) -> list[str]:
    """``localhost`` is [::1] first on Windows: when 127.0.0.1 and [::1] differ for this port, what
    a client sees depends on whether it falls back to the other address."""
    if trace.reachable is None or other.reachable is None or trace.reachable == other.reachable:
        return []
    v4, v6 = (trace, other) if sc.name.endswith("v4") else (other, trace)
    good, bad = (v4, v6) if v4.reachable else (v6, v4)
    good_addr, bad_addr = ("127.0.0.1", "[::1]") if good is v4 else ("[::1]", "127.0.0.1")
    wait = " A fallback waits for the failed attempt first (a timeout: about 21 s)." if bad.symptom == "timeout" else ""
    return [
        f"'localhost' means two paths here: {good_addr}:{sc.port} connects, {bad_addr}:{sc.port} does not "
        f"({bad.symptom}). Windows resolves localhost to [::1] first; curl, browsers and .NET's HttpClient try both "
        f"addresses in turn, Node 17-19 (and later with autoSelectFamily off) uses only the first (microsoft/WSL#4851, #10665, #7641).{wait} "
        f"Use {good_addr} in the client's URL."
    ]
