"""The Hyper-V firewall hop (the WSL VM creator's settings and rules).

First, whether it is on the path at all (``hyperv_presence``: mirrored always, NAT when WSL
attached it, bridged and consomme never); then the settings of the profile of the host adapter
crossed (NotConfigured falls back to the VM-level value, then to the default), rules by
RulePriority (lower first; block beats allow only within a priority), the host rules Windows
merged (ActiveStore's own set, else re-derived: port/address rules only when
AllowHostPolicyMerge), default actions; loopback traffic needs LoopbackEnabled. Host <-> VM
traffic in NAT with no rule deciding passes as an explicit assumption (the docs are open)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from wsltui.facts.base import Unknown
from wsltui.facts.windows import PROFILES, WSL_VM_CREATOR, FwRule, HyperV, HyperVSetting, WindowsFacts
from wsltui.facts.wsl import WslConfig
from wsltui.simulation import win_commands as wc
from wsltui.simulation.decided import windows_key
from wsltui.simulation.trace import TIMEOUT, Fix, Hop, WinAction
from wsltui.simulation.windows.addresses import lan_adapters, profile_for, profile_name
from wsltui.simulation.windows.rules import (
    disable_rule_fix,
    gpo_rule_fix,
    ignored_note,
    not_in_force,
    rule_matches,
    unsure_enforcement,
)
from wsltui.simulation.windows.shared import HV_CMD, WinPacket, unknown_hop
from wsltui.vocabulary import Verdict

T = TypeVar("T")

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
        return unknown_hop(
            layer, f"The Hyper-V firewall for the WSL VM ({what}).", "no Windows data in this snapshot", HV_CMD
        )
    presence = hyperv_presence(win, mode, wslconfig)
    if presence.state == "absent" and not presence.assumed:
        return Hop(layer, Verdict.NOT_APPLICABLE, f"No Hyper-V firewall on this path: {presence.why}.")
    return _with_presence(_hv_hop(win, pkt, what, host_to_vm), presence)


def _hv_hop(win: WindowsFacts, pkt: WinPacket, what: str, host_to_vm: bool) -> Hop:
    """The Hyper-V firewall as if it is on the path."""
    layer = "hyperv-firewall"
    hv = win.hyperv
    if isinstance(hv, Unknown):
        return unknown_hop(layer, f"The Hyper-V firewall for the WSL VM ({what}).", hv)
    if not hv.available:  # mirrored without the cmdlets
        return Hop(
            layer,
            Verdict.UNKNOWN,
            "Mirrored mode needs the Hyper-V firewall, but this Windows has no Hyper-V firewall cmdlets.",
            reason=f"unknown: {hv.why_unavailable} (run: {HV_CMD})",
        )
    if isinstance(hv.setting, Unknown) or hv.setting is None:
        return unknown_hop(
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
            Verdict.ASSUMED,
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
        verdict=Verdict.UNKNOWN,
        symptom=None,
        explanation=f"If the Hyper-V firewall is attached: {hop.explanation}",
        reason=f"unknown: {presence.text}",
    )


def _hv_value(hv: HyperV, profile: str | None, value: Callable[[HyperVSetting], T | None]) -> T | None:
    """A setting (``value`` reads it) for one profile: the profile's value, else the VM-level one
    (NotConfigured falls back), else None (Windows' default applies)."""
    mine = hv.profiles.get(profile) if profile else None
    own = value(mine) if mine is not None else None
    if own is not None or not isinstance(hv.setting, HyperVSetting):
        return own
    return value(hv.setting)


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
                p = profile_name(c.category)
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
        Verdict.UNKNOWN,
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
    merge = _hv_value(hv, profile, lambda s: s.host_merge) is not False and not host_off
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
            else (_hv_value(hv, profile, lambda s: s.allow_local) is False)
        )
        why = not_in_force(r, local_off, profile)
        if why:
            ignored.append((r, why))
        else:
            live.append(r)
    return live, ignored


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
            unsure = unsure_enforcement(r)
            return _Decision(r, assumptions + ([unsure] if unsure else []), allows_unsure)
        allows_unsure += [(r, m) for r, m in doubts if r.action == "allow"]
    return _Decision(None, assumptions, allows_unsure)


