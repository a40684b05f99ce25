"""Windows hops: Windows Defender Firewall, the Hyper-V firewall, excluded port ranges,
portproxy and Windows listeners, each as a Hop with the deciding rule and the fix.

Pure: ``WindowsFacts`` in, ``Hop`` out. Semantics (docs/windows-firewall.md §4):

- host firewall: loopback is not filtered; profile off or interface excluded -> allow; any matching
  block rule beats any allow rule; shields-up ignores inbound allows; else the profile default.
  Program/service rules match only that program (portproxy = svchost.exe/iphlpsvc, the NAT relay =
  wslrelay.exe).
- Hyper-V firewall (WSL VM creator): enabled, its rules (block before allow), host rules merged
  when AllowHostPolicyMerge (port/address rules only, never program rules), default actions;
  loopback traffic needs LoopbackEnabled.

A condition wsltui cannot check (an address keyword such as LocalSubnet, an RPC port keyword, an
IPsec requirement) never decides silently: the hop says ``assumed`` and names the assumption, or
``unknown`` when the verdict hangs on it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from wsltui.facts.base import Unknown
from wsltui.facts.windows import (
    WSL_VM_CREATOR, ConnectionProfile, FwRule, ProfileSettings, WindowsFacts, _in_port_token,
)
from wsltui.simulation.trace import Fix, Hop

PS = "powershell.exe -NoProfile -NonInteractive -EncodedCommand <wsltui/probes/windows.ps1>"
FW_CMD = "powershell.exe Get-NetFirewallRule -PolicyStore ActiveStore; Get-NetFirewallProfile -PolicyStore ActiveStore"
HV_CMD = f"powershell.exe Get-NetFirewallHyperVVMSetting -PolicyStore ActiveStore -Name '{WSL_VM_CREATOR}'"
EXCL_CMD = "netsh.exe int ipv4 show excludedportrange protocol=tcp"
PROXY_CMD = "netsh.exe interface portproxy show all"
LISTEN_CMD = "powershell.exe Get-NetTCPConnection -State Listen"
SVCHOST = r"%SystemRoot%\System32\svchost.exe"
WSLRELAY = "wslrelay.exe"
PROTO_NUM = {"tcp": 6, "udp": 17}
_ENV = {"%systemroot%": r"c:\windows", "%windir%": r"c:\windows", "%systemdrive%": "c:",
        "%programfiles%": r"c:\program files", "%programfiles(x86)%": r"c:\program files (x86)"}


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

    @property
    def port(self) -> int | None:
        """The service's port: local for inbound, remote for outbound."""
        return self.local_port if self.direction == "in" else self.remote_port


def _unknown(layer: str, what: str, why: Unknown | str, command: str = "") -> Hop:
    if isinstance(why, Unknown):
        return Hop(layer, "unknown", what, reason=str(why))
    return Hop(layer, "unknown", what, reason=f"unknown: {why}" + (f" (run: {command})" if command else ""))


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
    for rp in rule_programs:
        r = _norm_program(rp)
        if r == "system":
            if mine == "system":
                return True
            continue
        if r == mine or ("\\" not in mine and r.rsplit("\\", 1)[-1] == mine):
            return True
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


def _addr_matches(tokens: list[str], addr: str | None) -> bool | str:
    if not tokens:
        return True
    if addr is None:
        return f"address condition {','.join(tokens)}"
    try:
        a = ipaddress.ip_address(addr)
    except ValueError:
        return f"address {addr}"
    keywords = []
    for t in tokens:
        t = t.strip()
        try:
            if "-" in t and "/" not in t:
                lo, hi = (ipaddress.ip_address(x.strip()) for x in t.split("-", 1))
                if lo.version == a.version and lo <= a <= hi:
                    return True
                continue
            net = ipaddress.ip_network(t, strict=False)
            if net.version == a.version and a in net:
                return True
        except ValueError:
            keywords.append(t)
    return f"address keyword {','.join(keywords)} does not cover {addr}" if keywords else False


