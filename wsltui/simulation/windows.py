"""Windows hops: Windows Defender Firewall, the Hyper-V firewall, excluded port ranges,
portproxy and Windows listeners, each as a Hop with the deciding rule and the fix.

Pure: ``WindowsFacts`` in, ``Hop`` out. Semantics (docs/windows-firewall.md §4):

- host firewall: loopback is not filtered; profile off or interface excluded -> allow; any matching
  block rule beats any allow rule; shields-up ignores inbound allows; else the profile default.
  Program/service rules match only that program (portproxy = svchost.exe/iphlpsvc, the NAT relay =
  wslrelay.exe or wslhost.exe). Interfaces named by GUID (the registry's ``IF=`` and ``DisabledInterfaces``) are
  mapped to adapters through Get-NetAdapter; ``IFType`` is checked against the adapter's ifType.
- address keywords: ``LocalSubnet`` is decided where the facts give the on-link prefixes (the WSL
  NAT subnet on vEthernet (WSL), the mirrored interfaces in mirrored mode), a ``4``/``6`` suffix
  against the address family; DNS, DHCP, WINS, DefaultGateway, Internet, Intranet,
  IntranetRemoteAccess, PlayToDevice and CaptivePortal need Windows settings the facts lack.
- host firewall policy: a rule whose EnforcementStatus says it is not in force, and a local rule
  on a profile where Group Policy does not apply local rules, never allows or blocks (the fix is
  then a Group Policy rule from the administrator).
- Hyper-V firewall (WSL VM creator): first, whether it is on the path at all (``hyperv_presence``:
  mirrored always, NAT when WSL attached it, bridged and consomme never); then the settings of the
  profile of the host adapter crossed (NotConfigured falls back to the VM-level value, then to the
  default), rules by RulePriority (lower first; block beats allow only within a priority), the
  host rules Windows merged (ActiveStore's own set, else re-derived: port/address rules only when
  AllowHostPolicyMerge), default actions; loopback traffic needs LoopbackEnabled. Host <-> VM
  traffic in NAT with no rule deciding passes as an explicit assumption (the docs are open).
- listeners: a bind to an address beats a wildcard bind; a svchost listener on a portproxy port is
  portproxy (it forwards, it is not the service); portproxy of all four kinds, TCP only.

A condition wsltui cannot check (an address keyword it cannot resolve, an RPC port keyword, an
IPsec requirement, an unmapped interface GUID) never decides silently: the hop says ``assumed`` and
names the assumption, or ``unknown`` with the keyword and the command that would tell when the
verdict hangs on it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass

from wsltui.facts.base import Unknown
from wsltui.facts.windows import (
    PROFILES,
    WSL_VM_CREATOR,
    Adapter,
    ConnectionProfile,
    FwRule,
    HyperV,
    PortProxy,
    ProfileSettings,
    WindowsFacts,
    WinListener,
    _in_port_token,
    address_keyword,
)
from wsltui.facts.wsl import WslConfig
from wsltui.simulation import win_commands as wc
from wsltui.simulation.decided import windows_key
from wsltui.simulation.trace import REFUSED, TIMEOUT, WRONG_PROGRAM, Fix, Hop, WinAction

PS = "powershell.exe -NoProfile -NonInteractive -EncodedCommand <wsltui/probes/windows.ps1>"
FW_CMD = "powershell.exe Get-NetFirewallRule -PolicyStore ActiveStore; Get-NetFirewallProfile -PolicyStore ActiveStore"
HV_CMD = f"powershell.exe Get-NetFirewallHyperVVMSetting -PolicyStore ActiveStore -Name '{WSL_VM_CREATOR}'"
EXCL_CMD = "netsh.exe int ipv4 show excludedportrange protocol=tcp"
PROXY_CMD = "netsh.exe interface portproxy show all"
LISTEN_CMD = "powershell.exe Get-NetTCPConnection -State Listen"
ADAPTER_CMD = "powershell.exe Get-NetAdapter -IncludeHidden | Select-Object Name, InterfaceGuid, InterfaceType"
IPCONFIG_CMD = "powershell.exe Get-NetIPConfiguration -InterfaceAlias"
_GUID = re.compile(r"\{[0-9A-Fa-f-]{36}\}")
_IF_TYPES = {"lan": 6, "wired": 6, "wireless": 71}  # firewall interface types -> IANA ifType
SVCHOST = r"%SystemRoot%\System32\svchost.exe"
PROTO_NUM = {"tcp": 6, "udp": 17}
_ENV = {
    "%systemroot%": r"c:\windows",
    "%windir%": r"c:\windows",
    "%systemdrive%": "c:",
    "%programfiles%": r"c:\program files",
    "%programfiles(x86)%": r"c:\program files (x86)",
}


@dataclass
class WinPacket:
    """A packet as the Windows side sees it."""

    direction: str  # "in" | "out"
    proto: str  # "tcp" | "udp"
    local_port: int | None  # the service port for inbound; None for outbound (an ephemeral port)
    remote_address: str | None = None
    local_address: str | None = None
    remote_port: int | None = None
    interface: str | None = None  # adapter alias ("Ethernet", "vEthernet (WSL)")
    program: str | None = None  # full path or exe name of the Windows program that owns the socket
    service: str | None = None  # service short name (iphlpsvc for portproxy)
    loopback: bool = False
    # What the address keywords LocalSubnet and DefaultGateway stand for on ``interface``, when
    # the facts tell it (None: not known, so a rule naming them cannot be decided).
    onlink: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None = None
    gateways: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...] | None = None

    @property
    def port(self) -> int | None:
        """The service's port: local for inbound, remote for outbound."""
        return self.local_port if self.direction == "in" else self.remote_port


def _unknown(layer: str, what: str, why: Unknown | str, command: str = "") -> Hop:
    if isinstance(why, Unknown):
        return Hop(layer, "unknown", what, reason=str(why))
    return Hop(layer, "unknown", what, reason=f"unknown: {why}" + (f" (run: {command})" if command else ""))


def captured(facts) -> WindowsFacts | None:
    """The Windows facts, or None when the snapshot holds no Windows record at all."""
    win = getattr(facts, "windows", None)
    return win if win is not None and getattr(win, "captured", False) else None


def wsl_adapter(win: WindowsFacts) -> str:
    """The host side of WSL's NAT switch: vEthernet (WSL) or vEthernet (WSL (Hyper-V firewall))."""
    conns = [] if isinstance(win.connections, Unknown) else win.connections
    return next((c.alias for c in conns if c.alias.lower().startswith("vethernet (wsl")), "vEthernet (WSL)")


# --- rule matching (True / False / "assumption needed") ---------------------------------------


def _norm_program(p: str) -> str:
    p = p.strip().strip('"').lower().replace("/", "\\")
    for k, v in _ENV.items():
        p = p.replace(k, v)
    return p


def _program_matches(rule_programs: list[str], pkt: WinPacket) -> bool | str:
    if not rule_programs:
        return True
    if pkt.program is None:
        return f"the program is not {', '.join(rule_programs)}"
    mine = _norm_program(pkt.program)
    same_name = []
    for rp in rule_programs:
        r = _norm_program(rp)
        if r == "system":
            if mine == "system":
                return True
            continue
        if r == mine:
            return True
        # Only a name (Get-Process without the path, e.g. for a protected process): a rule for
        # that name elsewhere on disk does not match, so the same name is not enough.
        if "\\" not in mine and r.rsplit("\\", 1)[-1].removesuffix(".exe") == mine.removesuffix(".exe"):
            same_name.append(rp)
    if same_name:
        return f"the program {pkt.program} is {' or '.join(same_name)} (its path is not known)"
    return False


def _port_matches(tokens: list[str], port: int | None) -> bool | str:
    if not tokens:
        return True
    if port is None:
        return f"port condition {','.join(tokens)}"
    keywords = []
    for t in tokens:
        r = _in_port_token(port, t)
        if r is True:
            return True
        if r is None:
            keywords.append(t)
    return f"port keyword {','.join(keywords)} does not cover {port}" if keywords else False


def _literal_matches(token: str, a) -> bool | str:
    """An address, an ``a-b`` range or a subnet (``a/len`` or ``a/mask``)."""
    try:
        if "-" in token and "/" not in token:
            lo, hi = (ipaddress.ip_address(x.strip()) for x in token.split("-", 1))
            return lo.version == a.version and lo <= a <= hi
        net = ipaddress.ip_network(token, strict=False)
        return net.version == a.version and a in net
    except ValueError:
        return f"address {token!r} not understood"


