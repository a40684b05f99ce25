"""What the client sees: one pass over a finished walk, run once by ``simulate()``.

The hops say what the network does; the client sees something else where a proxy stands in
between, or where Windows answers for a port nobody listens on:

- WSL's localhost relay (NAT, bridged) accepts the Windows connection first and only then
  connects inside the VM (microsoft/WSL ``localhost.cpp``: accept, then connect; on failure it
  just closes). A Linux blocker behind it is seen as an empty reply, or, for a drop, as a hang
  until the relay's own connect gives up (~127 s) and then a close.
- portproxy (iphlpsvc) is a user-mode proxy too, but what a LAN client sees behind it is not
  documented: both symptoms are given (``Hop.alternatives``), never one.
- Windows Defender Firewall's stealth mode: with the firewall on for the receiving profile, a
  SYN to a non-loopback port where nothing listens is dropped silently (learn.microsoft.com
  "Preventing port scanning"): the client times out instead of being refused.
- An ICMP error from Linux to a Windows client: Windows "may try many times" (KB325122); whether
  the client then reports the ICMP error or a timeout is not documented.
- Mirrored loopback: Windows -> [::1] times out; Linux -> a closed Windows 127.0.0.1 port hangs on
  affected builds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wsltui.facts.base import Unknown
from wsltui.facts.windows import WindowsFacts, registry_profiles
from wsltui.simulation import windows as winsim
from wsltui.simulation.trace import (
    ANY_OS,
    CLIENT_OF,
    EMPTY_REPLY,
    HANGS_THEN_CLOSED,
    NET_UNREACHABLE,
    NO_ROUTE,
    PERMISSION_DENIED,
    PROTOCOL_UNAVAILABLE,
    REFUSED,
    TIMEOUT,
    WINDOWS,
    Hop,
    Trace,
)

if TYPE_CHECKING:  # (simulate imports this module)
    from wsltui.simulation.simulate import Scenario, World

LINUX_LAYERS = ("netfilter", "socket")
# Modes whose localhost path is WSL's user-mode relay (mirrored and consomme steer the packet instead).
RELAY_MODES = ("nat", "bridged", "unknown")
# Symptoms that mean "the connection failed" (not "connects" or "wrong program").
FAILURES = (TIMEOUT, REFUSED, NO_ROUTE, NET_UNREACHABLE, PERMISSION_DENIED, PROTOCOL_UNAVAILABLE)
ICMP_ERRORS = (NO_ROUTE, NET_UNREACHABLE, PERMISSION_DENIED, PROTOCOL_UNAVAILABLE)


def client_view(world: World, sc: Scenario, trace: Trace) -> Trace:
    """Set who connects, and rewrite the symptoms as that client sees them."""
    trace.client = CLIENT_OF.get(sc.name, ANY_OS)
    _behind_a_proxy(trace)
    _stealth(world, sc.name, trace)
    _mirrored_loopback(sc.name, trace)
    if trace.client == WINDOWS:
        _icmp_to_windows(trace)
    return trace


# --- a proxy that accepts first ----------------------------------------------------------------


def accepted_first(symptom: str | None) -> str:
    """What the client of an accept-first proxy sees when the proxy's own connect fails with ``symptom``."""
    return HANGS_THEN_CLOSED if symptom == TIMEOUT else EMPTY_REPLY


def _behind_a_proxy(trace: Trace) -> None:
    relay = portproxy = False
    # A relay or portproxy that blocks now but is traced on as if fixed (``Hop.assumes_fix``) stands
    # in front of what comes after it once that fix is in place.
    fixed = {h.assumes_fix for h in trace.hops if h.assumes_fix}
    for hop in trace.hops:
        if hop.verdict in ("allow", "assumed") or any(f.title in fixed for h in (hop, *hop.behind) for f in h.fixes):
            relay |= hop.layer == "localhost-relay" and trace.mode in RELAY_MODES
            portproxy |= hop.layer == "portproxy"
        if hop.layer == "portproxy" and hop.verdict == "drop":
            _through_portproxy(hop)  # portproxy listens, but its own connect to the target fails
        if hop.layer not in LINUX_LAYERS:
            continue
        for h in (hop, *hop.behind):
            if h.blocks and h.symptom in FAILURES:
                if relay:
                    _through_relay(h)
                elif portproxy:
                    _through_portproxy(h)


def _through_relay(hop: Hop) -> None:
    plain = hop.symptom
    hop.symptom = accepted_first(plain)
    hop.alternatives = sorted({accepted_first(a) for a in hop.alternatives} - {hop.symptom})
    then = (
        "waits until the relay's connect inside the VM gives up (about 127 s at tcp_syn_retries=6) and is then closed"
        if plain == TIMEOUT
        else "is closed without a reply"
    )
    hop.explanation += (
        f" WSL's localhost relay accepted the Windows connection before connecting inside the VM, so the "
        f"Windows client's connect succeeds and the connection {then}; Linux's '{plain}' never reaches it."
    )


def _through_portproxy(hop: Hop) -> None:
    other = accepted_first(hop.symptom)
    hop.alternatives = sorted(set(hop.alternatives) | {other})
    hop.explanation += (
        f" portproxy (iphlpsvc) relays the connection: whether the client sees '{hop.symptom}' or a "
        f"connection that is accepted and then closed ('{other}') is not documented."
    )


# --- Windows answering for a port nobody listens on ----------------------------------------------


