"""The Windows side: Windows Defender Firewall (registry and ActiveStore), the Hyper-V firewall
for the WSL VM, portproxy, excluded port ranges, connection profiles, Windows listeners.

Sources: docs/windows-firewall.md (formats and semantics), tests/fixtures/windows/ (real outputs).

- Registry rule strings follow [MS-GPFAS] 2.2.2: ``v2.31|Action=Allow|Active=TRUE|Dir=In|...|``;
  a key may repeat (values OR-ed), a missing key means "any", unknown keys are ignored.
- ``reg.exe query KEY /s``: a header line per key (``HKEY_LOCAL_MACHINE\\...``), then
  ``    NAME    REG_TYPE    DATA`` lines; DWORDs print as ``0x1``.
- netsh output is translated: excluded ranges and portproxy tables are read by structure (rows of
  numbers and addresses), never by their labels.
- Address keywords come in registry spellings (``RA42=IntErnet``, ``Ply2Renders``) and PowerShell
  names (``Internet``, ``PlayToDevice``, ``LocalSubnet4``): ``address_keyword`` gives both one name.
- The PowerShell batch (``wsltui/probes/windows.ps1``) prints one JSON object with integer enums;
  the parsers also accept the common hand-made shapes (a single object instead of an array,
  ``{"value": [...], "Count": n}`` wrappers, enum names instead of numbers).

Pure: no I/O, never raises. What cannot be known is ``Unknown`` with the reason and the command.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any

from wsltui.facts.base import Unknown, first_line, record_unknown
from wsltui.records import command_for
from wsltui.snapshot import Record, Snapshot

WSL_VM_CREATOR = "{40E0AC32-46A5-438A-A0B2-2B479E8F2E90}"
PROFILES = ("Domain", "Private", "Public")

# ---------------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------------


@dataclass
class FwRule:
    """One Windows Defender Firewall (or Hyper-V firewall) rule. Empty lists mean "any"."""

    id: str
    name: str  # display name (may be an indirect string "@dll,-id" from the registry)
    action: str  # "allow" | "block" | "bypass" | "unknown"
    enabled: bool
    direction: str  # "in" | "out" | "unknown"
    protocols: list[int] = field(default_factory=list)
    local_ports: list[str] = field(default_factory=list)  # "80", "1000-2000", keywords ("RPC")
    remote_ports: list[str] = field(default_factory=list)
    local_addresses: list[str] = field(default_factory=list)  # "10.0.0.1", "10.0.0.0/24", "a-b", keywords
    remote_addresses: list[str] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)  # paths as written (%SystemRoot%\...), or "System"
    services: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)  # Domain/Private/Public; empty = all
    interfaces: list[str] = field(default_factory=list)  # interface GUIDs (registry) or aliases (PowerShell)
    interface_types: list[str] = field(default_factory=list)  # Lan/Wireless/RemoteAccess (Wired in PowerShell)
    source: str = ""  # "local" | "gpo" | "active" | "hyperv"
    store: str = ""  # PolicyStoreSource as PowerShell tells it ("Local Group Policy", "PersistentStore", ...)
    enforcement: str = ""  # EnforcementStatus, as given
    priority: int | None = None  # Hyper-V rules: lower is evaluated first
    store_type: str = ""  # PolicyStoreSourceType: Local, GroupPolicy, MDM, HostFirewallLocal ... ("" not told)
    other: list[str] = field(default_factory=list)  # conditions wsltui does not model (IPsec, users, package ...)
    raw: str = ""

    @property
    def label(self) -> str:
        return self.name if self.name and not self.name.startswith("@") else self.id

    @property
    def program_scoped(self) -> bool:
        return bool(self.programs or self.services or self.other)

    @property
    def is_local(self) -> bool:
        """A rule of the local store (the ones Group Policy can switch off), not a Group Policy,
        MDM or dynamic rule. A Hyper-V rule merged from a local host rule counts too."""
        return (
            self.source == "local"
            or self.store_type in ("Local", "HostFirewallLocal")
            or (not self.store_type and self.store.lower() == "persistentstore")
        )

    @property
    def from_group_policy(self) -> bool:
        return (
            self.source == "gpo"
            or "grouppolicy" in self.store_type.lower()
            or any(w in self.store.lower() for w in ("group policy", "gpo"))
        )

    @property
    def merged_from_host(self) -> bool:
        """A host rule Windows merged into the Hyper-V firewall (ActiveStore's own merge)."""
        return self.store_type.startswith("HostFirewall")

    @property
    def enforced(self) -> str:
        return enforcement_state(self.enforcement)


@dataclass
class ProfileSettings:
    name: str  # Domain | Private | Public
    enabled: bool = True
    default_inbound: str = "block"
    default_outbound: str = "allow"
    shielded: bool = False  # DoNotAllowExceptions / AllowInboundRules=False: inbound allow rules ignored
    disabled_interfaces: list[str] = field(default_factory=list)  # GUIDs (registry) or aliases (PowerShell)
    allow_local_rules: bool | None = None  # GPO AllowLocalPolicyMerge; None = not configured
    # Stealth mode (a SYN to a closed port is dropped, not reset); registry DisableStealthMode=1 turns it off.
    stealth: bool = True
    explicit: list[str] = field(default_factory=list)  # values that were set (the rest are Windows defaults)


@dataclass
class RegistryPolicy:
    """``reg.exe query ...\\FirewallPolicy /s`` (local) or the GPO key: rules and profile values."""

    rules: list[FwRule] = field(default_factory=list)
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)  # Domain/Private/Public -> value -> data
    present: bool = True  # False: the key does not exist (no GPO)
    problems: list[str] = field(default_factory=list)
    assumption: str = ""  # present=False without proof (reg.exe's exit 1 can also mean "denied")