def _keyword_matches(keyword: str, family: int | None, a, pkt: WinPacket) -> bool | str:
    """A remote address keyword (docs/windows-firewall.md §1.2, §4.1): LocalSubnet is the on-link
    prefixes of the interface the packet crosses, DefaultGateway its gateways; DNS, DHCP, WINS are
    its configured servers and Internet, Intranet, IntranetRemoteAccess, PlayToDevice, CaptivePortal
    come from Windows' network isolation and device discovery, which the facts do not hold."""
    if family is not None and family != a.version:
        return False  # LocalSubnet4 and the like name one address family
    iface = pkt.interface or "the adapter"
    if keyword == "LocalSubnet" and pkt.onlink is not None:
        return any(a in net for net in pkt.onlink if net.version == a.version)
    if keyword == "DefaultGateway" and pkt.gateways is not None:
        return a in pkt.gateways
    if keyword == "LocalSubnet":
        return f"remote address keyword LocalSubnet: the on-link prefixes of {iface} are not known (run: {IPCONFIG_CMD} {wc.ps_arg(iface)})"
    if keyword in ("DNS", "DHCP", "WINS", "DefaultGateway"):
        return f"remote address keyword {keyword}: the {keyword} servers of {iface} are not known (run: {IPCONFIG_CMD} {wc.ps_arg(iface)} -Detailed)"
    return (
        f"remote address keyword {keyword}: Windows derives it from its network isolation and discovery settings, "
        "which wsltui does not read"
    )


def _addr_matches(tokens: list[str], addr: str | None, pkt: WinPacket, side: str) -> bool | str:
    if not tokens:
        return True
    if addr is None:
        return f"{side} address condition {','.join(tokens)}"
    try:
        a = ipaddress.ip_address(addr)
    except ValueError:
        return f"{side} address {addr}"
    doubts = []
    for t in tokens:
        keyword = address_keyword(t)
        if keyword is None:
            m = _literal_matches(t.strip(), a)
        elif side == "remote":
            m = _keyword_matches(*keyword, a, pkt)
        else:
            m = f"local address keyword {keyword[0]}"
        if m is True:
            return True
        if isinstance(m, str):
            doubts.append(m)
    return "; ".join(dict.fromkeys(doubts)) if doubts else False


def _adapter_for(win: WindowsFacts | None, alias: str) -> Adapter | str:
    """The adapter ``alias`` names, or why it is not known."""
    found = win.adapter(alias) if win is not None else Unknown("no Windows data")
    if isinstance(found, Unknown):
        return f"the adapters and their GUIDs are not known: {found.reason} (run: {ADAPTER_CMD})"
    if found is None:
        return f"{alias} is not among the adapters Windows listed (run: {ADAPTER_CMD})"
    return found


def names_interface(win: WindowsFacts | None, names: list[str], alias: str | None) -> bool | str:
    """Does a list of interfaces (aliases with ``*``, or the registry's ``{GUID}``s) name
    ``alias``? True, False, or why it cannot be told."""
    if not names:
        return False
    if alias is None:
        return f"the interface is not {', '.join(names)}"
    guids = [n.strip().upper() for n in names if _GUID.fullmatch(n.strip())]
    for n in names:
        if not _GUID.fullmatch(n.strip()) and re.fullmatch(re.escape(n.strip()).replace(r"\*", ".*"), alias, re.I):
            return True
    if not guids:
        return False
    mine = _adapter_for(win, alias)
    if isinstance(mine, str):
        return f"interface {','.join(guids)}: {mine}"
    return mine.guid in guids


def _iface_type_matches(rule: FwRule, pkt: WinPacket, win: WindowsFacts | None) -> bool | str:
    """IFType (registry Lan/Wireless/RemoteAccess, PowerShell Wired/Wireless/RemoteAccess) against
    the adapter's IANA ifType: 6 is Ethernet (wired), 71 is IEEE 802.11; neither is remote access."""
    if not rule.interface_types:
        return True
    wanted = ",".join(rule.interface_types)
    mine = _adapter_for(win, pkt.interface) if pkt.interface else "the interface is not known"
    if isinstance(mine, str) or mine.if_type is None:
        return (
            f"interface type {wanted}: {mine if isinstance(mine, str) else f'the type of {pkt.interface} is not known'}"
        )
    for t in rule.interface_types:
        kind = _IF_TYPES.get(t.strip().lower())
        if kind is None and t.strip().lower() != "remoteaccess":
            return f"interface type {t!r} not understood"
        if kind == mine.if_type:
            return True
        if kind is None and mine.if_type not in _IF_TYPES.values():
            return f"interface type RemoteAccess: whether {pkt.interface} (ifType {mine.if_type}) is a remote-access link is not known"
    return False


def rule_matches(rule: FwRule, pkt: WinPacket, profile: str | None, win: WindowsFacts | None = None) -> bool | str:
    """True, False, or the assumption under which it would NOT match (a string)."""
    if not rule.enabled or rule.direction != pkt.direction or rule.action not in ("allow", "block"):
        return False
    if rule.profiles and profile is not None and profile not in rule.profiles:
        return False
    if rule.protocols and PROTO_NUM.get(pkt.proto) not in rule.protocols:
        return False
    checks = [
        _port_matches(rule.local_ports, pkt.local_port),
        _port_matches(rule.remote_ports, pkt.remote_port) if rule.remote_ports else True,
        _addr_matches(rule.remote_addresses, pkt.remote_address, pkt, "remote"),
        _addr_matches(rule.local_addresses, pkt.local_address, pkt, "local"),
        _program_matches(rule.programs, pkt),
        names_interface(win, rule.interfaces, pkt.interface) if rule.interfaces else True,
        _iface_type_matches(rule, pkt, win),
    ]
    if rule.services:
        svc = [s for s in rule.services if s != "*"]
        if svc:
            # A service rule matches the service SID of the socket's process; any program (svchost, or
            # an .exe of its own) may run as a service, so without the service's name it is a doubt.
            checks.append(
                pkt.service.lower() in (s.lower() for s in svc)
                if pkt.service
                else f"the service is not {','.join(svc)}"
            )
    if rule.other:
        checks.append(f"its condition {'; '.join(rule.other)} does not apply")
    if rule.profiles and profile is None:
        checks.append(f"profile is not {','.join(rule.profiles)}")
    if any(c is False for c in checks):
        return False
    doubts = [c for c in checks if isinstance(c, str)]
    return f"rule '{rule.label}': {'; '.join(doubts)}" if doubts else True


# --- Windows Defender Firewall ----------------------------------------------------------------


def profile_for(win: WindowsFacts, alias: str | None) -> tuple[str | None, str]:
    """(profile, how it was known) for an adapter alias. The WSL NAT adapter has an unidentified
    network, so its profile is Public unless a connection profile says otherwise."""
    conns = win.connections if not isinstance(win.connections, Unknown) else []
    for c in conns:
        if alias and c.alias.lower() == alias.lower():
            return _profile_name(c.category), f"{c.alias} is on a {c.category} network"
    if alias and alias.lower().startswith("vethernet (wsl"):
        return "Public", f"{alias} is an unidentified network, so Windows gives it the Public profile"
    return None, f"no connection profile for {alias or 'the adapter'}"


def _profile_name(category: str) -> str | None:
    return {"DomainAuthenticated": "Domain", "Private": "Private", "Public": "Public"}.get(category)


def lan_adapters(win: WindowsFacts) -> list[ConnectionProfile] | Unknown:
    if isinstance(win.connections, Unknown):
        return win.connections
    return [c for c in win.connections if not c.alias.lower().startswith(("vethernet", "loopback"))]