def _hv_eval(
    win: WindowsFacts, hv: HyperV, pkt: WinPacket, what: str, host_to_vm: bool, profile: str | None, how: str
) -> Hop:
    layer = "hyperv-firewall"
    loc = f"Hyper-V firewall, VMCreatorId {WSL_VM_CREATOR}" + (f", {profile} profile ({how})" if profile else "")
    enabled = _hv_value(hv, profile, lambda s: s.enabled)
    host_off = _host_profile_off(win, profile)
    if enabled is False:
        return Hop(
            layer,
            Verdict.ALLOW,
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
            Verdict.ALLOW,
            f"The host {profile} firewall profile is off and the Hyper-V firewall's Enabled is "
            "NotConfigured, so it follows the host: nothing is filtered.",
            location=loc,
            owner="hyperv-firewall",
            rule=f"{profile} profile: Enabled=False; Hyper-V Enabled=NotConfigured",
            decided_by=windows_key("hyperv", "accept", profile=profile, setting="Enabled=NotConfigured"),
        )
    loopback = _hv_value(hv, profile, lambda s: s.loopback)
    if (pkt.loopback or host_to_vm) and loopback is False:
        between = "over loopback" if pkt.loopback else "between the host and the VM"
        return Hop(
            layer,
            Verdict.DROP,
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
            verdict=Verdict.UNKNOWN,
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
    own = _hv_value(hv, profile, lambda s: s.allow_local)
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
    return disable_rule_fix(r)


def _merged_block_fix(win: WindowsFacts, r: FwRule) -> Fix:
    """A host block rule Windows merged into the Hyper-V firewall is changed on the host: the host
    rule with the same name, when the host rules list it, else by hand."""
    host = [] if isinstance(win.rules, Unknown) else win.rules
    same = next((h for h in host if h.id == r.id), None) or next((h for h in host if h.label == r.label), None)
    if same is not None or r.from_group_policy:
        return disable_rule_fix(same or r)
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
    r: FwRule | None
    if d.undecided:
        r, m = d.doubt_allows[0]
        return Hop(
            layer,
            Verdict.UNKNOWN,
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
            Verdict.DROP,
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
            Verdict.ASSUMED if assumption else Verdict.ALLOW,
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
            Verdict.ASSUMED if assumption else Verdict.ALLOW,
            f"The {_rule_kind(r)} allow rule '{r.label}' lets {what} through.",
            rule=r.label,
            location=loc,
            owner="hyperv-firewall",
            assumption=assumption,
            decided_by=windows_key("hyperv", "accept", r),
        )
    direction = "inbound" if pkt.direction == "in" else "outbound"
    default = _hv_value(hv, profile, lambda s: s.default_inbound if pkt.direction == "in" else s.default_outbound)
    if default is None:  # not configured: documented defaults are inbound Block, outbound Allow
        default = "block" if pkt.direction == "in" else "allow"
    if default == "allow":
        return Hop(
            layer,
            Verdict.ASSUMED if assumption else Verdict.ALLOW,
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
            Verdict.ASSUMED,
            f"No Hyper-V rule decides {what}, and LoopbackEnabled is True: the host-to-VM leg "
            "is taken to pass." + ignored_note(ignored, pkt, profile, win, "allow"),
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
            Verdict.UNKNOWN,
            f"Only the rule '{r.label}' could let {what} through the Hyper-V firewall, and "
            "wsltui cannot check one of its conditions.",
            reason=f"cannot evaluate: {m}",
            owner="hyperv-firewall",
            decided_by=windows_key("hyperv", "unknown", r),
        )
    fix = gpo_rule_fix(pkt, profile, hyperv=True) if _hv_local_rules_off(win, hv, profile) else _hv_allow_fix(pkt)
    return Hop(
        layer,
        Verdict.DROP,
        f"No Hyper-V firewall rule allows {what}, and the WSL VM's default {direction} action is "
        f"Block: the packet is dropped before it reaches Linux.{ignored_note(ignored, pkt, profile, win, 'allow')}",
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