@dataclass
class ExcludedRange:
    start: int
    end: int
    administered: bool = False  # "*": added by an administrator (netsh add excludedportrange)

    def __contains__(self, port: int) -> bool:
        return self.start <= port <= self.end


@dataclass
class ExcludedPorts:
    ranges: list[ExcludedRange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def containing(self, port: int) -> ExcludedRange | None:
        return next((r for r in self.ranges if port in r), None)


@dataclass
class PortProxy:
    kind: str  # v4tov4 | v4tov6 | v6tov4 | v6tov6: the families it listens on and connects with
    listen_address: str  # "0.0.0.0", "*", an address
    listen_port: str  # "8080" or a range "30000-50000" (accepted by netsh, does not work)
    connect_address: str
    connect_port: str
    protocol: str = "tcp"

    def listens_on(self, port: int) -> bool:
        return _in_port_token(port, self.listen_port) is True

    @property
    def listen_family(self) -> int:
        return 6 if self.kind.startswith("v6") else 4

    @property
    def connect_family(self) -> int:
        return 6 if self.kind.endswith("v6") else 4

    @property
    def text(self) -> str:
        def at(addr: str, port: str) -> str:
            return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"

        return (
            f"{self.kind} {at(self.listen_address, self.listen_port)} -> {at(self.connect_address, self.connect_port)}"
        )


@dataclass
class PortProxies:
    entries: list[PortProxy] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class ConnectionProfile:
    alias: str
    index: int | None
    category: str  # Public | Private | DomainAuthenticated | unknown


@dataclass
class Adapter:
    """Get-NetAdapter -IncludeHidden: maps the registry's interface GUIDs (``IF=``,
    ``DisabledInterfaces``) to adapter names, and says what kind of link it is."""

    alias: str
    index: int | None
    guid: str  # "{...}", upper case
    if_type: int | None  # IANA ifType: 6 Ethernet, 71 IEEE 802.11, 23 PPP, 131 tunnel ...
    desc: str = ""  # InterfaceDescription: the driver, e.g. "PANGP Virtual Ethernet Adapter" (a VPN's)


@dataclass
class HyperVSetting:
    enabled: bool | None  # None: not configured
    default_inbound: str | None  # allow | block | None (not configured)
    default_outbound: str | None
    loopback: bool | None
    host_merge: bool | None
    allow_local: bool | None = None  # per profile: AllowLocalFirewallRules (local Hyper-V rules apply)


@dataclass
class HyperV:
    available: bool  # False: no Hyper-V firewall (Windows 10, older Windows 11)
    setting: HyperVSetting | Unknown | None = None
    profiles: dict[str, HyperVSetting] = field(default_factory=dict)
    rules: list[FwRule] | Unknown = field(default_factory=list)
    why_unavailable: str = ""
    # True when ``rules`` is ActiveStore's merged set (batch v2: host rules Windows merged are among
    # them); False for older snapshots, where the merge is re-derived from the host rules.
    merged_published: bool = False


@dataclass
class WinListener:
    address: str
    port: int
    pid: int | None
    process: str | None  # Get-Process name: no path, no ".exe"
    path: str | None = None  # the executable, when Windows tells it (not for protected processes)


@dataclass
class WinConnection:
    """An established TCP connection of a Windows process (Get-NetTCPConnection)."""

    local_port: int
    remote: str
    remote_port: int


@dataclass
class Service:
    running: bool
    status: str  # running | stopped | ...
    start_type: str  # automatic | manual | disabled | ...


@dataclass
class PowerShellData:
    """The ``win.powershell`` JSON, typed. Each part may be Unknown on its own (denied, absent)."""

    build: str | None
    oem_codepage: int | None
    profiles: dict[str, ProfileSettings] | Unknown
    rules: list[FwRule] | Unknown
    connections: list[ConnectionProfile] | Unknown
    hyperv: HyperV | Unknown
    listeners: list[WinListener] | Unknown
    iphlpsvc: Service | Unknown
    adapters: list[Adapter] | Unknown = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Third-party firewalls registered with Windows Security Center (displayName); None: the batch
    # predates the section.
    firewall_products: list[str] | Unknown | None = None
    # iphlpsvc's established connections (portproxy's live legs); None: the batch predates the section.
    iphlpsvc_connections: list[WinConnection] | Unknown | None = None
    # MpsSvc\Parameters HyperVFirewallDisable: its value, None when not set, Unknown when not read.
    hyperv_disable: int | None | Unknown = None
    # Whether the keys reg.exe reads exist (True/False), or an Unknown: "gpoFirewall", "portProxy".
    reg_keys: dict[str, bool | Unknown] = field(default_factory=dict)


@dataclass
class WindowsFacts:
    local_policy: RegistryPolicy | Unknown
    gpo_policy: RegistryPolicy | Unknown
    portproxy: PortProxies | Unknown
    excluded4: ExcludedPorts | Unknown
    excluded6: ExcludedPorts | Unknown
    powershell: PowerShellData | Unknown
    # Derived: the effective view the simulator reads.
    profiles: dict[str, ProfileSettings] | Unknown = field(default_factory=dict)
    rules: list[FwRule] | Unknown = field(default_factory=list)
    rules_source: str = ""  # "ActiveStore (PowerShell)" or "registry (local + Group Policy)"
    connections: list[ConnectionProfile] | Unknown = field(default_factory=list)
    hyperv: HyperV | Unknown = field(default_factory=lambda: HyperV(False))
    listeners: list[WinListener] | Unknown = field(default_factory=list)
    iphlpsvc: Service | Unknown = field(default_factory=lambda: Service(True, "running", "automatic"))
    adapters: list[Adapter] | Unknown = field(default_factory=list)
    build: str | None = None
    hyperv_disable: int | None | Unknown = field(default_factory=lambda: Unknown(NOT_CAPTURED))
    # An assumption the effective rules rest on (registry fallback: "key absent" not proven).
    rules_assumption: str | None = None
    problems: list[str] = field(default_factory=list)
    firewall_products: list[str] | Unknown | None = None
    iphlpsvc_connections: list[WinConnection] | Unknown | None = None

    def adapter(self, name: str) -> Adapter | Unknown | None:
        """The adapter named by an alias or an interface GUID; None when no adapter has it,
        Unknown when the adapters were not read."""
        if isinstance(self.adapters, Unknown):
            return self.adapters
        key = name.strip().lower()
        return next((a for a in self.adapters if key in (a.alias.lower(), a.guid.lower())), None)

    @property
    def captured(self) -> bool:
        """Whether the snapshot holds any Windows record at all (old snapshots and demos do not)."""
        parts = (self.local_policy, self.gpo_policy, self.portproxy, self.excluded4, self.excluded6, self.powershell)
        return any(not (isinstance(p, Unknown) and p.reason == NOT_CAPTURED) for p in parts)


NOT_CAPTURED = "not captured in this snapshot"


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "True" if v else "False"
    return str(v)


def unwrap(v: Any) -> Any:
    """``{"value": [...], "Count": n}`` (ConvertTo-Json of a PSObject-wrapped array) -> the list."""
    if isinstance(v, dict) and "value" in v and set(v) <= {"value", "Count"}:
        return v["value"]
    return v


def as_list(v: Any) -> list:
    """A single object or an array (ConvertTo-Json prints one result bare) -> a list."""
    v = unwrap(v)
    if v is None:
        return []
    if isinstance(v, list):
        return v
    return [v]


def values(v: Any) -> list[str]:
    """A multi-valued field in any of its shapes -> strings; "Any" and empty mean any (=[])."""
    v = unwrap(v)
    if v is None:
        return []
    items = v if isinstance(v, list) else str(v).split(",")
    out = []
    for item in items:
        t = str(unwrap(item) if not isinstance(item, str) else item).strip()
        if t and t.lower() not in ("any", "*", "notconfigured"):
            out.append(t)
    return out


# Address keywords: [MS-GPFAS] RA4/RA6 and RA42/RA62 spellings and PowerShell's names (which may
# end in 4 or 6 to limit them to one family) -> the canonical (PowerShell) name.
_ADDRESS_KEYWORDS = {
    "localsubnet": "LocalSubnet",
    "dns": "DNS",
    "dhcp": "DHCP",
    "wins": "WINS",
    "defaultgateway": "DefaultGateway",
    "intranet": "Intranet",
    "internet": "Internet",
    "intranetremoteaccess": "IntranetRemoteAccess",
    "rmtintranet": "IntranetRemoteAccess",
    "playtodevice": "PlayToDevice",
    "ply2renders": "PlayToDevice",
    "captiveportal": "CaptivePortal",
}


def address_keyword(token: str) -> tuple[str, int | None] | None:
    """``LocalSubnet``, ``IntErnet``, ``DNS4`` -> (canonical keyword, address family or None for
    both); None when the token is not a keyword (an address, a range, a subnet)."""
    t = str(token or "").strip().lower()
    family = None
    if t[-1:] in ("4", "6") and t[:-1] in _ADDRESS_KEYWORDS:
        t, family = t[:-1], int(t[-1])
    name = _ADDRESS_KEYWORDS.get(t)
    return (name, family) if name else None


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, str) and re.fullmatch(r"\s*-?\d+\s*", v):
        return int(v)
    return None


