"""PowerShell: Format-List / Format-Table text (pasted outputs) and the JSON batch."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from wsltui.facts.base import Unknown, first_line
from wsltui.facts.windows.decode import (
    action,
    as_int,
    as_list,
    as_text,
    direction,
    enabled,
    gpo_bool,
    profiles_of,
    protocols_of,
    store_type_of,
    values,
)
from wsltui.facts.windows.model import (
    PROFILES,
    Adapter,
    ConnectionProfile,
    FwRule,
    HyperV,
    HyperVSetting,
    PowerShellData,
    ProfileSettings,
    Service,
    WinConnection,
    WinListener,
)

T = TypeVar("T")

# Enum integers (docs/windows-firewall.md §2.2) and their names.
_CATEGORY = {0: "Public", 1: "Private", 2: "DomainAuthenticated"}
_SERVICE_STATUS = {
    1: "stopped",
    2: "start-pending",
    3: "stop-pending",
    4: "running",
    5: "continue-pending",
    6: "pause-pending",
    7: "paused",
}
_START_TYPE = {0: "boot", 1: "system", 2: "automatic", 3: "manual", 4: "disabled"}


def parse_format_list(text: str) -> list[dict[str, str]]:
    """``Name : Value`` blocks separated by blank lines -> one dict per object."""
    objects: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    last = None
    for line in (text or "").splitlines():
        if not line.strip():
            if cur:
                objects.append(cur)
            cur, last = {}, None
            continue
        m = re.match(r"^(\S[^:]*?)\s*:\s?(.*)$", line)
        if m and not line.startswith(" "):
            last = m.group(1).strip()
            cur[last] = m.group(2).rstrip()
        elif last is not None:  # a wrapped continuation line
            cur[last] += " " + line.strip()
    if cur:
        objects.append(cur)
    return objects


def parse_format_table(text: str) -> list[dict[str, str]]:
    """A Format-Table: the dashed line gives the column spans; values are cut by those spans."""
    lines = (text or "").splitlines()
    for i, line in enumerate(lines):
        if i and re.fullmatch(r"[-\s]+", line) and "-" in line:
            spans = [m.span() for m in re.finditer(r"-+", line)]
            header = lines[i - 1]
            rows = []
            for row in lines[i + 1 :]:
                if not row.strip():
                    break
                rec = {}
                for j, (a, _b) in enumerate(spans):
                    end = spans[j + 1][0] if j + 1 < len(spans) else None
                    rec[header[a:end].strip()] = row[a:end].strip()
                rows.append(rec)
            return rows
    return []


def parse_hyperv_setting(obj: dict[str, Any]) -> HyperVSetting:
    """Get-NetFirewallHyperVVMSetting (JSON with ints, or Format-List words)."""

    def act(v: Any) -> str | None:
        return action(v) if v is not None else None

    g = {k.lower(): v for k, v in obj.items()}
    return HyperVSetting(
        enabled=gpo_bool(g.get("enabled")),
        default_inbound=act(g.get("inb", g.get("defaultinboundaction"))),
        default_outbound=act(g.get("outb", g.get("defaultoutboundaction"))),
        loopback=gpo_bool(g.get("loopback", g.get("loopbackenabled"))),
        host_merge=gpo_bool(g.get("hostmerge", g.get("allowhostpolicymerge"))),
        allow_local=gpo_bool(g.get("allowlocal", g.get("allowlocalfirewallrules"))),
    )


def parse_connection_profiles(items: Any) -> list[ConnectionProfile]:
    out = []
    for it in as_list(items):
        if not isinstance(it, dict):
            continue
        g = {k.lower(): v for k, v in it.items()}
        cat = g.get("category", g.get("networkcategory"))
        n = as_int(cat)
        category = _CATEGORY.get(n, "unknown") if n is not None else (str(cat).strip() if cat else "unknown")
        if category not in ("Public", "Private", "DomainAuthenticated"):
            category = "unknown"
        out.append(
            ConnectionProfile(
                str(g.get("alias", g.get("interfacealias")) or ""),
                as_int(g.get("ifindex", g.get("interfaceindex"))),
                category,
            )
        )
    return out


def parse_ps_profiles(items: Any) -> dict[str, ProfileSettings]:
    """Get-NetFirewallProfile rows (the batch's short keys, or the full CIM property names).
    ActiveStore values are effective; NotConfigured (0/2) falls back to Windows' defaults."""
    out = {}
    for it in as_list(items):
        if not isinstance(it, dict):
            continue
        g = {k.lower(): v for k, v in it.items()}
        name = str(g.get("name") or g.get("profile") or "").capitalize()
        if name not in PROFILES:
            continue
        p = ProfileSettings(name)
        en = gpo_bool(g.get("enabled"))
        if en is not None:
            p.enabled = en
            p.explicit.append("Enabled")
        for key, attr in (("inb", "default_inbound"), ("outb", "default_outbound")):
            long = "defaultinboundaction" if key == "inb" else "defaultoutboundaction"
            a = action(g.get(key, g.get(long)))
            if a in ("allow", "block"):
                setattr(p, attr, a)
                p.explicit.append(long)
        allow_in = gpo_bool(g.get("allowinboundrules"))
        if allow_in is False:
            p.shielded = True
        p.allow_local_rules = gpo_bool(g.get("allowlocal", g.get("allowlocalfirewallrules")))
        p.disabled_interfaces = values(g.get("disabledif", g.get("disabledinterfacealiases")))
        out[name] = p
    return out


def parse_ps_rule(it: dict[str, Any], source: str = "active") -> FwRule | None:
    g = {k.lower(): v for k, v in it.items()}
    rid = as_text(g.get("id") or g.get("instanceid") or g.get("name"))
    if not rid:
        return None
    protos = protocols_of(g.get("proto", g.get("protocol")))
    other = []
    if protos is None:
        other.append(f"protocol {g.get('proto', g.get('protocol'))!r}")
        protos = []
    svc = values(g.get("service"))
    pkg = values(g.get("package"))
    if pkg:
        other.append(f"package {pkg[0]}")
    act = action(g.get("action")) or "unknown"
    return FwRule(
        id=rid,
        name=as_text(g.get("displayname", g.get("name") if "id" in g else None)) or rid,
        action=act,
        enabled=enabled(g.get("enabled")),
        direction=direction(g.get("dir", g.get("direction"))),
        protocols=protos,
        local_ports=values(g.get("lport", g.get("localport", g.get("localports")))),
        remote_ports=values(g.get("rport", g.get("remoteport", g.get("remoteports")))),
        local_addresses=values(g.get("laddr", g.get("localaddress", g.get("localaddresses")))),
        remote_addresses=values(g.get("raddr", g.get("remoteaddress", g.get("remoteaddresses")))),
        programs=values(g.get("program")),
        services=svc,
        profiles=profiles_of(g.get("profile", g.get("profiles"))),
        interfaces=values(g.get("ifalias", g.get("interfacealias"))),
        interface_types=values(g.get("iftype", g.get("interfacetype"))),
        source=source,
        store=as_text(g.get("src", g.get("policystoresource"))) or "",
        enforcement=", ".join(values(g.get("enforce", g.get("enforcementstatus")))),
        priority=as_int(g.get("priority", g.get("rulepriority"))),
        other=other,
        store_type=store_type_of(g.get("srctype", g.get("policystoresourcetype"))),
    )


def parse_ps_rules(rules: Any, filters: Any = None, source: str = "active") -> tuple[list[FwRule], list[str]]:
    """Rules from the batch (filters already joined), or Get-NetFirewallRule JSON plus the six
    store-wide filter results ``{"Port": [...], "Address": [...], ...}`` joined by InstanceID."""
    joined: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    if isinstance(filters, dict):
        for part in ("Port", "Address", "Application", "Service", "InterfaceType", "Interface", "Security"):
            for row in as_list(filters.get(part)):
                if isinstance(row, dict) and row.get("InstanceID"):
                    joined.setdefault(str(row["InstanceID"]), {}).update(
                        {k: v for k, v in row.items() if k != "InstanceID"}
                    )
    out = []
    for it in as_list(rules):
        if not isinstance(it, dict):
            problems.append(f"not a rule object: {str(it)[:60]!r}")
            continue
        iid = str(it.get("InstanceID") or it.get("id") or it.get("Name") or "")
        merged = {**it, **joined.get(iid, {})}
        if "InstanceID" in it and "id" not in it:
            merged["id"] = iid
            merged.setdefault("DisplayName", it.get("DisplayName"))
        rule = parse_ps_rule(merged, source)
        if rule is None:
            problems.append(f"rule without an id: {str(it)[:60]!r}")
        else:
            out.append(rule)
    return out, problems


def parse_listeners(items: Any) -> list[WinListener]:
    out = []
    for it in as_list(items):
        if not isinstance(it, dict):
            continue
        port = as_int(it.get("port", it.get("LocalPort")))
        addr = as_text(it.get("addr", it.get("LocalAddress")))
        if port is None or not addr or not 0 < port <= 65535:
            continue
        out.append(
            WinListener(
                addr,
                port,
                as_int(it.get("pid", it.get("OwningProcess"))),
                as_text(it.get("process")),
                as_text(it.get("path")) or None,
            )
        )
    return out


def parse_adapters(items: Any) -> list[Adapter]:
    """Get-NetAdapter rows: the batch's ``{alias, ifIndex, guid, type}`` or the CIM names."""
    out = []
    for it in as_list(items):
        if not isinstance(it, dict):
            continue
        g = {k.lower(): v for k, v in it.items()}
        guid = str(g.get("guid", g.get("interfaceguid")) or "").strip().upper()
        alias = as_text(g.get("alias", g.get("name", g.get("interfacealias"))))
        if not alias or not re.fullmatch(r"\{[0-9A-F-]{36}\}", guid):
            continue
        out.append(
            Adapter(
                alias,
                as_int(g.get("ifindex", g.get("interfaceindex"))),
                guid,
                as_int(g.get("type", g.get("interfacetype"))),
                as_text(g.get("desc", g.get("interfacedescription"))) or "",
            )
        )
    return out


def parse_connections(items: Any) -> list[WinConnection]:
    """The batch's ``{lport, raddr, rport}`` rows (or Get-NetTCPConnection's own names)."""
    out = []
    for it in as_list(items):
        if not isinstance(it, dict):
            continue
        g = {k.lower(): v for k, v in it.items()}
        lport, rport = as_int(g.get("lport", g.get("localport"))), as_int(g.get("rport", g.get("remoteport")))
        raddr = as_text(g.get("raddr", g.get("remoteaddress")))
        if lport is not None and rport is not None and raddr:
            out.append(WinConnection(lport, raddr, rport))
    return out


def parse_firewall_products(items: Any) -> list[str]:
    """Security Center's FirewallProduct display names, without Windows' own firewall."""
    names = [as_text(it.get("displayName") if isinstance(it, dict) else it) for it in as_list(items)]
    return [n for n in dict.fromkeys(names) if n and "windows" not in n.lower()]


def parse_service(obj: Any) -> Service | None:
    if not isinstance(obj, dict):
        return None
    g = {k.lower(): v for k, v in obj.items()}
    st, sty = g.get("status"), g.get("starttype")
    n_st, n_sty = as_int(st), as_int(sty)
    status = _SERVICE_STATUS.get(n_st) if n_st is not None else (str(st).lower() if st else None)
    start = _START_TYPE.get(n_sty) if n_sty is not None else (str(sty).lower() if sty else "unknown")
    if status is None:
        return None
    return Service(status == "running", status, start or "unknown")


def parse_powershell(text: str, command: str = "") -> PowerShellData | Unknown:
    """The ``win.powershell`` JSON (see README "Windows records")."""
    raw = (text or "").strip().lstrip("\ufeff")
    start = raw.find("{")
    if start < 0:
        return Unknown(
            f"PowerShell printed no JSON: {first_line(raw)[:80]!r}" if raw else "PowerShell printed nothing", command
        )
    try:
        data = json.loads(raw[start:])
    except (ValueError, RecursionError) as e:
        return Unknown(f"PowerShell printed something that is not JSON ({e})", command)
    if not isinstance(data, dict):
        return Unknown("PowerShell printed JSON that is not an object", command)
    errors_raw = data.get("errors")
    errors: dict[str, Any] = errors_raw if isinstance(errors_raw, dict) else {}
    problems: list[str] = []

    def part(key: str, parse: Callable[[Any], T]) -> T | Unknown:
        if key in errors:
            return Unknown(f"PowerShell: {errors[key]}", command)
        if data.get(key) is None:
            return Unknown(f"PowerShell printed no {key!r}", command)
        return parse(data.get(key))

    def rules(v: Any) -> list[FwRule]:
        rs, probs = parse_ps_rules(v)
        problems.extend(probs)
        return rs

    profiles = part("profiles", parse_ps_profiles)
    if isinstance(profiles, dict) and not profiles:
        profiles = Unknown("PowerShell listed no firewall profiles", command)
    hv: HyperV | Unknown
    hv_raw = data.get("hyperv")
    if not isinstance(hv_raw, dict):
        hv = Unknown(
            f"PowerShell: {errors['hyperv']}" if "hyperv" in errors else "PowerShell printed no 'hyperv'", command
        )
    elif not hv_raw.get("available"):
        hv = HyperV(False, why_unavailable=str(errors.get("hyperv") or "no Hyper-V firewall cmdlets on this Windows"))
    elif "hyperv" in errors or not isinstance(hv_raw.get("setting"), dict):
        # The cmdlets exist but could not be read (often: access denied without elevation).
        hv = HyperV(
            True,
            setting=Unknown(f"PowerShell: {errors.get('hyperv', 'no Hyper-V VM setting printed')}", command),
            rules=Unknown("the Hyper-V rules could not be read", command),
        )
    else:
        hrules, probs = parse_ps_rules(hv_raw.get("rules"), source="hyperv")
        problems.extend(probs)
        hv = HyperV(
            True,
            setting=parse_hyperv_setting(hv_raw["setting"]),
            profiles={
                str(p.get("name", "")).capitalize(): parse_hyperv_setting(p)
                for p in as_list(hv_raw.get("profiles"))
                if isinstance(p, dict)
            },
            rules=hrules,
            merged_published=(as_int(data.get("v")) or 1) >= 2,
        )
    svc = part(
        "iphlpsvc", lambda v: parse_service(v) or Unknown("PowerShell printed an unreadable iphlpsvc state", command)
    )
    return PowerShellData(
        build=as_text(data.get("build")),
        oem_codepage=as_int(data.get("oemCodePage")),
        profiles=profiles,
        rules=part("rules", rules),
        connections=part("conn", parse_connection_profiles),
        hyperv=hv,
        listeners=part("listeners", parse_listeners),
        iphlpsvc=svc,
        adapters=part("adapters", parse_adapters),
        problems=problems,
        firewall_products=(
            part("firewallProducts", parse_firewall_products)
            if "firewallProducts" in data or "firewallProducts" in errors
            else None
        ),
        iphlpsvc_connections=(
            part("iphlpsvcConns", parse_connections) if "iphlpsvcConns" in data or "iphlpsvcConns" in errors else None
        ),
        hyperv_disable=_hyperv_disable(data, errors, command),
        reg_keys=_reg_keys(data.get("regKeys"), command),
    )


HV_DISABLE_CMD = (
    "powershell.exe (Get-ItemProperty 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\MpsSvc\\Parameters')"
    ".HyperVFirewallDisable"
)


def _hyperv_disable(data: dict[str, Any], errors: dict[str, Any], command: str) -> int | None | Unknown:
    """``hvFirewallDisable``: the DWORD, None when the value is not set; Unknown when it could
    not be read or the batch is older than the field."""
    if "hvFirewallDisable" in errors:
        return Unknown(f"PowerShell: {errors['hvFirewallDisable']}", HV_DISABLE_CMD)
    if "hvFirewallDisable" not in data:
        return Unknown("this snapshot's PowerShell batch did not read HyperVFirewallDisable", HV_DISABLE_CMD)
    v = data["hvFirewallDisable"]
    return (
        None
        if v is None
        else (as_int(v) if as_int(v) is not None else Unknown(f"HyperVFirewallDisable is {v!r}", HV_DISABLE_CMD))
    )


def _reg_keys(obj: Any, command: str) -> dict[str, bool | Unknown]:
    """``regKeys``: true (the key exists), false (it does not), or the error that reading it gave."""
    out: dict[str, bool | Unknown] = {}
    for name, v in obj.items() if isinstance(obj, dict) else ():
        out[str(name)] = v if isinstance(v, bool) else Unknown(f"PowerShell could not open the key: {v}", command)
    return out