def firewall(win: WindowsFacts | None, pkt: WinPacket, *, what: str) -> Hop:
    """Windows Defender Firewall for ``pkt`` on ``pkt.interface``. ``what`` names the traffic."""
    layer = "windows-firewall"
    if pkt.loopback:
        return Hop(layer, "not-applicable", "Windows Defender Firewall does not filter loopback traffic.")
    if win is None:
        return _unknown(layer, f"Windows Defender Firewall ({what}).", "no Windows data in this snapshot", FW_CMD)
    if isinstance(win.profiles, Unknown):
        return _unknown(layer, f"Windows Defender Firewall ({what}): the profile settings are not known.", win.profiles)
    profile, how = profile_for(win, pkt.interface)
    if profile is None:
        return _unknown(
            layer,
            f"Windows Defender Firewall ({what}): which profile {pkt.interface or 'the adapter'} has is not known.",
            win.connections if isinstance(win.connections, Unknown) else how,
            PS,
        )
    settings = win.profiles.get(profile) or ProfileSettings(profile)
    where = f"{profile} profile ({how})"
    if not settings.enabled:
        return Hop(
            layer,
            "allow",
            f"The {profile} firewall profile is off, so nothing is filtered on {pkt.interface}.",
            location=where,
            owner="windows-firewall",
            rule=f"{profile} profile: Enabled=False",
            decided_by=windows_key("windows", "accept", profile=profile, setting="Enabled=False"),
        )
    off_here = names_interface(win, settings.disabled_interfaces, pkt.interface)
    if off_here is True:
        return Hop(
            layer,
            "allow",
            f"{pkt.interface} is excluded from the {profile} profile (DisabledInterfaceAliases): "
            "the firewall is off there.",
            location=where,
            owner="windows-firewall",
            decided_by=windows_key("windows", "accept", profile=profile, setting="DisabledInterfaceAliases"),
        )
    if isinstance(off_here, str):
        return Hop(
            layer,
            "unknown",
            f"The {profile} profile turns the firewall off on some interfaces "
            f"({', '.join(settings.disabled_interfaces)}), and wsltui cannot tell whether {pkt.interface} is one.",
            location=where,
            owner="windows-firewall",
            reason=f"cannot evaluate: {off_here}",
        )
    if isinstance(win.rules, Unknown):
        return _unknown(layer, f"Windows Defender Firewall ({what}): the rules are not known.", win.rules)
    blocks, allows, doubts_block, doubts_allow, ignored = [], [], [], [], []
    local_off = settings.allow_local_rules is False
    for r in win.rules:
        m = rule_matches(r, pkt, profile, win)
        why_not = _not_in_force(r, local_off, profile) if m is not False else None
        if why_not:
            ignored.append((r, why_not))  # listed, matching, but never allows or blocks
        elif m is True:
            (blocks if r.action == "block" else allows).append(r)
        elif isinstance(m, str):
            (doubts_block if r.action == "block" else doubts_allow).append((r, m))
    direction = "inbound" if pkt.direction == "in" else "outbound"
    packet = f"{pkt.proto} {direction} port {pkt.port} on {pkt.interface or '?'} ({profile})"
    decider = (blocks or allows or [None])[0]
    unsure = _unsure_enforcement(decider) if decider is not None else None
    assumption = (
        "; ".join(
            [f"{m} (so it does not apply)" for _, m in doubts_block] + [x for x in (unsure, win.rules_assumption) if x]
        )
        or None
    )
    ignored_allow = _ignored_note(ignored, pkt, profile, win, "allow")
    if blocks:
        r = blocks[0]
        hop = Hop(
            layer,
            "drop",
            f"The {direction} block rule '{r.label}' matches {what}; a block rule beats any "
            f"allow rule, so Windows drops it.",
            packet=packet,
            rule=r.raw or r.label,
            location=f"{win.rules_source}, {where}, rule {r.id}",
            owner="windows-firewall",
            edit=f"Windows rule '{r.label}'",
            symptom=TIMEOUT,
            fixes=[_disable_rule_fix(r)],
            decided_by=windows_key("windows", "drop", r),
        )
        for other in blocks[1:]:
            hop.behind.append(
                Hop(
                    layer,
                    "drop",
                    f"The block rule '{other.label}' matches too.",
                    rule=other.raw or other.label,
                    owner="windows-firewall",
                    edit=f"Windows rule '{other.label}'",
                    symptom=TIMEOUT,
                    fixes=[_disable_rule_fix(other)],
                )
            )
        return hop
    if pkt.direction == "in" and settings.shielded:
        return Hop(
            layer,
            "drop",
            f"The {profile} profile blocks all incoming connections (shields up), so allow rules "
            f"are ignored and {what} is dropped.",
            packet=packet,
            rule=f"{profile} profile: DoNotAllowExceptions / AllowInboundRules=False",
            location=where,
            owner="windows-firewall",
            edit=f"{profile} firewall profile",
            symptom=TIMEOUT,
            assumption=assumption,
            decided_by=windows_key("windows", "drop", profile=profile, setting="AllowInboundRules=False"),
            fixes=[
                wc.windows_fix(
                    f"Let inbound allow rules apply on the {profile} profile",
                    WinAction("profile-inbound-rules", profile=profile),
                    note="run in an elevated PowerShell",
                )
            ],
        )
    if allows:
        r = allows[0]
        return Hop(
            layer,
            "assumed" if assumption else "allow",
            f"The {direction} allow rule '{r.label}' lets {what} through.",
            packet=packet,
            rule=r.raw or r.label,
            location=f"{win.rules_source}, {where}, rule {r.id}",
            owner="windows-firewall",
            edit=f"Windows rule '{r.label}'",
            assumption=assumption,
            decided_by=windows_key("windows", "accept", r),
        )
    default = settings.default_inbound if pkt.direction == "in" else settings.default_outbound
    if doubts_allow and default == "block":
        r, m = doubts_allow[0]
        return Hop(
            layer,
            "unknown",
            f"Only the allow rule '{r.label}' could let {what} through, and wsltui cannot check one of its conditions.",
            packet=packet,
            rule=r.raw or r.label,
            owner="windows-firewall",
            reason=f"cannot evaluate: {m}",
            decided_by=windows_key("windows", "unknown", r),
        )
    if default == "allow":
        return Hop(
            layer,
            "assumed" if assumption else "allow",
            f"No rule matches; the {profile} profile's default {direction} action is Allow.",
            packet=packet,
            rule=f"{profile} profile: Default{direction.capitalize()}Action=Allow",
            location=where,
            owner="windows-firewall",
            assumption=assumption,
            decided_by=windows_key(
                "windows", "accept", profile=profile, setting=f"Default{direction.capitalize()}Action=Allow"
            ),
        )
    fixes = []
    if local_off:  # a local rule would be ignored like the others: only Group Policy can allow it
        fixes.append(_gpo_rule_fix(pkt, profile))
    elif pkt.direction == "in":
        fixes.append(_allow_rule_fix(pkt, profile))
    else:
        fixes.append(
            wc.windows_fix(
                f"Allow outbound {pkt.proto.upper()} {pkt.port}",
                WinAction("new-allow", port=pkt.port, proto=pkt.proto, direction="out", profile=profile),
            )
        )
    return Hop(
        layer,
        "drop",
        f"No Windows Defender Firewall rule allows {what} on the {profile} profile, whose default "
        f"{direction} action is Block.{ignored_allow}",
        packet=packet,
        rule=f"{profile} profile: Default{direction.capitalize()}Action=Block",
        location=where,
        owner="windows-firewall",
        edit=f"{profile} firewall profile",
        symptom=TIMEOUT,
        assumption=assumption,
        fixes=fixes,
        decided_by=windows_key(
            "windows", "drop", profile=profile, setting=f"Default{direction.capitalize()}Action=Block"
        ),
    )


def _allow_rule_fix(pkt: WinPacket, profile: str) -> Fix:
    iface = pkt.interface if pkt.interface and pkt.interface.lower().startswith("vethernet") else None
    return wc.windows_fix(
        f"Allow inbound {pkt.proto.upper()} {pkt.local_port} on the {profile} profile",
        WinAction("new-allow", port=pkt.local_port, proto=pkt.proto, profile=profile, interface=iface),
        note="run in an elevated PowerShell (wsltui asks for UAC, or copies the command)",
    )


def _gpo_rule_fix(pkt: WinPacket, profile: str | None, *, hyperv: bool = False) -> Fix:
    """Local rules are not applied on this profile (Group Policy): only a Group Policy rule helps."""
    d = "inbound" if pkt.direction == "in" else "outbound"
    where = "host firewall rule (Windows merges it into the Hyper-V firewall)" if hyperv else "firewall rule"
    return Fix(
        f"Ask your administrator for a Group Policy {where} allowing {pkt.proto.upper()} {pkt.port} {d} on the "
        f"{profile or 'active'} profile",
        [],
        [],
        "windows",
        needs_root=False,
        note="Group Policy does not apply local firewall rules here, so a rule created on this PC would be "
        "listed but ignored",
        manual="a Group Policy setting only the administrator can change",
    )


def _disable_rule_fix(rule: FwRule) -> Fix:
    if rule.from_group_policy:
        return Fix(
            f"Ask your administrator to remove the Group Policy block rule '{rule.label}'",
            [],
            [],
            "windows",
            needs_root=False,
            note="Group Policy rules cannot be changed locally; they come back on the next refresh",
        )
    return wc.windows_fix(
        f"Disable the block rule '{rule.label}'",
        WinAction("disable-rule", rule_id=rule.id),
        note="Windows creates such block rules when someone answers 'Cancel' to the firewall prompt",
        manual_note=" (wf.msc shows the rule)",
    )


# --- Hyper-V firewall -------------------------------------------------------------------------

