"""The entry point: the Windows records of a snapshot -> ``WindowsFacts`` with its effective view."""

from __future__ import annotations

import re

from typing import TypeGuard

from wsltui.facts.base import Unknown, first_line, usable_record
from wsltui.facts.windows.model import ExcludedPorts, PortProxies, PowerShellData, RegistryPolicy, WindowsFacts
from wsltui.facts.windows.netsh import parse_excluded_ranges, parse_portproxy_registry
from wsltui.facts.windows.powershell import parse_powershell
from wsltui.facts.windows.registry import dword, parse_fw_policy, registry_profiles
from wsltui.records import command_for
from wsltui.snapshot import Record, Snapshot


def _reg_failed(record: Record | None) -> TypeGuard[Record]:
    """reg.exe exited 1 without printing a key: the key is missing, or reading it was denied.
    Which of the two, its message says only in the words of the Windows language."""
    return record is not None and record.error is None and record.exit_code == 1 and not record.stdout.strip()


def _reg_record(
    record: Record | None, name: str, source: str, key_exists: bool | Unknown | None = None
) -> RegistryPolicy | Unknown:
    """A registry policy record. ``key_exists``: whether PowerShell found the key (None: not
    told), which turns reg.exe's exit 1 into "absent" or "could not be read" in any language."""
    cmd = command_for(name)
    if _reg_failed(record):
        said = first_line(record.stderr) or "no message"
        if key_exists is False:
            return RegistryPolicy(present=False)
        if key_exists is True or isinstance(key_exists, Unknown) or source == "local":
            # The local policy key exists on every Windows; the others exist as PowerShell says.
            return Unknown(
                f"reg.exe could not read the key, which exists (probably access denied): {said}", record.command or cmd
            )
        return RegistryPolicy(
            present=False,
            assumption=(
                f"reg.exe exited 1 without output ({said}), taken as 'the key does not exist'; if reading it "
                "was denied instead, its settings are missing (a capture with PowerShell would tell)"
            ),
        )
    usable = usable_record(record, cmd)
    return usable if isinstance(usable, Unknown) else parse_fw_policy(usable.stdout, source)


def from_snapshot(snapshot: Snapshot) -> WindowsFacts:
    problems: list[str] = []
    ps_cmd = command_for("win.powershell")
    ps_rec = usable_record(snapshot.get("win.powershell"), ps_cmd)
    ps: PowerShellData | Unknown = (
        Unknown(ps_rec.reason, ps_cmd)  # the readable command, not 16 kB of base64
        if isinstance(ps_rec, Unknown)
        else parse_powershell(ps_rec.stdout, ps_cmd)
    )
    keys = ps.reg_keys if isinstance(ps, PowerShellData) else {}

    local = _reg_record(snapshot.get("win.fw-policy"), "win.fw-policy", "local")
    gpo = _reg_record(snapshot.get("win.fw-policy-gpo"), "win.fw-policy-gpo", "gpo", keys.get("gpoFirewall"))

    rec = snapshot.get("win.portproxy")
    portproxy: PortProxies | Unknown
    if _reg_failed(rec) and not (keys.get("portProxy") is True or isinstance(keys.get("portProxy"), Unknown)):
        portproxy = PortProxies()  # no PortProxy key: no entries
    elif _reg_failed(rec):
        portproxy = Unknown(
            f"reg.exe could not read the key, which exists (probably access denied): "
            f"{first_line(rec.stderr) or 'no message'}",
            rec.command or command_for("win.portproxy"),
        )
    else:
        usable = usable_record(rec, command_for("win.portproxy"))
        portproxy = usable if isinstance(usable, Unknown) else parse_portproxy_registry(usable.stdout)

    def excluded(name: str) -> ExcludedPorts | Unknown:
        r = usable_record(snapshot.get(name), command_for(name))
        if isinstance(r, Unknown):
            return r
        parsed = parse_excluded_ranges(r.stdout)
        if not parsed.ranges and re.search(r"\d+\s+\d+", r.stdout) is None and "---" not in r.stdout:
            return Unknown(f"netsh printed no port table: {first_line(r.stdout)[:80]!r}", r.command)
        return parsed

    ex4, ex6 = excluded("win.excluded-tcp4"), excluded("win.excluded-tcp6")

    facts = WindowsFacts(local, gpo, portproxy, ex4, ex6, ps, problems=problems)
    for part in (local, gpo, portproxy, ex4, ex6, ps):
        if not isinstance(part, Unknown):
            problems.extend(part.problems)
    # The effective view: ActiveStore when PowerShell could read it, else the registry (both trees).
    registry = local if isinstance(local, Unknown) else gpo if isinstance(gpo, Unknown) else (local, gpo)
    if isinstance(ps, PowerShellData) and not isinstance(ps.rules, Unknown):
        facts.rules, facts.rules_source = ps.rules, "ActiveStore (PowerShell)"
    elif isinstance(registry, Unknown):
        facts.rules = registry
    else:
        local_policy, gpo_policy = registry
        # Local rules stay listed: the profile's allow_local_rules (GPO AllowLocalPolicyMerge)
        # tells the evaluator, per profile, that they are ignored.
        merge_off = [n for n, v in gpo_policy.profiles.items() if dword(v.get("AllowLocalPolicyMerge", "1")) == 0]
        if merge_off:
            problems.append(f"Group Policy turns local rules off (AllowLocalPolicyMerge=0) for {', '.join(merge_off)}")
        facts.rules = list(gpo_policy.rules) + list(local_policy.rules)
        facts.rules_source = "registry (local + Group Policy)"
        facts.rules_assumption = gpo_policy.assumption or None
    if isinstance(ps, PowerShellData) and not isinstance(ps.profiles, Unknown):
        facts.profiles = ps.profiles
    else:
        facts.profiles = registry if isinstance(registry, Unknown) else registry_profiles(*registry)
    if isinstance(ps, Unknown):
        facts.connections = facts.hyperv = facts.listeners = facts.iphlpsvc = facts.adapters = facts.hyperv_disable = ps
    else:
        facts.connections, facts.hyperv, facts.listeners, facts.iphlpsvc = (
            ps.connections,
            ps.hyperv,
            ps.listeners,
            ps.iphlpsvc,
        )
        facts.adapters, facts.build, facts.hyperv_disable = ps.adapters, ps.build, ps.hyperv_disable
        facts.firewall_products, facts.iphlpsvc_connections = ps.firewall_products, ps.iphlpsvc_connections
    return facts
