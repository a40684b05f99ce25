"""The Windows side's facts as data: firewall rules, profiles, registry policy, Hyper-V firewall,
portproxy, excluded port ranges, connection profiles, adapters, listeners, services."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wsltui.facts.base import NOT_CAPTURED, Unknown
from wsltui.facts.windows.matching import _in_port_token

WSL_VM_CREATOR = "{40E0AC32-46A5-438A-A0B2-2B479E8F2E90}"
PROFILES = ("Domain", "Private", "Public")


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