def _iface_matches(rule: FwRule, pkt: WinPacket) -> bool | str:
    if not rule.interfaces:
        return True
    if pkt.interface is None:
        return f"the interface is not {', '.join(rule.interfaces)}"
    for i in rule.interfaces:
        pat = re.escape(i).replace(r"\*", ".*")
        if re.fullmatch(pat, pkt.interface, re.I):
            return True
    if all(i.startswith("{") for i in rule.interfaces):
        return f"interface GUID {','.join(rule.interfaces)} is not {pkt.interface}"
    return False


def rule_matches(rule: FwRule, pkt: WinPacket, profile: str | None) -> bool | str:
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
        _addr_matches(rule.remote_addresses, pkt.remote_address),
        _addr_matches(rule.local_addresses, pkt.local_address),
        _program_matches(rule.programs, pkt),
        _iface_matches(rule, pkt),
    ]
    if rule.services:
        svc = [s for s in rule.services if s != "*"]
        if svc:
            checks.append(True if pkt.service and pkt.service.lower() in (s.lower() for s in svc)
                          else False if pkt.program is not None else f"the service is not {','.join(svc)}")
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
        return _unknown(layer, f"Windows Defender Firewall ({what}): which profile {pkt.interface or 'the adapter'} has "
                        "is not known.", win.connections if isinstance(win.connections, Unknown) else how, PS)
    settings = win.profiles.get(profile) or ProfileSettings(profile)
    where = f"{profile} profile ({how})"
    if not settings.enabled:
        return Hop(layer, "allow", f"The {profile} firewall profile is off, so nothing is filtered on {pkt.interface}.",
                   location=where, owner="windows-firewall", rule=f"{profile} profile: Enabled=False")
    if pkt.interface and any(pkt.interface.lower() == d.lower() for d in settings.disabled_interfaces):
        return Hop(layer, "allow", f"{pkt.interface} is excluded from the {profile} profile (DisabledInterfaceAliases): "
                   "the firewall is off there.", location=where, owner="windows-firewall")
    if isinstance(win.rules, Unknown):
        return _unknown(layer, f"Windows Defender Firewall ({what}): the rules are not known.", win.rules)
    blocks, allows, doubts_block, doubts_allow = [], [], [], []
    for r in win.rules:
        m = rule_matches(r, pkt, profile)
        if m is True:
            (blocks if r.action == "block" else allows).append(r)
        elif isinstance(m, str):
            (doubts_block if r.action == "block" else doubts_allow).append((r, m))
    direction = "inbound" if pkt.direction == "in" else "outbound"
    packet = f"{pkt.proto} {direction} port {pkt.port} on {pkt.interface or '?'} ({profile})"
    assumption = "; ".join(f"{m} (so it does not apply)" for _, m in doubts_block) or None
    if blocks:
        r = blocks[0]
        hop = Hop(layer, "drop", f"The {direction} block rule '{r.label}' matches {what}; a block rule beats any "
                  f"allow rule, so Windows drops it.", packet=packet, rule=r.raw or r.label,
                  location=f"{win.rules_source}, {where}, rule {r.id}", owner="windows-firewall", edit=f"Windows rule '{r.label}'",
                  symptom="timeout", fixes=[_disable_rule_fix(r)])
        for other in blocks[1:]:
            hop.behind.append(Hop(layer, "drop", f"The block rule '{other.label}' matches too.", rule=other.raw or other.label,
                                  owner="windows-firewall", edit=f"Windows rule '{other.label}'", symptom="timeout",
                                  fixes=[_disable_rule_fix(other)]))
        return hop
    if pkt.direction == "in" and settings.shielded:
        return Hop(layer, "drop", f"The {profile} profile blocks all incoming connections (shields up), so allow rules "
                   f"are ignored and {what} is dropped.", packet=packet, rule=f"{profile} profile: DoNotAllowExceptions / "
                   "AllowInboundRules=False", location=where, owner="windows-firewall", edit=f"{profile} firewall profile",
                   symptom="timeout", assumption=assumption,
                   fixes=[Fix(f"Let inbound allow rules apply on the {profile} profile",
                              [f"Set-NetFirewallProfile -Profile {profile} -AllowInboundRules True"],
                              [f"Set-NetFirewallProfile -Profile {profile} -AllowInboundRules False"], "windows",
                              note="run in an elevated PowerShell")])
    if allows:
        r = allows[0]
        return Hop(layer, "assumed" if assumption else "allow", f"The {direction} allow rule '{r.label}' lets {what} through.",
                   packet=packet, rule=r.raw or r.label, location=f"{win.rules_source}, {where}, rule {r.id}",
                   owner="windows-firewall", edit=f"Windows rule '{r.label}'", assumption=assumption)
    default = settings.default_inbound if pkt.direction == "in" else settings.default_outbound
    if doubts_allow and default == "block":
        r, m = doubts_allow[0]
        return Hop(layer, "unknown", f"Only the allow rule '{r.label}' could let {what} through, and wsltui cannot "
                   f"check one of its conditions.", packet=packet, rule=r.raw or r.label, owner="windows-firewall",
                   reason=f"cannot evaluate: {m}")
    if default == "allow":
        return Hop(layer, "assumed" if assumption else "allow", f"No rule matches; the {profile} profile's default "
                   f"{direction} action is Allow.", packet=packet, rule=f"{profile} profile: Default{direction.capitalize()}Action=Allow",
                   location=where, owner="windows-firewall", assumption=assumption)
    fixes = []
    if pkt.direction == "in":
        fixes.append(_allow_rule_fix(pkt, profile))
    else:
        fixes.append(Fix(f"Allow outbound {pkt.proto.upper()} {pkt.port}",
                         [f"New-NetFirewallRule -Name 'wsltui-out-{pkt.proto}-{pkt.port}' -DisplayName "
                          f"'wsltui: allow {pkt.proto.upper()} {pkt.port} out' -Direction Outbound -Action Allow "
                          f"-Protocol {pkt.proto.upper()} -RemotePort {pkt.port} -Profile {profile}"],
                         [f"Remove-NetFirewallRule -Name 'wsltui-out-{pkt.proto}-{pkt.port}'"], "windows"))
    return Hop(layer, "drop", f"No Windows Defender Firewall rule allows {what} on the {profile} profile, whose default "
               f"{direction} action is Block.", packet=packet, rule=f"{profile} profile: Default{direction.capitalize()}Action=Block",
               location=where, owner="windows-firewall", edit=f"{profile} firewall profile", symptom="timeout",
               assumption=assumption, fixes=fixes)