HV_ADAPTER = "vEthernet (WSL (Hyper-V firewall))"  # WSL's NAT network with the firewall attached
NAT_ADAPTER = "vEthernet (WSL)"  # ... and without it (WslCoreConfig.cpp NatNetworkName)
ADAPTER_CHECK = "powershell.exe Get-NetAdapter -IncludeHidden -Name 'vEthernet (WSL*' | Select-Object Name, Status"
HV_LIVE_TEST = "Test-NetConnection -ComputerName <WSL IP> -Port"
HOST_TO_VM = (
    "host-to-VM traffic allowed by default, as Microsoft's portproxy recipe "
    "(learn.microsoft.com/windows/wsl/networking) relies on; "
    "the documentation contradicts itself here, so a live test would confirm "
    f"({HV_LIVE_TEST} <port> from Windows)"
)


@dataclass
class HyperVPresence:
    """Whether the Hyper-V firewall filters the WSL VM's traffic, and the evidence."""

    state: str  # "attached" | "absent" | "unknown"
    why: str
    assumed: bool = False  # decided on indirect or conflicting evidence (``why`` names it)
    confirm: str = ""  # what would settle it

    @property
    def text(self) -> str:
        return self.why + (f" (would confirm: {self.confirm})" if self.confirm else "")


def _wsl_adapter_names(win: WindowsFacts) -> set[str]:
    """The host side of WSL's NAT network as Windows lists it (connection profiles, adapters)."""
    names = []
    if not isinstance(win.connections, Unknown):
        names += [c.alias for c in win.connections]
    if not isinstance(win.adapters, Unknown):
        names += [a.alias for a in win.adapters]
    return {n for n in names if n.lower() in (HV_ADAPTER.lower(), NAT_ADAPTER.lower())}


def hyperv_presence(win: WindowsFacts, mode: str, wslconfig: WslConfig | None = None) -> HyperVPresence:
    """Is the Hyper-V firewall on this VM's path at all (microsoft/WSL WslCoreConfig.cpp, NatNetworking.cpp)? Mirrored:
    always. NAT: when WSL attached it, which the host adapter's name tells; .wslconfig
    ``firewall=false`` and ``HyperVFirewallDisable=1`` say it was not (from the next VM start on).
    Bridged and consomme: never. The cmdlets existing proves nothing."""
    if mode == "bridged":
        return HyperVPresence(
            "absent",
            "bridged networking never attaches the Hyper-V firewall (WSL adds only a "
            "port-name policy to the bridged endpoint)",
        )
    if mode == "consomme":
        return HyperVPresence(
            "absent",
            "consomme (virtioproxy) has no Hyper-V network endpoint: WSL's traffic is "
            "a Windows program's, filtered by the host firewall like any other",
        )
    hv = win.hyperv
    if isinstance(hv, HyperV) and not hv.available:
        return HyperVPresence("absent", f"this Windows has no Hyper-V firewall ({hv.why_unavailable})")
    if mode == "mirrored":
        return HyperVPresence(
            "attached", "mirrored mode always uses the Hyper-V firewall (.wslconfig firewall=false is ignored there)"
        )
    names = {n.lower() for n in _wsl_adapter_names(win)}
    attached, plain = HV_ADAPTER.lower() in names, NAT_ADAPTER.lower() in names
    said_off = []
    if wslconfig is not None and wslconfig.firewall is False:
        said_off.append(".wslconfig sets [wsl2] firewall=false")
    if win.hyperv_disable == 1:
        said_off.append("HyperVFirewallDisable=1 (MpsSvc\\Parameters)")
    if attached and plain:
        return HyperVPresence("unknown", f"Windows lists both {HV_ADAPTER} and {NAT_ADAPTER}", confirm=ADAPTER_CHECK)
    if attached and said_off:
        return HyperVPresence(
            "attached",
            f"the WSL adapter is {HV_ADAPTER}, although {' and '.join(said_off)}: that "
            "takes effect at the next VM start",
            assumed=True,
            confirm="wsl.exe --shutdown, then a new capture",
        )
    if attached:
        return HyperVPresence("attached", f"WSL attached it to its NAT network (the adapter is {HV_ADAPTER})")
    if plain:
        return HyperVPresence(
            "absent", f"WSL did not attach it to its NAT network (the adapter is {NAT_ADAPTER}, not {HV_ADAPTER})"
        )
    if said_off:
        return HyperVPresence(
            "absent",
            f"{' and '.join(said_off)}, so WSL does not attach it in NAT mode (assuming "
            "the VM started after that was set)",
            assumed=True,
            confirm=ADAPTER_CHECK,
        )
    why = (
        "the WSL adapter is not among the adapters Windows listed"
        if not isinstance(win.adapters, Unknown)
        else "the adapter names were not read"
    )
    return HyperVPresence("unknown", f"whether WSL attached it to its NAT network: {why}", confirm=ADAPTER_CHECK)


def hyperv(
    win: WindowsFacts | None,
    pkt: WinPacket,
    *,
    what: str,
    mode: str,
    host_to_vm: bool = False,
    wslconfig: WslConfig | None = None,
) -> Hop:
    """The Hyper-V firewall for the WSL VM. ``host_to_vm``: the packet goes between the Windows
    host and the VM (Windows -> WSL IP, portproxy -> WSL IP, WSL -> Windows), whose default
    handling the documentation leaves open: every such leg gets the same answer."""
    layer = "hyperv-firewall"
    if win is None:
        return _unknown(
            layer, f"The Hyper-V firewall for the WSL VM ({what}).", "no Windows data in this snapshot", HV_CMD
        )
    presence = hyperv_presence(win, mode, wslconfig)
    if presence.state == "absent" and not presence.assumed:
        return Hop(layer, "not-applicable", f"No Hyper-V firewall on this path: {presence.why}.")
    return _with_presence(_hv_hop(win, pkt, what, host_to_vm), presence)


def _hv_hop(win: WindowsFacts, pkt: WinPacket, what: str, host_to_vm: bool) -> Hop:
    """The Hyper-V firewall as if it is on the path."""
    layer = "hyperv-firewall"
    hv = win.hyperv
    if isinstance(hv, Unknown):
        return _unknown(layer, f"The Hyper-V firewall for the WSL VM ({what}).", hv)
    if not hv.available:  # mirrored without the cmdlets
        return Hop(
            layer,
            "unknown",
            "Mirrored mode needs the Hyper-V firewall, but this Windows has no Hyper-V firewall cmdlets.",
            reason=f"unknown: {hv.why_unavailable} (run: {HV_CMD})",
        )
    if isinstance(hv.setting, Unknown) or hv.setting is None:
        return _unknown(
            layer,
            f"The Hyper-V firewall for the WSL VM ({what}): its settings could not be read.",
            hv.setting if isinstance(hv.setting, Unknown) else "no VM setting",
            HV_CMD,
        )
    return _hv_over_profiles(win, hv, pkt, what, host_to_vm)


def _with_presence(hop: Hop, presence: HyperVPresence) -> Hop:
    """The evaluated hop, weighed by how sure it is that the firewall is there at all: a pass
    stands either way; a block from a firewall that may be absent does not."""
    if presence.state == "attached" and not presence.assumed:
        return hop
    if hop.verdict in ("allow", "not-applicable"):
        return hop
    if presence.state == "absent":  # taken as absent on indirect evidence
        return Hop(
            hop.layer,
            "assumed",
            f"The Hyper-V firewall is taken as not attached: {presence.why}.",
            assumption=f"not attached: {presence.text}",
            owner="hyperv-firewall",
        )
    if presence.state == "attached":  # the adapter says attached; other settings say otherwise
        note = f"attached: {presence.text}"
        return dataclasses.replace(hop, assumption="; ".join(x for x in (hop.assumption, note) if x))
    if hop.verdict == "assumed":
        return dataclasses.replace(hop, assumption=f"{hop.assumption}; and whether it is there at all: {presence.text}")
    if hop.verdict == "unknown":
        return hop
    return dataclasses.replace(
        hop,
        verdict="unknown",
        symptom=None,
        explanation=f"If the Hyper-V firewall is attached: {hop.explanation}",
        reason=f"unknown: {presence.text}",
    )


def _hv_value(hv: HyperV, profile: str | None, attr: str):
    """A setting for one profile: the profile's value, else the VM-level one (NotConfigured
    falls back), else None (Windows' default applies)."""
    own = getattr(hv.profiles.get(profile), attr, None) if profile else None
    return own if own is not None else getattr(hv.setting, attr, None)


def _hv_profiles(win: WindowsFacts, hv: HyperV, pkt: WinPacket) -> list[tuple[str | None, str]]:
    """The profiles whose Hyper-V settings may apply, with how each was known: the adapter's, the
    LAN adapters' (mirrored, no adapter given), or all three when nothing says which."""
    if pkt.interface:
        profile, how = profile_for(win, pkt.interface)
        if profile is not None:
            return [(profile, how)]
    elif not pkt.loopback:
        lan = lan_adapters(win)
        if not isinstance(lan, Unknown):
            seen: dict[str, str] = {}
            for c in lan:
                p = _profile_name(c.category)
                if p and p not in seen:
                    seen[p] = f"{c.alias} is on a {c.category} network"
            if seen:
                return list(seen.items())
    if hv.profiles:
        return [(p, "the profile is not known, so each is evaluated") for p in PROFILES]
    return [(None, "the VM-level setting (no per-profile settings captured)")]


