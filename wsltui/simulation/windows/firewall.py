"""The Windows Defender Firewall hop.

Loopback is not filtered; profile off or interface excluded -> allow; any matching block rule
beats any allow rule; shields-up ignores inbound allows; else the profile default. A rule whose
EnforcementStatus says it is not in force, and a local rule on a profile where Group Policy does
not apply local rules, never allows or blocks (the fix is then a Group Policy rule from the
administrator)."""

from __future__ import annotations

from wsltui.facts.base import Unknown
from wsltui.facts.windows import FwRule, ProfileSettings, WindowsFacts
from wsltui.simulation import win_commands as wc
from wsltui.simulation.decided import windows_key
from wsltui.simulation.trace import TIMEOUT, Fix, Hop, WinAction
from wsltui.simulation.windows.addresses import names_interface, profile_for
from wsltui.simulation.windows.rules import (
    disable_rule_fix,
    gpo_rule_fix,
    ignored_note,
    not_in_force,
    rule_matches,
    unsure_enforcement,
)
from wsltui.simulation.windows.shared import FW_CMD, PS, WinPacket, unknown_hop
from wsltui.vocabulary import Verdict


def firewall(win: WindowsFacts | None, pkt: WinPacket, *, what: str) -> Hop:
    """Windows Defender Firewall for ``pkt`` on ``pkt.interface``. ``what`` names the traffic."""
    layer = "windows-firewall"
    if pkt.loopback:
        return Hop(layer, Verdict.NOT_APPLICABLE, "Windows Defender Firewall does not filter loopback traffic.")
    if win is None:
        return unknown_hop(layer, f"Windows Defender Firewall ({what}).", "no Windows data in this snapshot", FW_CMD)
    if isinstance(win.profiles, Unknown):
        return unknown_hop(
            layer, f"Windows Defender Firewall ({what}): the profile settings are not known.", win.profiles
        )
    profile, how = profile_for(win, pkt.interface)
    if profile is None:
        return unknown_hop(
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
            Verdict.ALLOW,
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
            Verdict.ALLOW,
            f"{pkt.interface} is excluded from the {profile} profile (DisabledInterfaceAliases): "
            "the firewall is off there.",
            location=where,
            owner="windows-firewall",
            decided_by=windows_key("windows", "accept", profile=profile, setting="DisabledInterfaceAliases"),
        )
    if isinstance(off_here, str):
        return Hop(
            layer,
            Verdict.UNKNOWN,
            f"The {profile} profile turns the firewall off on some interfaces "
            f"({', '.join(settings.disabled_interfaces)}), and wsltui cannot tell whether {pkt.interface} is one.",
            location=where,
            owner="windows-firewall",
            reason=f"cannot evaluate: {off_here}",
        )
    if isinstance(win.rules, Unknown):
        return unknown_hop(layer, f"Windows Defender Firewall ({what}): the rules are not known.", win.rules)
    blocks: list[FwRule] = []
    allows: list[FwRule] = []
    doubts_block: list[tuple[FwRule, str]] = []
    doubts_allow: list[tuple[FwRule, str]] = []
    ignored: list[tuple[FwRule, str]] = []
    local_off = settings.allow_local_rules is False
    for r in win.rules:
        m = rule_matches(r, pkt, profile, win)
        why_not = not_in_force(r, local_off, profile) if m is not False else None
        if why_not:
            ignored.append((r, why_not))  # listed, matching, but never allows or blocks
        elif m is True:
            (blocks if r.action == "block" else allows).append(r)
        elif isinstance(m, str):
            (doubts_block if r.action == "block" else doubts_allow).append((r, m))
    direction = "inbound" if pkt.direction == "in" else "outbound"
    packet = f"{pkt.proto} {direction} port {pkt.port} on {pkt.interface or '?'} ({profile})"
    decider = next(iter(blocks or allows), None)
    unsure = unsure_enforcement(decider) if decider is not None else None
    assumption = (
        "; ".join(
            [f"{m} (so it does not apply)" for _, m in doubts_block] + [x for x in (unsure, win.rules_assumption) if x]
        )
        or None
    )
    ignored_allow = ignored_note(ignored, pkt, profile, win, "allow")
    if blocks:
        r = blocks[0]
        hop = Hop(
            layer,
            Verdict.DROP,
            f"The {direction} block rule '{r.label}' matches {what}; a block rule beats any "
            f"allow rule, so Windows drops it.",
            packet=packet,
            rule=r.raw or r.label,
            location=f"{win.rules_source}, {where}, rule {r.id}",
            owner="windows-firewall",
            edit=f"Windows rule '{r.label}'",
            symptom=TIMEOUT,
            fixes=[disable_rule_fix(r)],
            decided_by=windows_key("windows", "drop", r),
        )
        for other in blocks[1:]:
            hop.behind.append(
                Hop(
                    layer,
                    Verdict.DROP,
                    f"The block rule '{other.label}' matches too.",
                    rule=other.raw or other.label,
                    owner="windows-firewall",
                    edit=f"Windows rule '{other.label}'",
                    symptom=TIMEOUT,
                    fixes=[disable_rule_fix(other)],
                )
            )
        return hop
    if pkt.direction == "in" and settings.shielded:
        return Hop(
            layer,
            Verdict.DROP,
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
            Verdict.ASSUMED if assumption else Verdict.ALLOW,
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
            Verdict.UNKNOWN,
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
            Verdict.ASSUMED if assumption else Verdict.ALLOW,
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
        fixes.append(gpo_rule_fix(pkt, profile))
    elif pkt.direction == "in":
        fixes.append(allow_rule_fix(pkt, profile))
    else:
        fixes.append(
            wc.windows_fix(
                f"Allow outbound {pkt.proto.upper()} {pkt.port}",
                WinAction("new-allow", port=pkt.port, proto=pkt.proto, direction="out", profile=profile),
            )
        )
    return Hop(
        layer,
        Verdict.DROP,
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


def allow_rule_fix(pkt: WinPacket, profile: str) -> Fix:
    iface = pkt.interface if pkt.interface and pkt.interface.lower().startswith("vethernet") else None
    return wc.windows_fix(
        f"Allow inbound {pkt.proto.upper()} {pkt.local_port} on the {profile} profile",
        WinAction("new-allow", port=pkt.local_port, proto=pkt.proto, profile=profile, interface=iface),
        note="run in an elevated PowerShell (wsltui asks for UAC, or copies the command)",
    )
