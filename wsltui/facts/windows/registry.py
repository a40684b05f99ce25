"""The registry: ``reg.exe query`` output and [MS-GPFAS] rule strings, profile values."""

from __future__ import annotations

import re

from wsltui.facts.windows.model import PROFILES, FwRule, ProfileSettings, RegistryPolicy

_REG_VALUE = re.compile(r"^\s*(.+?)\s{2,}(REG_[A-Z_]+)(?:\s{2,}(.*))?$")


def parse_reg_query(text: str) -> tuple[dict[str, dict[str, tuple[str, str]]], list[str]]:
    """``reg.exe query KEY /s`` -> {key path: {value name: (type, data)}}, problems.
    Lines before any key header (a pasted excerpt) go under the key ""."""
    keys: dict[str, dict[str, tuple[str, str]]] = {}
    problems: list[str] = []
    current = ""
    for n, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith("HKEY_") or line.startswith("HK") and "\\" in line and not line.startswith(" "):
            current = line.strip()
            keys.setdefault(current, {})
            continue
        m = _REG_VALUE.match(line)
        if m:
            keys.setdefault(current, {})[m.group(1).strip()] = (m.group(2), (m.group(3) or "").rstrip())
            continue
        if line.strip().lower().startswith(("end of search", "搜索结束")) or re.match(r"^\S.*:\s*\d+", line.strip()):
            continue  # "End of search: 12 match(es) found." (localized) from reg query /f
        problems.append(f"line {n}: not a registry value, skipped: {line.strip()[:80]!r}")
    return keys, problems


def dword(data: str) -> int | None:
    try:
        return int(data.strip(), 0)
    except ValueError:
        return None


_RULE_KEYS_UNMODELLED = {
    "Security",
    "Security2",
    "Security2_9",
    "RMAuth",
    "RUAuth",
    "LUAuth",
    "LUAuth2_24",
    "LUOwn",
    "AppPkgId",
    "TTK",
    "TTK2_22",
    "TTK2_27",
    "TTK2_28",
    "NNm",
    "SecurityRealmId",
    "Platform2",
    "PCross",
}


def parse_rule_string(rule_id: str, text: str, source: str = "") -> tuple[FwRule | None, str | None]:
    """One [MS-GPFAS] rule string -> (rule, problem). Repeated keys are OR-ed; a missing key is any."""
    t = (text or "").strip()
    if not re.match(r"^v\d+\.\d+\|", t):
        return None, f"{rule_id}: not a firewall rule string: {t[:60]!r}"
    fields: dict[str, list[str]] = {}
    for part in t.split("|")[1:]:
        if not part:
            continue
        if "=" not in part:
            continue
        k, v = part.split("=", 1)
        fields.setdefault(k, []).append(v)

    def one(key: str) -> str | None:
        return fields.get(key, [None])[0]

    act = {"allow": "allow", "block": "block", "bypass": "bypass"}.get((one("Action") or "").lower(), "unknown")
    dirn = {"in": "in", "out": "out"}.get((one("Dir") or "").lower(), "unknown")
    protos: list[int] = []
    problem = None
    for p in fields.get("Protocol", []):
        if p.isdigit() and int(p) <= 255:
            protos.append(int(p))
        else:
            problem = f"{rule_id}: protocol {p!r} not understood"
    lports = [p for k in ("LPort", "LPort2_10", "LPort2_20", "LPort2_24", "LPort2_25") for p in fields.get(k, [])]
    rports = [p for k in ("RPort", "RPort2_10", "RPort2_25", "RPort2_28", "RPort2_29") for p in fields.get(k, [])]
    laddrs = fields.get("LA4", []) + fields.get("LA6", [])
    raddrs = fields.get("RA4", []) + fields.get("RA6", []) + fields.get("RA42", []) + fields.get("RA62", [])
    other = [f"{k}={v}" for k in _RULE_KEYS_UNMODELLED for v in fields.get(k, [])]
    if fields.get("ICMP4") or fields.get("ICMP6"):
        other += [f"ICMP={v}" for v in fields.get("ICMP4", []) + fields.get("ICMP6", [])]
    rule = FwRule(
        id=rule_id,
        name=one("Name") or rule_id,
        action=act,
        enabled=(one("Active") or "FALSE").upper() == "TRUE",
        direction=dirn,
        protocols=protos,
        local_ports=lports,
        remote_ports=rports,
        local_addresses=laddrs,
        remote_addresses=raddrs,
        programs=fields.get("App", []),
        services=[s for s in fields.get("Svc", [])],
        profiles=[p for p in fields.get("Profile", []) if p in PROFILES],
        interfaces=fields.get("IF", []),
        interface_types=fields.get("IFType", []),
        source=source,
        other=other,
        raw=t,
    )
    return rule, problem