def _hv_over_profiles(win: WindowsFacts, hv: HyperV, pkt: WinPacket, what: str, host_to_vm: bool) -> Hop:
    """Evaluate once per candidate profile: when they agree that is the answer; when they differ,
    which one applies decides it, so the hop is unknown and names each."""
    hops = [(_hv_eval(win, hv, pkt, what, host_to_vm, p, how), p) for p, how in _hv_profiles(win, hv, pkt)]
    verdicts = {h.verdict for h, _ in hops}
    if len(verdicts) == 1:
        return hops[0][0]
    each = "; ".join(f"{p}: {h.verdict}" for h, p in hops)
    first = next(h for h, _ in hops if h.blocks or h.verdict == "unknown")
    return Hop(
        "hyperv-firewall",
        "unknown",
        f"The Hyper-V firewall treats {what} differently per network profile ({each}).",
        owner="hyperv-firewall",
        fixes=first.fixes,
        reason="unknown: which profile's settings apply to this packet (the profile of the host adapter it "
        "crosses; run: powershell.exe Get-NetConnectionProfile)",
    )


def _host_profile_off(win: WindowsFacts, profile: str | None) -> bool:
    if profile is None or isinstance(win.profiles, Unknown):
        return False
    host = win.profiles.get(profile)
    return host is not None and not host.enabled


def _hv_rules(
    win: WindowsFacts, hv: HyperV, profile: str | None, host_off: bool
) -> tuple[list[FwRule], list[tuple[FwRule, str]]]:
    """(the rules in force, the rules listed but not in force with why). Windows' own merged set
    (ActiveStore, batch v2) when captured; else WSL's rules plus the host's IP/port rules when
    AllowHostPolicyMerge, re-derived (never program or interface rules)."""
    own = [] if isinstance(hv.rules, Unknown) else list(hv.rules)
    merge = _hv_value(hv, profile, "host_merge") is not False and not host_off
    if not hv.merged_published and merge and not isinstance(win.rules, Unknown):
        own += [r for r in win.rules if not r.program_scoped and not r.interfaces]
    host = win.profiles.get(profile) if profile and not isinstance(win.profiles, Unknown) else None
    live, ignored = [], []
    for r in own:
        from_host = r.merged_from_host or r.source != "hyperv"
        if from_host and not merge:
            continue  # not merged at all
        local_off = (
            (host is not None and host.allow_local_rules is False)
            if from_host
            else (_hv_value(hv, profile, "allow_local") is False)
        )
        why = _not_in_force(r, local_off, profile)
        if why:
            ignored.append((r, why))
        else:
            live.append(r)
    return live, ignored


def _not_in_force(r: FwRule, local_off: bool, profile: str | None) -> str | None:
    """Why a listed rule never allows or blocks anything, or None."""
    if r.enforced == "not-enforced":
        return f"its EnforcementStatus is {r.enforcement}"
    if local_off and r.is_local:
        return (
            f"Group Policy does not apply local rules on the {profile or 'active'} profile "
            "(AllowLocalFirewallRules=False / AllowLocalPolicyMerge=0)"
        )
    return None


def _unsure_enforcement(r: FwRule) -> str | None:
    if r.enforced == "unclear":
        return f"rule '{r.label}' is in force (its EnforcementStatus {r.enforcement!r} is not one wsltui knows)"
    return None


def _priority(r: FwRule) -> int:
    """RulePriority: lower first; unset, Block is 1 and Allow 2 (New-NetFirewallHyperVRule)."""
    return r.priority if r.priority is not None else (1 if r.action == "block" else 2)


@dataclass
class _Decision:
    rule: FwRule | None  # the deciding rule; None: no rule decides (the default applies)
    assumptions: list[str]  # doubtful blocks taken as not matching, rules taken as in force
    doubt_allows: list[tuple[FwRule, str]]  # allows ahead of the decision whose match wsltui cannot check
    undecided: bool = False  # a block matches, but one of ``doubt_allows`` may come first


def _by_priority(rules: list[FwRule], pkt: WinPacket, profile: str | None, win: WindowsFacts) -> _Decision:
    """The first priority level with a matching rule decides; within it a block beats an allow.
    A rule whose match wsltui cannot check, ahead of the decision, is an assumption (a block
    taken as not matching) or leaves a block undecided (an allow that might let it through)."""
    assumptions: list[str] = []
    allows_unsure: list[tuple[FwRule, str]] = []
    levels: dict[int, list[FwRule]] = {}
    for r in rules:
        levels.setdefault(_priority(r), []).append(r)
    for level in sorted(levels):
        sure, doubts = [], []
        for r in levels[level]:
            m = rule_matches(r, pkt, profile, win)
            if m is True:
                sure.append(r)
            elif isinstance(m, str):
                doubts.append((r, m))
        assumptions += [f"{m} (so it does not apply)" for r, m in doubts if r.action == "block"]
        if sure:
            r = next((x for x in sure if x.action == "block"), sure[0])
            if r.action == "block" and allows_unsure:
                return _Decision(None, assumptions, allows_unsure, undecided=True)
            unsure = _unsure_enforcement(r)
            return _Decision(r, assumptions + ([unsure] if unsure else []), allows_unsure)
        allows_unsure += [(r, m) for r, m in doubts if r.action == "allow"]
    return _Decision(None, assumptions, allows_unsure)


def _hv_eval(
    win: WindowsFacts, hv: HyperV, pkt: WinPacket, what: str, host_to_vm: bool, profile: str | None, how: str
) -> Hop:
    layer = "hyperv-firewall"
    loc = f"Hyper-V firewall, VMCreatorId {WSL_VM_CREATOR}" + (f", {profile} profile ({how})" if profile else "")
    enabled = _hv_value(hv, profile, "enabled")
    host_off = _host_profile_off(win, profile)
    if enabled is False:
        return Hop(
            layer,
            "allow",
            "The Hyper-V firewall is off for the WSL VM.",
            location=loc,
            owner="hyperv-firewall",
            rule="Enabled=False",
            decided_by=windows_key("hyperv", "accept", profile=profile, setting="Enabled=False"),
        )
    if host_off and enabled is None:
        # WSL's own tests (NetworkTests.cpp FirewallSettingEnabledTests): host profile off and the
        # Hyper-V setting NotConfigured -> neither host nor Hyper-V rules are enforced.
        return Hop(
            layer,
            "allow",
            f"The host {profile} firewall profile is off and the Hyper-V firewall's Enabled is "
            "NotConfigured, so it follows the host: nothing is filtered.",
            location=loc,
            owner="hyperv-firewall",
            rule=f"{profile} profile: Enabled=False; Hyper-V Enabled=NotConfigured",
            decided_by=windows_key("hyperv", "accept", profile=profile, setting="Enabled=NotConfigured"),
        )
    loopback = _hv_value(hv, profile, "loopback")
    if (pkt.loopback or host_to_vm) and loopback is False:
        between = "over loopback" if pkt.loopback else "between the host and the VM"
        return Hop(
            layer,
            "drop",
            f"The Hyper-V firewall's LoopbackEnabled is False: Windows and WSL cannot reach each other {between}.",
            rule="LoopbackEnabled=False",
            location=loc,
            owner="hyperv-firewall",
            edit="Hyper-V firewall VM setting",
            symptom=TIMEOUT,
            fixes=[wc.windows_fix("Allow loopback between Windows and WSL", WinAction("hv-loopback"))],
            decided_by=windows_key("hyperv", "drop", profile=profile, setting="LoopbackEnabled=False"),
        )
    rules, ignored = _hv_rules(win, hv, profile, host_off)
    d = _by_priority(rules, pkt, profile, win)
    hop = _hv_verdict(win, hv, pkt, what, host_to_vm, profile, loc, d, ignored)
    if host_off and hop.blocks:
        # What ActiveStore shows for the VM setting with the host profile off is not documented:
        # Enabled=True there may be the displayed default (NotConfigured), which enforces nothing.
        return dataclasses.replace(
            hop,
            verdict="unknown",
            symptom=None,
            reason=(
                f"unknown: the host {profile} profile is off, and then Hyper-V rules are enforced only if the Hyper-V "
                "firewall's Enabled is configured, not just shown as True by ActiveStore (run: powershell.exe "
                f"Get-NetFirewallHyperVVMSetting -Name '{WSL_VM_CREATOR}', whose local store says NotConfigured when unset)"
            ),
        )
    return hop