# Enum integers (docs/windows-firewall.md §2.2) and their names.
_ACTION = {2: "allow", 3: "bypass", 4: "block", 0: None}
_ACTION_NAMES = {"allow": "allow", "block": "block", "allowbypass": "bypass", "bypass": "bypass", "notconfigured": None}
_DIRECTION = {1: "in", 2: "out"}
_DIRECTION_NAMES = {"inbound": "in", "outbound": "out", "in": "in", "out": "out"}
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
_PROTO_NAMES = {"tcp": 6, "udp": 17, "icmpv4": 1, "icmpv6": 58, "gre": 47}


def action(v: Any) -> str | None:
    n = _int(v)
    if n is not None:
        return _ACTION.get(n, "unknown")
    return _ACTION_NAMES.get(str(v).strip().lower(), "unknown") if v is not None else None


def direction(v: Any) -> str:
    n = _int(v)
    if n is not None:
        return _DIRECTION.get(n, "unknown")
    return _DIRECTION_NAMES.get(str(v).strip().lower(), "unknown")


def gpo_bool(v: Any) -> bool | None:
    """GpoBoolean: 0 False, 1 True, 2 NotConfigured (-> None); also True/False words."""
    if isinstance(v, bool):
        return v
    n = _int(v)
    if n is not None:
        return {0: False, 1: True}.get(n)
    t = str(v).strip().lower() if v is not None else ""
    return {"true": True, "false": False}.get(t)