def parse_fw_policy(text: str, source: str = "local") -> RegistryPolicy:
    """``reg.exe query ...FirewallPolicy /s`` (source "local") or ``...\\WindowsFirewall /s`` ("gpo")."""
    keys, problems = parse_reg_query(text)
    pol = RegistryPolicy(problems=problems)
    for key, vals in keys.items():
        leaf = key.rsplit("\\", 1)[-1]
        if key == "" or leaf.lower() == "firewallrules":
            for name, (typ, data) in vals.items():
                if typ != "REG_SZ":
                    continue
                rule, problem = parse_rule_string(name, data, source)
                if rule is not None:
                    pol.rules.append(rule)
                if problem:
                    pol.problems.append(problem)
            continue
        profile = {
            "domainprofile": "Domain",
            "standardprofile": "Standard",
            "privateprofile": "Private",
            "publicprofile": "Public",
        }.get(leaf.lower())
        if profile:
            pol.profiles[profile] = {name: data for name, (typ, data) in vals.items()}
    return pol


_PROFILE_VALUES = (
    "EnableFirewall",
    "DefaultInboundAction",
    "DefaultOutboundAction",
    "DoNotAllowExceptions",
    "DisabledInterfaces",
    "AllowLocalPolicyMerge",
    "DisableStealthMode",
)


def profile_from_values(name: str, *layers: dict[str, str]) -> ProfileSettings:
    """Profile settings from registry values; later layers (GPO) override earlier ones (local);
    absent values take Windows' defaults (on, inbound block, outbound allow, no shields-up)."""
    p = ProfileSettings(name)
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update({k: v for k, v in layer.items() if k in _PROFILE_VALUES})
    for key, data in merged.items():
        n = dword(data)
        if key == "DisabledInterfaces":
            p.disabled_interfaces = [g.strip() for g in data.split(",") if g.strip()]
            p.explicit.append(key)
            continue
        if n is None:
            continue
        p.explicit.append(key)
        if key == "EnableFirewall":
            p.enabled = n != 0
        elif key == "DefaultInboundAction":
            p.default_inbound = "block" if n else "allow"
        elif key == "DefaultOutboundAction":
            p.default_outbound = "block" if n else "allow"
        elif key == "DoNotAllowExceptions":
            p.shielded = n != 0
        elif key == "AllowLocalPolicyMerge":
            p.allow_local_rules = n != 0
        elif key == "DisableStealthMode":
            p.stealth = n == 0
    return p


def registry_profiles(local: RegistryPolicy | None, gpo: RegistryPolicy | None) -> dict[str, ProfileSettings]:
    """Effective profile settings from the two registry trees ([MS-GPFAS] 2.2.3 merge)."""
    out = {}
    lp = local.profiles if local else {}
    gp = gpo.profiles if gpo else {}
    for name in PROFILES:
        local_vals = lp.get(name) or (lp.get("Standard") if name == "Private" else None) or {}
        gpo_vals = gp.get(name)
        if (
            gpo_vals is None
            and "Standard" in gp
            and name in ("Private", "Public")
            and "Private" not in gp
            and "Public" not in gp
        ):
            gpo_vals = gp["Standard"]
        # AllowLocalPolicyMerge takes effect only when Group Policy sets it (docs/windows-firewall.md §1.3).
        local_vals = {k: v for k, v in local_vals.items() if k != "AllowLocalPolicyMerge"}
        out[name] = profile_from_values(name, local_vals, gpo_vals or {})
    return out