def _hv_local_rules_off(win: WindowsFacts, hv: HyperV, profile: str | None) -> bool:
    """Would a local Hyper-V rule (the fix wsltui offers) be ignored? When the profile says so, and
    when it is NotConfigured while Group Policy turns local host rules off, which the Hyper-V
    firewall may mirror (hyper-v-firewall.md): then only the administrator's rule is certain to help."""
    own = _hv_value(hv, profile, "allow_local")
    host = win.profiles.get(profile) if profile and not isinstance(win.profiles, Unknown) else None
    return own is False or (own is None and host is not None and host.allow_local_rules is False)


def _hv_block_fix(win: WindowsFacts, r: FwRule) -> Fix:
    """WSL's own Hyper-V rule is disabled there; a host rule (merged, or re-derived) on the host."""
    if r.merged_from_host:
        return _merged_block_fix(win, r)
    if r.source == "hyperv" and not r.from_group_policy:
        return wc.windows_fix(
            f"Remove the Hyper-V block rule '{r.label}'", WinAction("disable-rule", rule_id=r.id, hyperv=True)
        )
    return _disable_rule_fix(r)


def _merged_block_fix(win: WindowsFacts, r: FwRule) -> Fix:
    """A host block rule Windows merged into the Hyper-V firewall is changed on the host: the host
    rule with the same name, when the host rules list it, else by hand."""
    host = [] if isinstance(win.rules, Unknown) else win.rules
    same = next((h for h in host if h.id == r.id), None) or next((h for h in host if h.label == r.label), None)
    if same is not None or r.from_group_policy:
        return _disable_rule_fix(same or r)
    return Fix(
        f"Disable the host firewall block rule '{r.label}' (Windows merges it into the Hyper-V firewall)",
        [],
        [],
        "windows",
        needs_root=False,
        manual="the host rule behind the merged one is not among the rules read",
    )


def _rule_kind(r: FwRule) -> str:
    return "merged host" if (r.merged_from_host or r.source != "hyperv") else "Hyper-V"


def _ignored_note(
    ignored: list[tuple[FwRule, str]], pkt: WinPacket, profile: str | None, win: WindowsFacts, action: str
) -> str:
    """A sentence about rules that would decide the packet but are not in force."""
    hits = [(r, why) for r, why in ignored if r.action == action and rule_matches(r, pkt, profile, win) is not False]
    if not hits:
        return ""
    r, why = hits[0]
    return f" The {action} rule '{r.label}' matches but is not in force: {why}."


def _hv_verdict(
    win: WindowsFacts,
    hv: HyperV,
    pkt: WinPacket,
    what: str,
    host_to_vm: bool,
    profile: str | None,
    loc: str,
    d: _Decision,
    ignored: list[tuple[FwRule, str]],
) -> Hop:
    layer = "hyperv-firewall"
    assumption = "; ".join(d.assumptions) or None
    if d.undecided:
        r, m = d.doubt_allows[0]
        return Hop(
            layer,
            "unknown",
            f"The allow rule '{r.label}' comes before a matching block rule (RulePriority), "
            "and wsltui cannot check one of its conditions.",
            location=loc,
            owner="hyperv-firewall",
            reason=f"cannot evaluate: {m}",
            decided_by=windows_key("hyperv", "unknown", r),
        )
    r = d.rule
    if r is not None and r.action == "block":
        return Hop(
            layer,
            "drop",
            f"The {_rule_kind(r)} block rule '{r.label}' drops {what}.",
            rule=r.label + (f" (RulePriority {r.priority})" if r.priority is not None else ""),
            location=loc,
            owner="hyperv-firewall",
            edit=f"Hyper-V rule '{r.label}'",
            symptom=TIMEOUT,
            assumption=assumption,
            fixes=[_hv_block_fix(win, r)],
            decided_by=windows_key("hyperv", "drop", r),
        )
    if pkt.loopback:
        return Hop(
            layer,
            "assumed" if assumption else "allow",
            "LoopbackEnabled=True lets Windows reach WSL over loopback.",
            rule="LoopbackEnabled=True",
            location=loc,
            owner="hyperv-firewall",
            assumption=assumption,
            decided_by=windows_key("hyperv", "accept", profile=profile, setting="LoopbackEnabled=True"),
        )
    if r is not None:
        return Hop(
            layer,
            "assumed" if assumption else "allow",
            f"The {_rule_kind(r)} allow rule '{r.label}' lets {what} through.",
            rule=r.label,
            location=loc,
            owner="hyperv-firewall",
            assumption=assumption,
            decided_by=windows_key("hyperv", "accept", r),
        )
    direction = "inbound" if pkt.direction == "in" else "outbound"
    default = _hv_value(hv, profile, "default_inbound" if pkt.direction == "in" else "default_outbound")
    if default is None:  # not configured: documented defaults are inbound Block, outbound Allow
        default = "block" if pkt.direction == "in" else "allow"
    if default == "allow":
        return Hop(
            layer,
            "assumed" if assumption else "allow",
            f"No Hyper-V rule matches; the default {direction} action is Allow.",
            rule=f"Default{direction.capitalize()}Action=Allow",
            location=loc,
            owner="hyperv-firewall",
            assumption=assumption,
            decided_by=windows_key(
                "hyperv", "accept", profile=profile, setting=f"Default{direction.capitalize()}Action=Allow"
            ),
        )
    if host_to_vm:
        return Hop(
            layer,
            "assumed",
            f"No Hyper-V rule decides {what}, and LoopbackEnabled is True: the host-to-VM leg "
            "is taken to pass." + _ignored_note(ignored, pkt, profile, win, "allow"),
            rule=f"LoopbackEnabled=True; Default{direction.capitalize()}Action=Block",
            location=loc,
            owner="hyperv-firewall",
            assumption="; ".join([HOST_TO_VM, *d.assumptions]),
            fixes=[_hv_allow_fix(pkt)],
            decided_by=windows_key("hyperv", "accept", profile=profile, setting="LoopbackEnabled=True"),
        )
    if d.doubt_allows:
        r, m = d.doubt_allows[0]
        return Hop(
            layer,
            "unknown",
            f"Only the rule '{r.label}' could let {what} through the Hyper-V firewall, and "
            "wsltui cannot check one of its conditions.",
            reason=f"cannot evaluate: {m}",
            owner="hyperv-firewall",
            decided_by=windows_key("hyperv", "unknown", r),
        )
    fix = _gpo_rule_fix(pkt, profile, hyperv=True) if _hv_local_rules_off(win, hv, profile) else _hv_allow_fix(pkt)
    return Hop(
        layer,
        "drop",
        f"No Hyper-V firewall rule allows {what}, and the WSL VM's default {direction} action is "
        f"Block: the packet is dropped before it reaches Linux.{_ignored_note(ignored, pkt, profile, win, 'allow')}",
        rule=f"Default{direction.capitalize()}Action=Block",
        location=loc,
        owner="hyperv-firewall",
        edit="Hyper-V firewall VM setting",
        symptom=TIMEOUT,
        assumption=assumption,
        fixes=[fix],
        decided_by=windows_key(
            "hyperv", "drop", profile=profile, setting=f"Default{direction.capitalize()}Action=Block"
        ),
    )


def _hv_allow_fix(pkt: WinPacket) -> Fix:
    return wc.windows_fix(
        f"Allow {pkt.proto.upper()} {pkt.port} through the Hyper-V firewall for WSL",
        WinAction("new-hv-allow", port=pkt.port, proto=pkt.proto, direction=pkt.direction),
        note="run in an elevated PowerShell",
    )


# --- excluded port ranges ---------------------------------------------------------------------


def _excluded_table(win: WindowsFacts | None, v6: bool):
    """The TCP excluded ranges of one family (``ExcludedPorts``), or Unknown."""
    if win is None:
        return Unknown("no Windows data in this snapshot", EXCL_CMD.replace("ipv4", "ipv6") if v6 else EXCL_CMD)
    return win.excluded6 if v6 else win.excluded4