def _allow_rule_fix(pkt: WinPacket, profile: str) -> Fix:
    name = f"wsltui-in-{pkt.proto}-{pkt.local_port}"
    iface = f" -InterfaceAlias '{pkt.interface}'" if pkt.interface and pkt.interface.lower().startswith("vethernet") else ""
    return Fix(f"Allow inbound {pkt.proto.upper()} {pkt.local_port} on the {profile} profile",
               [f"New-NetFirewallRule -Name '{name}' -DisplayName 'wsltui: allow {pkt.proto.upper()} {pkt.local_port}' "
                f"-Direction Inbound -Action Allow -Protocol {pkt.proto.upper()} -LocalPort {pkt.local_port} -Profile {profile}{iface}"],
               [f"Remove-NetFirewallRule -Name '{name}'"], "windows",
               note="run in an elevated PowerShell (wsltui asks for UAC, or copies the command)")


def _disable_rule_fix(rule: FwRule) -> Fix:
    rid = rule.id.replace("'", "''")
    if rule.source == "gpo" or "group policy" in rule.store.lower() or "gpo" in rule.store.lower():
        return Fix(f"Ask your administrator to remove the Group Policy block rule '{rule.label}'", [], [], "windows",
                   needs_root=False, note="Group Policy rules cannot be changed locally; they come back on the next refresh")
    return Fix(f"Disable the block rule '{rule.label}'", [f"Disable-NetFirewallRule -Name '{rid}'"],
               [f"Enable-NetFirewallRule -Name '{rid}'"], "windows",
               note="Windows creates such block rules when someone answers 'Cancel' to the firewall prompt")


# --- Hyper-V firewall -------------------------------------------------------------------------


