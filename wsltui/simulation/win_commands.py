"""Windows commands built from structured data: the PowerShell of a ``WinAction`` and the netsh
commands of portproxy and excluded port ranges.

Every value is validated or quoted before it goes into a command: ports are integers 1-65535,
protocols tcp/udp, profiles one of Windows' names; rule ids and interface aliases are PowerShell
single-quoted literals (``wsltui.quoting.ps_quote``); netsh addresses must parse as IP addresses
(or be a strict host name), because netsh has no quoting a pasted command could rely on. A value
that fails raises ``UnsafeValue``: the caller turns the fix into a manual one with the reason.

Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from wsltui.facts.windows import WSL_VM_CREATOR
from wsltui.quoting import UnsafeValue, ps_quote
from wsltui.simulation.trace import Fix, WinAction

PROFILES = ("Domain", "Private", "Public", "Any")
PORTPROXY_KINDS = ("v4tov4", "v4tov6", "v6tov4", "v6tov6")
# RFC 1123 host names: letters, digits and inner hyphens, dot-separated labels of 1-63 characters.
_HOSTNAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)
WSL_IP_PLACEHOLDER = "<WSL IP>"  # a portproxy fix when the WSL address is not known: a person fills it in


# --- values ------------------------------------------------------------------------------------


def port(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise UnsafeValue(f"not a port: {value!r}")
    p = int(value)
    if not 1 <= p <= 65535:
        raise UnsafeValue(f"not a port: {value!r}")
    return p


def proto(value: object) -> str:
    if not isinstance(value, str) or value.lower() not in ("tcp", "udp"):
        raise UnsafeValue(f"protocol must be tcp or udp, not {value!r}")
    return value.lower()


def profile(value: object) -> str:
    if not isinstance(value, str) or value not in PROFILES:
        raise UnsafeValue(f"not a firewall profile: {value!r} (one of {', '.join(PROFILES)})")
    return value


def pid(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UnsafeValue(f"not a process id: {value!r}")
    return value


def netsh_address(value: object, *, wildcard: bool = False) -> str:
    """An address for a netsh argument: an IP address, ``*`` (``wildcard``), or a strict host
    name. netsh has no quoting, so anything else is refused."""
    text = str(value).strip()
    if wildcard and text == "*":
        return text
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    if _HOSTNAME.fullmatch(text) and not text.replace(".", "").isdigit():
        return text
    raise UnsafeValue(f"not an IP address or host name netsh can take: {value!r}")


# --- PowerShell --------------------------------------------------------------------------------


def _rule_noun(a: WinAction) -> str:
    return "NetFirewallHyperVRule" if a.hyperv else "NetFirewallRule"


def rule_name(a: WinAction) -> str:
    """The Name of the rule the action addresses: the rule's own id, or the one wsltui gives a
    new allow rule (wsltui-in-tcp-8080, wsltui-out-udp-53, wsltui-hv-tcp-8080)."""
    if a.kind in ("disable-rule", "enable-rule"):
        if not a.rule_id:
            raise UnsafeValue("the rule has no Name (InstanceID), so it cannot be addressed exactly")
        return a.rule_id
    if a.kind == "new-allow":
        return f"wsltui-{'in' if _direction(a) == 'in' else 'out'}-{proto(a.proto)}-{port(a.port)}"
    if a.kind == "new-hv-allow":
        return f"wsltui-hv-{proto(a.proto)}-{port(a.port)}"
    raise UnsafeValue(f"a {a.kind} action addresses no rule")


def display_name(a: WinAction) -> str:
    """The DisplayName of a new wsltui allow rule."""
    out = " out" if a.kind == "new-allow" and _direction(a) == "out" else ""
    return f"wsltui: allow {proto(a.proto).upper()} {port(a.port)}{out}"


def _direction(a: WinAction) -> str:
    if a.direction not in ("in", "out"):
        raise UnsafeValue(f"direction must be in or out, not {a.direction!r}")
    return a.direction


def get_command(a: WinAction) -> str:
    """The PowerShell that reads the rule the action changes (for the elevated state check)."""
    noun = "NetFirewallHyperVRule" if a.hyperv or a.kind == "new-hv-allow" else "NetFirewallRule"
    return f"Get-{noun} -Name {ps_quote(rule_name(a))}"


def ps_commands(a: WinAction) -> tuple[str, str | None]:
    """(the PowerShell that makes the change, the one that undoes it, or None when there is no
    exact undo). Raises UnsafeValue for a value no quoting makes safe."""
    if a.kind in ("disable-rule", "enable-rule"):
        name = ps_quote(rule_name(a))
        verb, back = ("Disable", "Enable") if a.kind == "disable-rule" else ("Enable", "Disable")
        return f"{verb}-{_rule_noun(a)} -Name {name}", f"{back}-{_rule_noun(a)} -Name {name}"
    if a.kind == "new-allow":
        name, d, p, pr = ps_quote(rule_name(a)), _direction(a), port(a.port), proto(a.proto).upper()
        iface = f" -InterfaceAlias {ps_quote(a.interface)}" if a.interface else ""
        new = (
            f"New-NetFirewallRule -Name {name} -DisplayName {ps_quote(display_name(a))} "
            f"-Direction {'Inbound' if d == 'in' else 'Outbound'} -Action Allow -Protocol {pr} "
            f"-{'LocalPort' if d == 'in' else 'RemotePort'} {p} -Profile {profile(a.profile)}{iface}"
        )
        return new, f"Remove-NetFirewallRule -Name {name}"
    if a.kind == "new-hv-allow":
        name, d, p, pr = ps_quote(rule_name(a)), _direction(a), port(a.port), proto(a.proto).upper()
        new = (
            f"New-NetFirewallHyperVRule -Name {name} -DisplayName {ps_quote(display_name(a))} "
            f"-Direction {'Inbound' if d == 'in' else 'Outbound'} -VMCreatorId {ps_quote(WSL_VM_CREATOR)} "
            f"-Protocol {pr} -{'LocalPorts' if d == 'in' else 'RemotePorts'} {p} -Action Allow"
        )
        return new, f"Remove-NetFirewallHyperVRule -Name {name}"
    if a.kind == "profile-inbound-rules":
        which = profile(a.profile)
        return (
            f"Set-NetFirewallProfile -Profile {which} -AllowInboundRules True",
            f"Set-NetFirewallProfile -Profile {which} -AllowInboundRules False",
        )
    if a.kind == "hv-loopback":
        vm = ps_quote(WSL_VM_CREATOR)
        return (
            f"Set-NetFirewallHyperVVMSetting -Name {vm} -LoopbackEnabled True",
            f"Set-NetFirewallHyperVVMSetting -Name {vm} -LoopbackEnabled False",
        )
    if a.kind == "stop-process":
        return f"Stop-Process -Id {pid(a.pid)}", None
    if a.kind == "find-service":
        return f"Get-CimInstance Win32_Service -Filter {ps_quote(f'ProcessId={pid(a.pid)}')}", None
    raise UnsafeValue(f"no PowerShell for a {a.kind!r} action")


def windows_fix(
    title: str, action: WinAction, *, note: str = "", needs_root: bool = True, manual_note: str = ""
) -> Fix:
    """A Windows fix whose commands are built from ``action``; a manual fix (no command, the
    reason in ``manual``) when a value cannot go into a command safely."""
    try:
        command, undo = ps_commands(action)
    except UnsafeValue as e:
        return Fix(
            title,
            [],
            [],
            "windows",
            needs_root=needs_root,
            note=note,
            manual=f"wsltui cannot write this command safely ({e}){manual_note}: make the change by hand",
        )
    return Fix(title, [command], [undo] if undo else [], "windows", needs_root=needs_root, note=note, windows=action)


# --- netsh -------------------------------------------------------------------------------------


def portproxy_add(
    kind: str, listen_port: object, listen_address: str, connect_port: object, connect_address: str
) -> str:
    return (
        f"netsh interface portproxy add {_kind(kind)} listenport={port(listen_port)} "
        f"listenaddress={netsh_address(listen_address, wildcard=True)} connectport={port(connect_port)} "
        f"connectaddress={_connect(connect_address)}"
    )


def portproxy_delete(kind: str, listen_port: object, listen_address: str) -> str:
    return (
        f"netsh interface portproxy delete {_kind(kind)} listenport={port(listen_port)} "
        f"listenaddress={netsh_address(listen_address, wildcard=True)}"
    )


def _kind(kind: str) -> str:
    if kind not in PORTPROXY_KINDS:
        raise UnsafeValue(f"not a portproxy kind: {kind!r}")
    return kind


def _connect(address: str) -> str:
    return address if address == WSL_IP_PLACEHOLDER else netsh_address(address)


def excluded_range(
    verb: str, family: str, start: object = None, count: object = None, *, persistent: bool = False
) -> str:
    """netsh's excludedportrange command: ``show`` the TCP ranges of ``family``, or ``add`` /
    ``delete`` the range of ``count`` ports from ``start``."""
    if verb not in ("add", "delete", "show") or family not in ("ipv4", "ipv6"):
        raise UnsafeValue(f"not an excludedportrange command: {verb} {family}")
    if verb == "show":
        return f"netsh int {family} show excludedportrange protocol=tcp"
    return (
        f"netsh int {family} {verb} excludedportrange protocol=tcp startport={port(start)} "
        f"numberofports={port(count)}" + (" store=persistent" if persistent else "")
    )


def netsh_fix(title: str, build: Callable[[], tuple[list[str], list[str]]], *, note: str = "") -> Fix:
    """A Windows fix of netsh commands: ``build()`` returns (commands, undo) or raises
    UnsafeValue, which makes the fix manual with the reason."""
    try:
        commands, undo = build()
    except UnsafeValue as e:
        return Fix(
            title,
            [],
            [],
            "windows",
            note=note,
            manual=f"wsltui cannot write this netsh command safely ({e}): make the change by hand",
        )
    return Fix(title, commands, undo, "windows", note=note)


def ps_arg(value: str) -> str:
    """``value`` as a PowerShell literal inside a "(run: ...)" hint; a placeholder when it holds
    control characters (the hint then names what to fill in instead of a broken command)."""
    try:
        return ps_quote(value)
    except UnsafeValue:
        return "<the name, which holds control characters>"