def excluded(win: WindowsFacts | None, proto: str, port: int, v6: bool, *, who: str) -> Hop:
    """Can ``who`` (the relay, portproxy) bind TCP ``port`` on Windows?"""
    layer = "excluded-ports"
    if proto != "tcp":
        return Hop(
            layer, "not-applicable", f"wsltui reads the TCP excluded ranges only; {who} does not carry {proto.upper()}."
        )
    table = _excluded_table(win, v6)
    if isinstance(table, Unknown):
        return _unknown(
            layer, f"If port {port} is in a Windows excluded port range, {who} cannot bind it (silently).", table
        )
    r = table.containing(port)
    if r is None:
        return Hop(layer, "allow", f"Port {port} is outside every Windows excluded port range.", owner="windows")
    fam = "ipv6" if v6 else "ipv4"
    n = r.end - r.start + 1
    fixes = [
        Fix(
            f"Choose a port outside the excluded ranges (this one is {r.start}-{r.end})",
            [],
            [],
            "socket",
            needs_root=False,
            note="netsh int ipv4 show excludedportrange protocol=tcp lists them",
        )
    ]
    if r.administered:
        fixes.append(
            wc.netsh_fix(
                f"Delete the administered exclusion {r.start}-{r.end}",
                lambda: (
                    [wc.excluded_range("delete", fam, r.start, n)],
                    [wc.excluded_range("add", fam, r.start, n, persistent=True)],
                ),
                note="run in an elevated prompt",
            )
        )
    else:
        fixes.append(
            Fix(
                "Let Windows re-pick its dynamic reservations (Hyper-V/WinNAT)",
                ["net stop winnat", "net start winnat"],
                [],
                "windows",
                note="elevated; the new ranges are random, so the port may be reserved again",
            )
        )
    return Hop(
        layer,
        "no-listener",
        f"Port {port} is in the Windows excluded port range {r.start}-{r.end}"
        f"{' (administered)' if r.administered else ' (reserved by Hyper-V/WinNAT)'}: {who} cannot bind it, "
        "and nothing tells you.",
        rule=f"{r.start} {r.end}{' *' if r.administered else ''}",
        location=wc.excluded_range("show", fam),
        owner="windows",
        symptom=REFUSED,
        fixes=fixes,
    )


# --- WSL's forwarding into the VM, as Windows sees it ----------------------------------------

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
    return next((l for l in win.listeners if l.port == port and _is_relay(l) and _same(l.address, address)), None)