def enabled(v: Any) -> bool:
    """Rule ``Enabled``: 1 True, 2 False (CIM), or True/False."""
    n = _int(v)
    if n is not None:
        return n == 1
    return str(v).strip().lower() == "true"


def profiles_of(v: Any) -> list[str]:
    """Rule ``Profile``: bitmask (0 any, 1 Domain, 2 Private, 4 Public) or "Domain, Private"."""
    n = _int(v)
    if n is not None:
        return (
            []
            if n == 0 or n >= 0x7FFFFFFF or n & 7 == 7
            else [p for bit, p in ((1, "Domain"), (2, "Private"), (4, "Public")) if n & bit]
        )
    words = [w.strip().capitalize() for w in str(v or "").split(",") if w.strip()]
    if not words or any(w.lower() in ("any", "all") for w in words):
        return []
    return [w for w in words if w in PROFILES] if set(words) != set(PROFILES) else []


# EnforcementStatus words that clearly say a rule is not in force (docs/windows-firewall.md §2.2:
# ProfileInactive, DisabledInProfile, LocalFirewallRulesDisallowed; microsoft/WSL#5593 quotes
# LocalFirewallRulesNotAllowed, so the exact names vary). Anything else that is not "Enforced"
# or "NotApplicable" (OptimizedOut, bare numbers) is unclear, never silently either.
_NOT_ENFORCED = ("notallowed", "disallowed", "inactive", "notenforced", "disabled")
_ENFORCED = ("enforced", "notapplicable", "")