def _stealth(world: World, scenario: str, trace: Trace) -> None:
    """A Windows-side "nothing listens here" on a non-loopback address: refused only when the
    receiving profile's firewall is off or its stealth mode is disabled."""
    if scenario == "lan-to-host" and trace.mode == "nat":
        aliases = None  # the LAN adapters
    elif scenario == "wsl-to-windows" and trace.mode == "nat":
        aliases = ("wsl",)
    else:
        return  # loopback (refused stays right), or a path where Linux, not Windows, answers
    nobody = [
        b
        for b in trace.blockers
        if b.layer in ("portproxy", "excluded-ports", "windows-listener") and b.symptom == REFUSED
    ]
    win = winsim.captured(world.facts)
    if not nobody or win is None:
        return
    on, why = stealth(win, aliases)
    for hop in nobody:
        if on is True:
            hop.symptom = TIMEOUT
            hop.explanation += (
                f" Nothing answers, and {why}: Windows drops the SYN silently (stealth mode), so the "
                "client times out instead of being refused."
            )
        elif on is None:
            hop.alternatives = sorted(set(hop.alternatives) | {TIMEOUT})
            hop.explanation += (
                f" Whether the client is refused or times out depends on Windows' stealth mode, which "
                f"drops the SYN silently while the firewall is on: {why}."
            )


def stealth(win: WindowsFacts, aliases: tuple[str, ...] | None) -> tuple[bool | None, str]:
    """Is stealth mode on for every adapter the connection may arrive on (``aliases`` None: the
    LAN adapters; ("wsl",): WSL's vEthernet)? (True/False, why) or (None, what is not known)."""
    profiles, why = _receiving_profiles(win, aliases)
    if profiles is None:
        return None, why
    if isinstance(win.profiles, Unknown):
        return None, f"the firewall profiles are not known ({win.profiles.reason})"
    states = {p: _stealth_of(win, p) for p in profiles}
    on = {p for p, (s, _) in states.items() if s is True}
    if on == set(profiles):
        return True, "; ".join(dict.fromkeys(w for _, w in states.values()))
    if not on and all(s is False for s, _ in states.values()):
        return False, "; ".join(dict.fromkeys(w for _, w in states.values()))
    return None, "; ".join(f"{p}: {w}" for p, (_, w) in states.items())


def _receiving_profiles(win: WindowsFacts, aliases: tuple[str, ...] | None) -> tuple[list[str] | None, str]:
    if aliases == ("wsl",):
        aliases = (winsim.wsl_adapter(win),)
    else:
        adapters = winsim.lan_adapters(win)
        if isinstance(adapters, Unknown):
            return None, f"the LAN adapters are not known ({adapters.reason})"
        aliases = tuple(a.alias for a in adapters)
        if not aliases:
            return None, "no LAN adapter has a connection profile"
    found = [winsim.profile_for(win, a) for a in aliases]
    missing = [how for p, how in found if p is None]
    if missing:
        return None, "; ".join(missing)
    return sorted({p for p, _ in found if p}), ""


def _stealth_of(win: WindowsFacts, profile: str) -> tuple[bool | None, str]:
    settings = None if isinstance(win.profiles, Unknown) else win.profiles.get(profile)
    if settings is None:
        return None, f"the {profile} profile's settings are not known"
    if not settings.enabled:
        return False, f"the {profile} firewall profile is off"
    # DisableStealthMode is a registry value only (Get-NetFirewallProfile does not show it).
    if isinstance(win.local_policy, Unknown) or isinstance(win.gpo_policy, Unknown):
        return True, (
            f"the {profile} firewall profile is on (assumed: stealth mode not turned off; the firewall registry "
            "was not read)"
        )
    if not registry_profiles(win.local_policy, win.gpo_policy)[profile].stealth:
        return False, f"DisableStealthMode=1 on the {profile} profile"
    return True, f"the {profile} firewall profile is on"


def _mirrored_loopback(scenario: str, trace: Trace) -> None:
    """Mirrored mode's loopback between Windows and Linux: Windows -> [::1] is not forwarded and
    times out (microsoft/WSL#10803: curl -6 "Timed out after 21437 ms"); Linux -> a closed Windows
    127.0.0.1 port hangs on affected builds, the reset going to the wrong port (microsoft/WSL#13327, #10855)."""
    if trace.mode != "mirrored":
        return
    for hop in trace.blockers:
        if scenario == "windows-localhost-v6" and hop.layer == "localhost-relay" and hop.symptom == REFUSED:
            hop.symptom = TIMEOUT
            hop.explanation += " Nothing answers either: the client times out (microsoft/WSL#10803)."
        elif scenario == "wsl-to-windows" and hop.layer == "windows-listener" and hop.symptom == REFUSED:
            hop.alternatives = sorted(set(hop.alternatives) | {TIMEOUT})
            hop.explanation += (
                " On affected WSL builds the reset goes to the wrong port and the Linux client hangs "
                "instead (microsoft/WSL#13327, #10855)."
            )


# --- an ICMP error to a Windows client -------------------------------------------------------------


def _icmp_to_windows(trace: Trace) -> None:
    first = trace.first_blocker
    if first is None or first.layer not in LINUX_LAYERS or first.symptom not in ICMP_ERRORS:
        return
    first.alternatives = sorted(set(first.alternatives) | {TIMEOUT})
    first.explanation += (
        " A Windows client may retry the connection after this ICMP error (KB325122) and report a "
        "timeout instead: which one it reports is not documented."
    )
