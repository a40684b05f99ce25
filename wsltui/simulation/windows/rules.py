"""A Windows firewall rule against a packet: whether it matches (True, False, or the assumption
under which it would not), whether it is in force, and the fixes that change the rule itself.

Interfaces named by GUID (the registry's ``IF=`` and ``DisabledInterfaces``) are mapped to
adapters through Get-NetAdapter; ``IFType`` is checked against the adapter's ifType. Address
keywords: ``LocalSubnet`` is decided where the facts give the on-link prefixes (the WSL NAT subnet
on vEthernet (WSL), the mirrored interfaces in mirrored mode), a ``4``/``6`` suffix against the
address family; DNS, DHCP, WINS, DefaultGateway, Internet, Intranet, IntranetRemoteAccess,
PlayToDevice and CaptivePortal need Windows settings the facts lack. Program/service rules match
only that program (portproxy = svchost.exe/iphlpsvc, the NAT relay = wslrelay.exe or wslhost.exe)."""

from __future__ import annotations

import ipaddress

from wsltui.facts.windows import FwRule, WindowsFacts, _in_port_token, address_keyword
from wsltui.simulation import win_commands as wc
from wsltui.simulation.packet import Address
from wsltui.simulation.trace import Fix, WinAction
from wsltui.simulation.windows.addresses import adapter_for, names_interface
from wsltui.simulation.windows.shared import IPCONFIG_CMD, PROTO_NUM, WinPacket, norm_program

_IF_TYPES = {"lan": 6, "wired": 6, "wireless": 71}  # firewall interface types -> IANA ifType


def _program_matches(rule_programs: list[str], pkt: WinPacket) -> bool | str:
    if not rule_programs:
        return True
    if pkt.program is None:
        return f"the program is not {', '.join(rule_programs)}"
    mine = norm_program(pkt.program)
    same_name = []
    for rp in rule_programs:
        r = norm_program(rp)
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


def _literal_matches(token: str, a: Address) -> bool | str:
    """An address, an ``a-b`` range or a subnet (``a/len`` or ``a/mask``)."""
    try:
        if "-" in token and "/" not in token:
            lo, hi = (ipaddress.ip_address(x.strip()) for x in token.split("-", 1))
            return lo.version == a.version == hi.version and int(lo) <= int(a) <= int(hi)
        net = ipaddress.ip_network(token, strict=False)
        return net.version == a.version and a in net
    except ValueError:
        return f"address {token!r} not understood"


def _keyword_matches(keyword: str, family: int | None, a: Address, pkt: WinPacket) -> bool | str:
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


def _iface_type_matches(rule: FwRule, pkt: WinPacket, win: WindowsFacts | None) -> bool | str:
    """IFType (registry Lan/Wireless/RemoteAccess, PowerShell Wired/Wireless/RemoteAccess) against
    the adapter's IANA ifType: 6 is Ethernet (wired), 71 is IEEE 802.11; neither is remote access."""
    if not rule.interface_types:
        return True
    wanted = ",".join(rule.interface_types)
    mine = adapter_for(win, pkt.interface) if pkt.interface else "the interface is not known"
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


def gpo_rule_fix(pkt: WinPacket, profile: str | None, *, hyperv: bool = False) -> Fix:
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


def disable_rule_fix(rule: FwRule) -> Fix:
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


def not_in_force(r: FwRule, local_off: bool, profile: str | None) -> str | None:
    """Why a listed rule never allows or blocks anything, or None."""
    if r.enforced == "not-enforced":
        return f"its EnforcementStatus is {r.enforcement}"
    if local_off and r.is_local:
        return (
            f"Group Policy does not apply local rules on the {profile or 'active'} profile "
            "(AllowLocalFirewallRules=False / AllowLocalPolicyMerge=0)"
        )
    return None


def unsure_enforcement(r: FwRule) -> str | None:
    if r.enforced == "unclear":
        return f"rule '{r.label}' is in force (its EnforcementStatus {r.enforcement!r} is not one wsltui knows)"
    return None


def ignored_note(
    ignored: list[tuple[FwRule, str]], pkt: WinPacket, profile: str | None, win: WindowsFacts, action: str
) -> str:
    """A sentence about rules that would decide the packet but are not in force."""
    hits = [(r, why) for r, why in ignored if r.action == action and rule_matches(r, pkt, profile, win) is not False]
    if not hits:
        return ""
    r, why = hits[0]
    return f" The {action} rule '{r.label}' matches but is not in force: {why}."