def enforcement_state(text: str) -> str:
    """EnforcementStatus (one or more comma-joined values) -> "enforced" | "not-enforced" | "unclear"."""
    words = [w.strip().lower().replace(" ", "") for w in re.split(r"[,;]", text or "")]
    if any(n in w for w in words for n in _NOT_ENFORCED):
        return "not-enforced"
    return "enforced" if all(w in _ENFORCED for w in words) else "unclear"


# PolicyStoreSourceType: the batch prints host rules' as integers and Hyper-V rules' as names
# (HostFirewallLocal, HostFirewallGroupPolicy, MDM ...). The integers follow [MS-FASP] 2.2.32
# FW_RULE_ORIGIN_TYPE (learn.microsoft.com/openspecs/windows_protocols/ms-fasp); 1 Local and
# 2 GroupPolicy are confirmed by fixtures.
_STORE_TYPES = {
    1: "Local",
    2: "GroupPolicy",
    3: "Dynamic",
    4: "Generated",
    5: "Hardcoded",
    6: "MDM",
    8: "HostFirewallLocal",
    9: "HostFirewallGroupPolicy",
    10: "HostFirewallDynamic",
    11: "HostFirewallMDM",
}


def store_type_of(v: Any) -> str:
    n = _int(v)
    if n is not None:
        return _STORE_TYPES.get(n, f"type {n}" if n else "")
    t = str(v or "").strip()
    return "" if t.lower() in ("none", "null") else t


def protocols_of(v: Any) -> list[int] | None:
    """ "TCP", "6", 6, "Any" -> [6] / [] (any). None: not understood."""
    out = []
    for t in values(v):
        n = _int(t)
        if n is None:
            n = _PROTO_NAMES.get(t.lower())
        if n is None or not 0 <= n <= 255:
            return None
        out.append(n)
    return out


# ---------------------------------------------------------------------------------------------
# registry: reg.exe query output and [MS-GPFAS] rule strings
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# netsh: excluded port ranges, portproxy, advfirewall profiles (by structure)
# ---------------------------------------------------------------------------------------------

_RANGE_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s*(\*)?\s*$")


def parse_excluded_ranges(text: str) -> ExcludedPorts:
    """``netsh int ipv4 show excludedportrange protocol=tcp`` in any language: rows of two numbers,
    ``*`` = administered. Every other line (title, headers, dashes, footer) is a label."""
    out = ExcludedPorts()
    for n, line in enumerate((text or "").splitlines(), 1):
        m = _RANGE_ROW.match(line)
        if not m:
            continue
        start, end = int(m.group(1)), int(m.group(2))
        if not (0 < start <= end <= 65535):
            out.problems.append(f"line {n}: not a port range: {line.strip()!r}")
            continue
        out.ranges.append(ExcludedRange(start, end, bool(m.group(3))))
    return out


_PROXY_ROW = re.compile(r"^\s*(\S+)\s+(\d+(?:-\d+)?)\s+(\S+)\s+(\d+(?:-\d+)?)\s*$")