def hyperv(win: WindowsFacts | None, pkt: WinPacket, *, what: str, mode: str, host_to_vm: bool = False) -> Hop:
    layer = "hyperv-firewall"
    if win is None:
        return _unknown(layer, f"The Hyper-V firewall for the WSL VM ({what}).", "no Windows data in this snapshot", HV_CMD)
    hv = win.hyperv
    if isinstance(hv, Unknown):
        return _unknown(layer, f"The Hyper-V firewall for the WSL VM ({what}).", hv)
    if not hv.available:
        if mode == "mirrored":
            return Hop(layer, "unknown", "Mirrored mode needs the Hyper-V firewall, but this Windows has no Hyper-V firewall "
                       "cmdlets.", reason=f"unknown: {hv.why_unavailable} (run: {HV_CMD})")
        return Hop(layer, "not-applicable", f"This Windows has no Hyper-V firewall ({hv.why_unavailable}).")
    s = hv.setting
    if isinstance(s, Unknown) or s is None:
        return _unknown(layer, f"The Hyper-V firewall for the WSL VM ({what}): its settings could not be read.",
                        s if isinstance(s, Unknown) else "no VM setting", HV_CMD)
    loc = f"Hyper-V firewall, VMCreatorId {WSL_VM_CREATOR}"
    if s.enabled is False:
        return Hop(layer, "allow", "The Hyper-V firewall is off for the WSL VM.", location=loc, owner="hyperv-firewall",
                   rule="Enabled=False")
    if pkt.loopback:
        if s.loopback is False:
            return Hop(layer, "drop", "The Hyper-V firewall's LoopbackEnabled is False: Windows cannot reach WSL over "
                       "loopback.", rule="LoopbackEnabled=False", location=loc, owner="hyperv-firewall",
                       edit="Hyper-V firewall VM setting", symptom="timeout",
                       fixes=[Fix("Allow loopback between Windows and WSL",
                                  [f"Set-NetFirewallHyperVVMSetting -Name '{WSL_VM_CREATOR}' -LoopbackEnabled True"],
                                  [f"Set-NetFirewallHyperVVMSetting -Name '{WSL_VM_CREATOR}' -LoopbackEnabled False"], "windows")])
    # Rules: its own, plus the host's port/address rules when AllowHostPolicyMerge (not program rules).
    rules: list[FwRule] = [] if isinstance(hv.rules, Unknown) else list(hv.rules)
    merged = s.host_merge is not False and not isinstance(win.rules, Unknown)
    if merged:
        rules += [r for r in win.rules if not r.program_scoped and not r.interfaces]  # type: ignore[union-attr]
    blocks, allows, doubts = [], [], []
    for r in sorted(rules, key=lambda r: (r.priority if r.priority is not None else (1 if r.action == "block" else 2))):
        m = rule_matches(r, pkt, None)
        if m is True:
            (blocks if r.action == "block" else allows).append(r)
        elif isinstance(m, str):
            doubts.append((r, m))
    if blocks:
        r = blocks[0]
        fix = (Fix(f"Remove the Hyper-V block rule '{r.label}'", [f"Disable-NetFirewallHyperVRule -Name '{r.id}'"],
                   [f"Enable-NetFirewallHyperVRule -Name '{r.id}'"], "windows") if r.source == "hyperv"
               else _disable_rule_fix(r))
        return Hop(layer, "drop", f"The {'Hyper-V' if r.source == 'hyperv' else 'merged host'} block rule '{r.label}' "
                   f"drops {what}.", rule=r.label, location=loc, owner="hyperv-firewall", edit=f"Hyper-V rule '{r.label}'",
                   symptom="timeout", fixes=[fix])
    if pkt.loopback:
        return Hop(layer, "allow", "LoopbackEnabled=True lets Windows reach WSL over loopback.", rule="LoopbackEnabled=True",
                   location=loc, owner="hyperv-firewall")
    if allows:
        r = allows[0]
        return Hop(layer, "allow", f"The {'Hyper-V' if r.source == 'hyperv' else 'merged host'} allow rule '{r.label}' "
                   f"lets {what} through.", rule=r.label, location=loc, owner="hyperv-firewall")
    default = s.default_inbound if pkt.direction == "in" else s.default_outbound
    if default is None:  # not configured: documented defaults are inbound Block, outbound Allow
        default = "block" if pkt.direction == "in" else "allow"
    if default == "allow":
        return Hop(layer, "allow", f"No Hyper-V rule matches; the default {pkt.direction}bound action is Allow.",
                   rule=f"Default{'In' if pkt.direction == 'in' else 'Out'}boundAction=Allow", location=loc, owner="hyperv-firewall")
    if doubts:
        r, m = doubts[0]
        return Hop(layer, "unknown", f"Only the rule '{r.label}' could let {what} through the Hyper-V firewall, and "
                   "wsltui cannot check one of its conditions.", reason=f"cannot evaluate: {m}", owner="hyperv-firewall")
    if host_to_vm:
        return Hop(layer, "unknown", "Whether the Hyper-V firewall's default inbound Block applies to Windows-to-VM "
                   "traffic in NAT mode is not documented (LoopbackEnabled may cover it).",
                   reason=f"unknown: undocumented behaviour; no Hyper-V rule allows port {pkt.port} (run: {HV_CMD})",
                   fixes=[_hv_allow_fix(pkt)])
    direction = "inbound" if pkt.direction == "in" else "outbound"
    return Hop(layer, "drop", f"No Hyper-V firewall rule allows {what}, and the WSL VM's default {direction} action is "
               "Block: the packet is dropped before it reaches Linux.",
               rule=f"Default{direction.capitalize()}Action=Block", location=loc, owner="hyperv-firewall",
               edit="Hyper-V firewall VM setting", symptom="timeout", fixes=[_hv_allow_fix(pkt)])