def relay_name(win: WindowsFacts | None) -> str:
    """The relay's process as this machine shows it (any port), else both names."""
    if win is None or isinstance(win.listeners, Unknown):
        return RELAY_UNSEEN
    return next((f"{_process(l)}.exe" for l in win.listeners if _is_relay(l)), RELAY_UNSEEN)


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
        "allow",
        f"Port {port} is in the Windows excluded port range {start}-{end}, but {_who(held)} already "
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
    table = _excluded_table(win, v6)
    if isinstance(table, Unknown):
        return dataclasses.replace(
            relay,
            verdict="assumed",
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
            "not-applicable",
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
        "no-listener",
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
    return [l for l in win.listeners if l.port == port and not _is_relay(l)]  # type: ignore[union-attr]


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
    table = _excluded_table(win, v6)
    r = None if isinstance(table, Unknown) else table.containing(port)
    listeners = Unknown("no Windows data in this snapshot", LISTEN_CMD) if win is None else win.listeners
    owners = [] if isinstance(listeners, Unknown) else _windows_owners(win, port)  # type: ignore[arg-type]
    shown = _bracket(dst)
    if reservation.verdict == "allow":
        held = (
            f"{_who(owners[0])} listens on Windows {owners[0].address}:{port}"
            if owners
            else f"Windows excludes it ({r.start}-{r.end})"
            if r is not None
            else None
        )
        if held is None:
            return reservation
        return Hop(
            "localhost-relay",
            "unknown",
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
    covering = [l for l in owners if _same(l.address, dst) or l.address == _WILDCARD[family]]
    owner = (covering or owners)[0]
    where = "; ".join(f"{_bracket(l.address)}:{port} {l.process or '?'} (pid {l.pid})" for l in owners)
    if covering:
        symptom, alternatives = WRONG_PROGRAM, []
        client = f"{owner.process} answers {shown}:{port} instead"
    else:
        symptom, alternatives = _nothing_there(dst)
        client = f"nothing answers {shown}:{port}"
    return Hop(
        "windows-listener",
        "no-listener",
        f"{_who(owner)} listens on Windows {_bracket(owner.address)}:{port}. In mirrored "
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
            _stop_fix(owner, port),
            Fix(
                f"Or run the Linux server on a port no Windows program holds (not {port})",
                [],
                [],
                "socket",
                needs_root=False,
            ),
        ],
    )


# --- Windows listeners ------------------------------------------------------------------------

_WILDCARD = {4: "0.0.0.0", 6: "::"}


def _same(a: str, b: str) -> bool:
    if a == b:  # the common case, without parsing
        return True
    try:
        return ipaddress.ip_address(a.strip("[]")) == ipaddress.ip_address(b.strip("[]"))
    except ValueError:
        return a == b


def _bracket(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _process(l: WinListener) -> str:
    """The listener's program name, lower case, without ``.exe`` (from its path when only that is known)."""
    name = l.process or _norm_program(l.path or "").rsplit("\\", 1)[-1]
    return name.lower().removesuffix(".exe")


def _is_relay(l: WinListener) -> bool:
    """WSL's relay, by its name, or by its path when Windows told it (a program of the same name
    elsewhere on disk is not WSL's)."""
    if _process(l) not in RELAY_PROCESSES:
        return False
    if not l.path:
        return True
    path = _norm_program(l.path)
    return any(path[1:].startswith(d) for d in _RELAY_DIRS) or _RELAY_PACKAGE in path


def _who(l: WinListener) -> str:
    return f"{l.process or _process(l) or 'an unknown process'} (pid {l.pid})"


def _listeners_on(
    win: WindowsFacts, port: int, address: str
) -> tuple[list[WinListener], list[WinListener], list[WinListener]]:
    """Windows TCP listeners a connection to ``address:port`` could reach: (bound to that address,
    bound to the family's wildcard, bound to [::] when ``address`` is IPv4). A [::] socket takes
    IPv4 only when its program turned IPV6_V6ONLY off (Windows' default is on), which the listener
    list does not show."""
    family = ipaddress.ip_address(address).version
    mine = [l for l in win.listeners if l.port == port]  # type: ignore[union-attr]
    exact = [l for l in mine if _same(l.address, address)]
    wild = [l for l in mine if l.address == _WILDCARD[family]]
    dual = [l for l in mine if family == 4 and l.address == "::"]
    return exact, wild, dual


def _proxy_entries(win: WindowsFacts, l: WinListener) -> list[PortProxy] | str:
    """The portproxy entries a svchost listener serves (portproxy runs in svchost for iphlpsvc),
    or why that is not known. [] for any other program."""
    if _process(l) != "svchost":
        return []
    if isinstance(win.portproxy, Unknown):
        return (
            f"{_who(l)} listens on {l.address}:{l.port}: portproxy (iphlpsvc) runs in svchost, and the portproxy "
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
    exact, wild, _ = _listeners_on(win, port, address)
    taker = next(iter(exact + wild), None)
    if taker is None:
        return None, None
    entries = _proxy_entries(win, taker)
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
        where = f"{_bracket(l.address)}:{port} {_who(l)}"
        wildcard = l.address in _WILDCARD.values()
        if _is_relay(l):
            out.append(
                PortListener(
                    "relay",
                    where,
                    f"WSL's localhost relay: a Windows app's connection to "
                    f"{_bracket(l.address)}:{port} is forwarded into WSL",
                )
            )
            continue
        entries = _proxy_entries(win, l)
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
                    f"{'any address of this host' if wildcard else _bracket(l.address)} on port {port} "
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


def _stop_fix(l: WinListener, port: int) -> Fix:
    if _process(l) in ("svchost", "system"):  # a shared service host or the kernel (http.sys): find the service
        return wc.windows_fix(
            f"Find the Windows service behind {_who(l)} and move it off port {port}",
            WinAction("find-service", pid=l.pid),
            needs_root=False,
            note="or run the WSL service on a different port",
        )
    return wc.windows_fix(
        f"Stop {_who(l)} or move it to another port",
        WinAction("stop-process", pid=l.pid),
        note="or run the WSL service on a different port",
    )


def _delete_proxy_fix(e: PortProxy) -> Fix:
    return wc.netsh_fix(
        f"Delete the portproxy entry {e.text}",
        lambda: (
            [wc.portproxy_delete(e.kind, e.listen_port, e.listen_address)],
            [wc.portproxy_add(e.kind, e.listen_port, e.listen_address, e.connect_port, e.connect_address)],
        ),
        note="elevated",
    )


def relay_listener(win: WindowsFacts | None, proto: str, port: int, address: str) -> tuple[Hop, bool]:
    """Who answers a Windows app's connection to ``address:port`` (127.0.0.1 or ::1, or another
    loopback address) in NAT mode: WSL's relay, another Windows program (it shadows WSL), or
    portproxy (True: follow the portproxy entry). A bind to the address beats a wildcard bind; a
    Windows program and the relay on the same address: in the reported reproductions the Windows
    program answers (microsoft/WSL#5732)."""
    layer = "windows-listener"
    shown = f"[{address}]" if ":" in address else address
    if proto != "tcp":
        return Hop(layer, "not-applicable", "wsltui reads Windows TCP listeners only."), False
    if win is None:
        return _unknown(
            layer,
            f"A Windows program listening on {shown}:{port} would answer instead of WSL.",
            "no Windows data in this snapshot",
            LISTEN_CMD,
        ), False
    if isinstance(win.listeners, Unknown):
        return _unknown(
            layer, f"A Windows program listening on {shown}:{port} would answer instead of WSL.", win.listeners
        ), False
    name = relay_name(win)
    exact, wild, dual = (list(filter(lambda l: not _is_relay(l), ls)) for ls in _listeners_on(win, port, address))
    relay = relay_on(win, port, address)
    taker = (exact or wild or [None])[0]
    if relay is not None and not exact:
        beside = (
            f"; {_who(wild[0])} listens on {wild[0].address}:{port}, but a bind to {shown} beats a wildcard bind"
            if wild
            else ""
        )
        return Hop(
            layer,
            "allow",
            f"{_who(relay)}, WSL's localhost relay, listens on Windows {shown}:{port}{beside}.",
            rule=f"{shown}:{port} {relay.process or name}",
            owner="wsl",
        ), False
    if taker is None:
        if dual:
            return Hop(
                layer,
                "unknown",
                f"{_who(dual[0])} listens on [::]:{port}; if its socket is dual-stack it answers "
                f"{shown}:{port} instead of WSL.",
                rule=f"[::]:{port} {dual[0].process}",
                reason=f"unknown: whether {dual[0].process} turned IPV6_V6ONLY off (Windows' default is on)",
            ), False
        return Hop(layer, "allow", f"No other Windows program listens on {shown}:{port}.", owner="windows"), False
    where = f"{taker.address}:{port} {taker.process}"
    if relay is not None:  # both on the same address
        where += f"; {shown}:{port} {relay.process} (pid {relay.pid})"
        against = (
            f"{_who(relay)}, WSL's relay, listens there too, but in the reported reproductions the Windows "
            "program answers (microsoft/WSL#5732)"
        )
    else:
        against = f"{name} does not"
    entries = _proxy_entries(win, taker)
    if isinstance(entries, str):
        return Hop(
            layer,
            "unknown",
            f"{_who(taker)} answers {shown}:{port} and {against}.",
            rule=where,
            reason=f"unknown: {entries} (run: {PROXY_CMD})",
        ), False
    if entries:
        return Hop(
            layer,
            "allow",
            f"portproxy (iphlpsvc in {_who(taker)}) listens on {taker.address}:{port}, which covers "
            f"{shown}, and {against}: portproxy, not the relay, takes the connection.",
            rule=where,
            location="Get-NetTCPConnection",
            owner="windows",
        ), True
    return Hop(
        layer,
        "no-listener",
        f"{_who(taker)} listens on Windows {taker.address}:{port} and {against}: "
        f"{taker.process} answers {shown}:{port}, WSL never sees the connection.",
        rule=where,
        location="Get-NetTCPConnection",
        owner="windows",
        edit=f"Windows program {taker.process}",
        symptom=WRONG_PROGRAM,
        fixes=[_stop_fix(taker, port)],
    ), False


def service_listener(win: WindowsFacts | None, proto: str, port: int, address: str) -> Hop:
    """Does a Windows program (the service WSL wants) listen where WSL connects? A portproxy
    listener (svchost for iphlpsvc) is not that service: it forwards the connection elsewhere."""
    layer = "windows-listener"
    if proto != "tcp":
        return Hop(layer, "not-applicable", "wsltui reads Windows TCP listeners only.")
    if win is None:
        return _unknown(
            layer, f"A Windows program listening on {port}.", "no Windows data in this snapshot", LISTEN_CMD
        )
    if isinstance(win.listeners, Unknown):
        return _unknown(layer, f"A Windows program listening on {port}.", win.listeners)
    exact, wild, dual = _listeners_on(win, port, address)
    taker = (exact or wild or [None])[0]
    if taker is not None:
        where = f"{taker.address}:{port} {taker.process}"
        entries = _proxy_entries(win, taker)
        if isinstance(entries, str):
            return Hop(
                layer,
                "unknown",
                f"{_who(taker)} listens on {taker.address}:{port}.",
                rule=where,
                reason=f"unknown: {entries} (run: {PROXY_CMD})",
            )
        if entries:
            e = entries[0]
            return Hop(
                layer,
                "no-listener",
                f"portproxy (iphlpsvc in {_who(taker)}) listens on {taker.address}:{port} and "
                f"forwards to {e.connect_address}:{e.connect_port}: WSL reaches portproxy, not a Windows program of "
                "yours.",
                rule=e.text,
                location=r"HKLM\SYSTEM\CurrentControlSet\Services\PortProxy",
                owner="windows",
                edit=f"portproxy {e.kind} {e.listen_address}:{e.listen_port}",
                symptom=WRONG_PROGRAM,
                fixes=[
                    _delete_proxy_fix(e),
                    Fix(
                        "Or run the Windows service on a port portproxy does not use",
                        [],
                        [],
                        "windows",
                        needs_root=False,
                    ),
                ],
            )
        return Hop(layer, "allow", f"{_who(taker)} listens on {taker.address}:{port}.", rule=where, owner="windows")
    if dual:
        return Hop(
            layer,
            "unknown",
            f"{_who(dual[0])} listens on [::]:{port} only.",
            rule=f"[::]:{port} {dual[0].process}",
            reason=f"unknown: whether {dual[0].process} turned IPV6_V6ONLY off (Windows' default is on), so that it "
            f"also takes IPv4",
        )
    elsewhere = [l for l in win.listeners if l.port == port]
    if elsewhere:
        l = elsewhere[0]
        return Hop(
            layer,
            "no-listener",
            f"{_who(l)} listens on {l.address}:{port} only, which WSL cannot reach.",
            symptom=REFUSED,
            fixes=[Fix(f"Make the Windows service listen on 0.0.0.0:{port}", [], [], "windows", needs_root=False)],
        )
    return Hop(
        layer,
        "no-listener",
        f"Nothing listens on Windows port {port}.",
        symptom=REFUSED,
        fixes=[Fix(f"Start the Windows service on port {port}, bound to 0.0.0.0", [], [], "windows", needs_root=False)],
    )


# --- portproxy --------------------------------------------------------------------------------


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
                "no-listener",
                "netsh interface portproxy forwards TCP only: UDP from the LAN cannot reach WSL in NAT mode.",
                symptom=TIMEOUT,
                fixes=[Fix("Switch to networkingMode=mirrored (UDP works there)", [], [], "wsl", needs_root=False)],
            ),
            None,
            port,
        )
    if win is None:
        return (
            _unknown(
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
            _unknown(layer, "In NAT mode the LAN reaches WSL only through a portproxy entry.", win.portproxy),
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
                    "unknown",
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
                "no-listener",
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
            "no-listener",
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


def _entry_forwards(win: WindowsFacts, e, port: int, wsl_ip: str | None) -> tuple[Hop, str | None, int]:
    """Where the portproxy entry ``e`` forwards, as ``portproxy`` returns it (a stale entry blocks,
    with the address its fix points it at)."""
    layer = "portproxy"
    entry = e.text
    if "-" in e.listen_port:
        return (
            Hop(
                layer,
                "unknown",
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
                "allow",
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
                "unknown",
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
                "drop",
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
            "allow",
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
        if any(_same(a, wsl_ip) for a in seen):
            return Hop(
                layer,
                "allow",
                f"portproxy forwards {e.text} to the host name {name}; iphlpsvc's live connection "
                f"goes to {wsl_ip}, WSL's address: the name resolved to it.",
                rule=e.text,
                owner="windows",
            ), wsl_ip
        return Hop(
            layer,
            "drop",
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
        "unknown",
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
        "unknown",
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


def subnets(network, interfaces: tuple[str, ...] | None = None) -> tuple | None:
    """On-link prefixes of Linux interfaces (``None``: every interface but lo and loopback0), as
    address keywords need them; None when the addresses are not known. In NAT mode the WSL
    adapter's prefix is the vEthernet (WSL) subnet; in mirrored mode Linux's interfaces carry
    the Windows adapters' addresses (docs/wsl-networking.md §1.2, §1.3)."""
    ifaces = getattr(network, "interfaces", None)
    if ifaces is None or isinstance(ifaces, Unknown):
        return None
    nets = []
    for i in ifaces:
        if (interfaces is None and i.name in ("lo", "loopback0")) or (
            interfaces is not None and i.name not in interfaces
        ):
            continue
        for a in i.addresses:
            if a.prefix is not None and a.scope == "global":
                try:
                    nets.append(ipaddress.ip_network(f"{a.address}/{a.prefix}", strict=False))
                except ValueError:
                    continue
    return tuple(nets) if nets else None