def parse_portproxy_netsh(text: str) -> PortProxies:
    """``netsh interface portproxy show all|v4tov4`` in any language: the data rows after each dashed
    line are ``listenaddr listenport connectaddr connectport``. The kind (v4tov4, v4tov6, v6tov4,
    v6tov6) comes from the table's title, whose words are translated but whose ``ipv4``/``ipv6``
    are not (``侦听 ipv4: 连接到 ipv4:``); without a title, from the addresses."""
    out = PortProxies()
    in_table = False
    kind = None  # from the table's title line: "Listen on ipv4:  Connect to ipv6:" (the ipvN words are not translated)
    for line in (text or "").splitlines():
        if re.match(r"^\s*-{3,}(\s+-{3,})+\s*$", line):
            in_table = True
            continue
        if not line.strip():
            in_table = False
            continue
        if not in_table:
            families = re.findall(r"\bipv([46])\b", line, re.I)
            if len(families) == 2:
                kind = f"v{families[0]}tov{families[1]}"
            continue
        m = _PROXY_ROW.match(line)
        if not m:
            out.problems.append(f"not a portproxy row: {line.strip()[:80]!r}")
            continue
        la, lp, ca, cp = m.groups()
        out.entries.append(PortProxy(kind or _proxy_kind(la, ca), la, lp, ca, cp))
    return out


def _family(addr: str) -> int | None:
    if addr in ("*", "0.0.0.0", "localhost"):
        return 4
    try:
        return ipaddress.ip_address(addr.strip("[]")).version
    except ValueError:
        return None


def _proxy_kind(listen: str, connect: str) -> str:
    lf, cf = _family(listen) or 4, _family(connect) or 4
    return f"v{4 if lf == 4 else 6}tov{4 if cf == 4 else 6}"


def parse_portproxy_registry(text: str) -> PortProxies:
    """``reg.exe query HKLM\\...\\PortProxy /s``: key ``...\\v4tov4\\tcp``, value
    ``listenaddr/listenport``, data ``connectaddr/connectport``."""
    keys, problems = parse_reg_query(text)
    out = PortProxies(problems=problems)
    for key, vals in keys.items():
        parts = key.lower().split("\\")
        kind = next((p for p in parts if re.fullmatch(r"v[46]tov[46]", p)), None)
        if kind is None:
            continue
        proto = parts[-1] if parts[-1] in ("tcp", "udp") else "tcp"
        for name, (_, data) in vals.items():
            if "/" not in name or "/" not in data:
                out.problems.append(f"{key}: {name} = {data!r} is not addr/port")
                continue
            la, lp = name.rsplit("/", 1)
            ca, cp = data.rsplit("/", 1)
            if not re.fullmatch(r"\d+(-\d+)?", lp) or not re.fullmatch(r"\d+(-\d+)?", cp):
                out.problems.append(f"{key}: {name} = {data!r}: port is not a number")
                continue
            out.entries.append(PortProxy(kind, la, lp, ca, cp, proto))
    return out


_POLICY_PAIR = re.compile(r"(Allow|Block)Inbound(Always)?,(Allow|Block)Outbound")


def parse_netsh_allprofiles(text: str) -> dict[str, ProfileSettings]:
    """``netsh advfirewall show allprofiles`` (any language): profiles in order Domain, Private,
    Public; the untranslated ``BlockInbound(Always),AllowOutbound`` pair of each. The on/off state
    is translated, so it is not read (``enabled`` stays the default)."""
    out = {}
    for name, m in zip(PROFILES, _POLICY_PAIR.finditer(text or "")):
        out[name] = ProfileSettings(
            name,
            default_inbound=m.group(1).lower(),
            default_outbound=m.group(3).lower(),
            shielded=bool(m.group(2)),
            explicit=["DefaultInboundAction", "DefaultOutboundAction"],
        )
    return out


# ---------------------------------------------------------------------------------------------
# PowerShell: Format-List / Format-Table text (pasted outputs) and the JSON batch
# ---------------------------------------------------------------------------------------------


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