def _hv_allow_fix(pkt: WinPacket) -> Fix:
    name = f"wsltui-hv-{pkt.proto}-{pkt.port}"
    d = "Inbound" if pkt.direction == "in" else "Outbound"
    port = "-LocalPorts" if pkt.direction == "in" else "-RemotePorts"
    return Fix(f"Allow {pkt.proto.upper()} {pkt.port} through the Hyper-V firewall for WSL",
               [f"New-NetFirewallHyperVRule -Name '{name}' -DisplayName 'wsltui: allow {pkt.proto.upper()} {pkt.port}' "
                f"-Direction {d} -VMCreatorId '{WSL_VM_CREATOR}' -Protocol {pkt.proto.upper()} {port} {pkt.port} -Action Allow"],
               [f"Remove-NetFirewallHyperVRule -Name '{name}'"], "windows", note="run in an elevated PowerShell")


# --- excluded port ranges ---------------------------------------------------------------------


def excluded(win: WindowsFacts | None, proto: str, port: int, v6: bool, *, who: str) -> Hop:
    """Can ``who`` (the relay, portproxy) bind TCP ``port`` on Windows?"""
    layer = "excluded-ports"
    if proto != "tcp":
        return Hop(layer, "not-applicable", f"wsltui reads the TCP excluded ranges only; {who} does not carry {proto.upper()}.")
    cmd = EXCL_CMD.replace("ipv4", "ipv6") if v6 else EXCL_CMD
    if win is None:
        return _unknown(layer, f"If port {port} is in a Windows excluded port range, {who} cannot bind it (silently).",
                        "no Windows data in this snapshot", cmd)
    table = win.excluded6 if v6 else win.excluded4
    if isinstance(table, Unknown):
        return _unknown(layer, f"If port {port} is in a Windows excluded port range, {who} cannot bind it (silently).", table)
    r = table.containing(port)
    if r is None:
        return Hop(layer, "allow", f"Port {port} is outside every Windows excluded port range.", owner="windows")
    fam = "ipv6" if v6 else "ipv4"
    n = r.end - r.start + 1
    fixes = [Fix(f"Choose a port outside the excluded ranges (this one is {r.start}-{r.end})", [], [], "socket", needs_root=False,
                 note="netsh int ipv4 show excludedportrange protocol=tcp lists them")]
    if r.administered:
        fixes.append(Fix(f"Delete the administered exclusion {r.start}-{r.end}",
                         [f"netsh int {fam} delete excludedportrange protocol=tcp startport={r.start} numberofports={n}"],
                         [f"netsh int {fam} add excludedportrange protocol=tcp startport={r.start} numberofports={n} store=persistent"],
                         "windows", note="run in an elevated prompt"))
    else:
        fixes.append(Fix("Let Windows re-pick its dynamic reservations (Hyper-V/WinNAT)", ["net stop winnat", "net start winnat"],
                         [], "windows", note="elevated; the new ranges are random, so the port may be reserved again"))
    return Hop(layer, "no-listener", f"Port {port} is in the Windows excluded port range {r.start}-{r.end}"
               f"{' (administered)' if r.administered else ' (reserved by Hyper-V/WinNAT)'}: {who} cannot bind it, "
               "and nothing tells you.", rule=f"{r.start} {r.end}{' *' if r.administered else ''}",
               location=f"netsh int {fam} show excludedportrange protocol=tcp", owner="windows", symptom="refused", fixes=fixes)


# --- Windows listeners ------------------------------------------------------------------------


def listener(win: WindowsFacts | None, proto: str, port: int, addresses: tuple[str, ...], *, relay: bool) -> Hop:
    """A Windows process already listening on ``port`` at one of ``addresses`` (or a wildcard).
    With ``relay`` the listener shadows WSL's relay; otherwise it is the service WSL wants."""
    layer = "windows-listener"
    if proto != "tcp":
        return Hop(layer, "not-applicable", "wsltui reads Windows TCP listeners only.")
    if win is None:
        return _unknown(layer, f"A Windows program listening on {port}.", "no Windows data in this snapshot", LISTEN_CMD)
    if isinstance(win.listeners, Unknown):
        return _unknown(layer, f"A Windows program listening on {port}.", win.listeners)
    wild = ("0.0.0.0", "::")
    on = [l for l in win.listeners if l.port == port and (l.address in addresses or l.address in wild)]
    who = lambda l: f"{l.process or 'an unknown process'} (pid {l.pid})"  # noqa: E731
    if relay:
        others = [l for l in on if (l.process or "").lower().removesuffix(".exe") != "wslrelay"]
        if not others:
            return Hop(layer, "allow", f"No other Windows program listens on port {port}.", owner="windows")
        l = others[0]
        return Hop(layer, "reject", f"{who(l)} already listens on Windows {l.address}:{port}, so it answers instead "
                   "of WSL (or the relay cannot bind).", rule=f"{l.address}:{port} {l.process}", location="Get-NetTCPConnection",
                   owner="windows", edit=f"Windows program {l.process}", symptom="another program answers",
                   fixes=[Fix(f"Stop {who(l)} or move it to another port", [f"Stop-Process -Id {l.pid}"], [], "windows",
                              note="or run the WSL service on a different port")])
    if on:
        l = on[0]
        return Hop(layer, "allow", f"{who(l)} listens on {l.address}:{port}.", rule=f"{l.address}:{port} {l.process}",
                   owner="windows")
    loop = [l for l in win.listeners if l.port == port]
    if loop:
        l = loop[0]
        return Hop(layer, "no-listener", f"{who(l)} listens on {l.address}:{port} only, which WSL cannot reach.",
                   symptom="refused", fixes=[Fix(f"Make the Windows service listen on 0.0.0.0:{port}", [], [], "windows",
                                                 needs_root=False)])
    return Hop(layer, "no-listener", f"Nothing listens on Windows port {port}.", symptom="refused",
               fixes=[Fix(f"Start the Windows service on port {port}, bound to 0.0.0.0", [], [], "windows", needs_root=False)])


# --- portproxy --------------------------------------------------------------------------------