def parse_hyperv_setting(obj: dict) -> HyperVSetting:
    """Get-NetFirewallHyperVVMSetting (JSON with ints, or Format-List words)."""

    def act(v):
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
        n = _int(cat)
        category = _CATEGORY.get(n, "unknown") if n is not None else (str(cat).strip() if cat else "unknown")
        if category not in ("Public", "Private", "DomainAuthenticated"):
            category = "unknown"
        out.append(
            ConnectionProfile(
                str(g.get("alias", g.get("interfacealias")) or ""),
                _int(g.get("ifindex", g.get("interfaceindex"))),
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


def parse_ps_rule(it: dict, source: str = "active") -> FwRule | None:
    g = {k.lower(): v for k, v in it.items()}
    rid = _text(g.get("id") or g.get("instanceid") or g.get("name"))
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
        name=_text(g.get("displayname", g.get("name") if "id" in g else None)) or rid,
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
        store=_text(g.get("src", g.get("policystoresource"))) or "",
        enforcement=", ".join(values(g.get("enforce", g.get("enforcementstatus")))),
        priority=_int(g.get("priority", g.get("rulepriority"))),
        other=other,
        store_type=store_type_of(g.get("srctype", g.get("policystoresourcetype"))),
    )


def parse_ps_rules(rules: Any, filters: Any = None, source: str = "active") -> tuple[list[FwRule], list[str]]:
    """Rules from the batch (filters already joined), or Get-NetFirewallRule JSON plus the six
    store-wide filter results ``{"Port": [...], "Address": [...], ...}`` joined by InstanceID."""
    joined: dict[str, dict] = {}
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
        port = _int(it.get("port", it.get("LocalPort")))
        addr = _text(it.get("addr", it.get("LocalAddress")))
        if port is None or not addr or not 0 < port <= 65535:
            continue
        out.append(
            WinListener(
                addr,
                port,
                _int(it.get("pid", it.get("OwningProcess"))),
                _text(it.get("process")),
                _text(it.get("path")) or None,
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
        alias = _text(g.get("alias", g.get("name", g.get("interfacealias"))))
        if not alias or not re.fullmatch(r"\{[0-9A-F-]{36}\}", guid):
            continue
        out.append(
            Adapter(
                alias,
                _int(g.get("ifindex", g.get("interfaceindex"))),
                guid,
                _int(g.get("type", g.get("interfacetype"))),
                _text(g.get("desc", g.get("interfacedescription"))) or "",
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
        lport, rport = _int(g.get("lport", g.get("localport"))), _int(g.get("rport", g.get("remoteport")))
        raddr = _text(g.get("raddr", g.get("remoteaddress")))
        if lport is not None and rport is not None and raddr:
            out.append(WinConnection(lport, raddr, rport))
    return out


def parse_firewall_products(items: Any) -> list[str]:
    """Security Center's FirewallProduct display names, without Windows' own firewall."""
    names = [_text(it.get("displayName") if isinstance(it, dict) else it) for it in as_list(items)]
    return [n for n in dict.fromkeys(names) if n and "windows" not in n.lower()]


def parse_service(obj: Any) -> Service | None:
    if not isinstance(obj, dict):
        return None
    g = {k.lower(): v for k, v in obj.items()}
    st, sty = g.get("status"), g.get("starttype")
    status = _SERVICE_STATUS.get(_int(st), None) if _int(st) is not None else (str(st).lower() if st else None)
    start = _START_TYPE.get(_int(sty), None) if _int(sty) is not None else (str(sty).lower() if sty else "unknown")
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
    errors = data.get("errors") if isinstance(data.get("errors"), dict) else {}
    problems: list[str] = []

    def part(key: str, parse, *, err_key: str | None = None):
        if (err_key or key) in errors:
            return Unknown(f"PowerShell: {errors[err_key or key]}", command)
        if data.get(key) is None:
            return Unknown(f"PowerShell printed no {key!r}", command)
        return parse(data.get(key))

    def rules(v):
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
            merged_published=(_int(data.get("v")) or 1) >= 2,
        )
    svc = part(
        "iphlpsvc", lambda v: parse_service(v) or Unknown("PowerShell printed an unreadable iphlpsvc state", command)
    )
    return PowerShellData(
        build=_text(data.get("build")),
        oem_codepage=_int(data.get("oemCodePage")),
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


def _hyperv_disable(data: dict, errors: dict, command: str) -> int | None | Unknown:
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
        else (_int(v) if _int(v) is not None else Unknown(f"HyperVFirewallDisable is {v!r}", HV_DISABLE_CMD))
    )


def _reg_keys(obj: Any, command: str) -> dict[str, bool | Unknown]:
    """``regKeys``: true (the key exists), false (it does not), or the error that reading it gave."""
    out: dict[str, bool | Unknown] = {}
    for name, v in obj.items() if isinstance(obj, dict) else ():
        out[str(name)] = v if isinstance(v, bool) else Unknown(f"PowerShell could not open the key: {v}", command)
    return out


# ---------------------------------------------------------------------------------------------
# pfirewall.log (for completeness: the #Fields line decides the columns)
# ---------------------------------------------------------------------------------------------


def parse_firewall_log(text: str) -> tuple[list[dict[str, str]], list[str]]:
    fields: list[str] = []
    rows, problems = [], []
    for n, line in enumerate((text or "").splitlines(), 1):
        if line.startswith("#Fields:"):
            fields = line[len("#Fields:") :].split()
            continue
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split()
        if not fields or len(parts) != len(fields):
            problems.append(f"line {n}: {len(parts)} fields, expected {len(fields)}")
            continue
        rows.append(dict(zip(fields, parts)))
    return rows, problems


# ---------------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------------


def _reg_failed(record: Record | None) -> bool:
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
        assert record is not None
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
    why = record_unknown(record, cmd)
    if why is not None:
        return why
    assert record is not None
    return parse_fw_policy(record.stdout, source)


def from_snapshot(snapshot: Snapshot) -> WindowsFacts:
    problems: list[str] = []
    ps_rec = snapshot.get("win.powershell")
    ps_cmd = command_for("win.powershell")
    why = record_unknown(ps_rec, ps_cmd)
    if why is not None:
        why = Unknown(why.reason, ps_cmd)  # the readable command, not 16 kB of base64
    ps: PowerShellData | Unknown = why if why is not None else parse_powershell(ps_rec.stdout, ps_cmd)  # type: ignore[union-attr]
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
        )  # type: ignore[union-attr]
    else:
        why = record_unknown(rec, command_for("win.portproxy"))
        portproxy = why if why is not None else parse_portproxy_registry(rec.stdout)  # type: ignore[union-attr]

    def excluded(name: str) -> ExcludedPorts | Unknown:
        r = snapshot.get(name)
        why = record_unknown(r, command_for(name))
        if why is not None:
            return why
        assert r is not None
        parsed = parse_excluded_ranges(r.stdout)
        if not parsed.ranges and re.search(r"\d+\s+\d+", r.stdout) is None and "---" not in r.stdout:
            return Unknown(f"netsh printed no port table: {first_line(r.stdout)[:80]!r}", r.command)
        return parsed

    ex4, ex6 = excluded("win.excluded-tcp4"), excluded("win.excluded-tcp6")

    facts = WindowsFacts(local, gpo, portproxy, ex4, ex6, ps, problems=problems)
    for part in (local, gpo, portproxy, ex4, ex6, ps):
        if not isinstance(part, Unknown):
            problems.extend(part.problems)
    # The effective view: ActiveStore when PowerShell could read it, else the registry.
    if isinstance(ps, PowerShellData) and not isinstance(ps.rules, Unknown):
        facts.rules, facts.rules_source = ps.rules, "ActiveStore (PowerShell)"
    elif not isinstance(local, Unknown) and not isinstance(gpo, Unknown):
        # Local rules stay listed: the profile's allow_local_rules (GPO AllowLocalPolicyMerge)
        # tells the evaluator, per profile, that they are ignored.
        merge_off = [n for n, v in gpo.profiles.items() if dword(v.get("AllowLocalPolicyMerge", "1")) == 0]
        if merge_off:
            problems.append(f"Group Policy turns local rules off (AllowLocalPolicyMerge=0) for {', '.join(merge_off)}")
        facts.rules = list(gpo.rules) + list(local.rules)
        facts.rules_source = "registry (local + Group Policy)"
        facts.rules_assumption = gpo.assumption or None
    else:
        facts.rules = local if isinstance(local, Unknown) else gpo  # type: ignore[assignment]
    if isinstance(ps, PowerShellData) and not isinstance(ps.profiles, Unknown):
        facts.profiles = ps.profiles
    elif not isinstance(local, Unknown) and not isinstance(gpo, Unknown):
        facts.profiles = registry_profiles(local, gpo)
    else:
        facts.profiles = local if isinstance(local, Unknown) else gpo  # type: ignore[assignment]
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


# ---------------------------------------------------------------------------------------------
# port/address matching shared with the evaluators
# ---------------------------------------------------------------------------------------------


def _in_port_token(port: int, token: str) -> bool | None:
    """True/False for a number or ``lo-hi``; None for a keyword (RPC, IPHTTPSIn, ...)."""
    t = token.strip()
    m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", t)
    if m:
        return int(m.group(1)) <= port <= int(m.group(2))
    if t.isdigit():
        return int(t) == port
    return None