def portproxy(win: WindowsFacts | None, port: int, wsl_ip: str | None, proto: str = "tcp") -> tuple[Hop, str | None, int]:
    """The portproxy entry for ``port`` and whether it reaches WSL: (hop, connect address, connect port)."""
    layer = "portproxy"
    add = (f"netsh interface portproxy add v4tov4 listenport={port} listenaddress=0.0.0.0 connectport={port} "
           f"connectaddress={wsl_ip or '<WSL IP>'}")
    delete = f"netsh interface portproxy delete v4tov4 listenport={port} listenaddress=0.0.0.0"
    if proto != "tcp":
        return Hop(layer, "no-listener", "netsh interface portproxy forwards TCP only: UDP from the LAN cannot reach WSL "
                   "in NAT mode.", symptom="timeout",
                   fixes=[Fix("Switch to networkingMode=mirrored (UDP works there)", [], [], "wsl", needs_root=False)]), None, port
    if win is None:
        return _unknown(layer, "In NAT mode the LAN reaches WSL only through `netsh interface portproxy` to the WSL IP.",
                        "no Windows data in this snapshot", PROXY_CMD), None, port
    if isinstance(win.portproxy, Unknown):
        return _unknown(layer, "In NAT mode the LAN reaches WSL only through a portproxy entry.", win.portproxy), None, port
    entries = [e for e in win.portproxy.entries if e.listens_on(port) and e.kind.startswith("v4")]
    if not entries:
        return Hop(layer, "no-listener", f"No portproxy entry listens on port {port}: in NAT mode nothing on Windows "
                   "forwards LAN traffic to WSL.", symptom="refused",
                   fixes=[Fix(f"Forward port {port} to WSL with portproxy", [add], [delete], "windows",
                              note="elevated; the WSL IP can change when WSL restarts")]), None, port
    e = entries[0]
    entry = f"{e.kind} {e.listen_address}:{e.listen_port} -> {e.connect_address}:{e.connect_port}"
    if not isinstance(win.iphlpsvc, Unknown) and not win.iphlpsvc.running:
        cmds = (["Set-Service iphlpsvc -StartupType Automatic"] if win.iphlpsvc.start_type == "disabled" else []) + ["Start-Service iphlpsvc"]
        undo = ["Stop-Service iphlpsvc"] + (["Set-Service iphlpsvc -StartupType Disabled"] if win.iphlpsvc.start_type == "disabled" else [])
        return Hop(layer, "no-listener", f"The IP Helper service (iphlpsvc), which runs portproxy, is {win.iphlpsvc.status}: "
                   f"the entry {entry} does nothing.", rule=entry, owner="windows", symptom="refused",
                   fixes=[Fix("Start the IP Helper service", cmds, undo, "windows")]), None, port
    if "-" in e.listen_port:
        return Hop(layer, "unknown", f"The entry {entry} uses a port range, which netsh accepts but which did not work "
                   "in reports.", rule=entry, reason="unknown: portproxy port ranges (microsoft/WSL#8963)"), None, port
    target = e.connect_address
    cport = int(e.connect_port) if e.connect_port.isdigit() else port
    loopbacks = ("127.0.0.1", "localhost", "::1")
    if target not in loopbacks:
        if wsl_ip is None:
            return Hop(layer, "unknown", f"portproxy forwards {entry}, but the WSL IP is not known.", rule=entry,
                       reason="unknown: the WSL address (run: ip -j addr show)"), target, cport
        if target != wsl_ip:
            fix_add = (f"netsh interface portproxy add {e.kind} listenport={e.listen_port} listenaddress={e.listen_address} "
                       f"connectport={e.connect_port} connectaddress={wsl_ip}")
            old_add = fix_add.replace(f"connectaddress={wsl_ip}", f"connectaddress={e.connect_address}")
            rm = f"netsh interface portproxy delete {e.kind} listenport={e.listen_port} listenaddress={e.listen_address}"
            return Hop(layer, "drop", f"portproxy forwards to {e.connect_address}, but WSL's address is now {wsl_ip}: the "
                       "entry is stale (WSL got a new IP after a restart), so connections time out.", rule=entry,
                       location=r"HKLM\SYSTEM\CurrentControlSet\Services\PortProxy", owner="windows",
                       edit=f"portproxy {e.kind} {e.listen_address}:{e.listen_port}", symptom="timeout",
                       fixes=[Fix(f"Point the portproxy entry at {wsl_ip}", [rm, fix_add], [rm, old_add], "windows",
                                  note="elevated; re-run after each WSL restart, or forward to 127.0.0.1 instead")]), target, cport
    return Hop(layer, "allow", f"portproxy (iphlpsvc) listens on {e.listen_address}:{port} and forwards to "
               f"{e.connect_address}:{e.connect_port}.", rule=entry, owner="windows"), target, cport
