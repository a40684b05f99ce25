"""The Windows side: Windows Defender Firewall (registry and ActiveStore), the Hyper-V firewall
for the WSL VM, portproxy, excluded port ranges, connection profiles, Windows listeners.

Sources: docs/windows-firewall.md (formats and semantics), tests/fixtures/windows/ (real outputs).

One module per source: ``registry`` (reg.exe and rule strings), ``netsh`` (translated tables),
``powershell`` (the JSON batch and pasted Format-List/Table text), ``firewall_log``; ``model`` holds
the data, ``decode`` the enums and JSON shapes, ``matching`` what the evaluators share (ports,
address keywords), ``build`` the entry point ``from_snapshot`` and the effective view.

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

# Every name the single module had, so ``from wsltui.facts.windows import X`` keeps working.
from wsltui.facts.base import Unknown
from wsltui.facts.windows.model import (
    NOT_CAPTURED,
    PROFILES,
    WSL_VM_CREATOR,
    Adapter,
    ConnectionProfile,
    ExcludedPorts,
    ExcludedRange,
    FwRule,
    HyperV,
    HyperVSetting,
    PortProxies,
    PortProxy,
    PowerShellData,
    ProfileSettings,
    RegistryPolicy,
    Service,
    WinConnection,
    WindowsFacts,
    WinListener,
    enforcement_state,
)
from wsltui.facts.windows.decode import (
    action,
    as_list,
    direction,
    enabled,
    gpo_bool,
    profiles_of,
    protocols_of,
    store_type_of,
    unwrap,
    values,
)
from wsltui.facts.windows.matching import _in_port_token, address_keyword
from wsltui.facts.windows.registry import (
    dword,
    parse_fw_policy,
    parse_reg_query,
    parse_rule_string,
    profile_from_values,
    registry_profiles,
)
from wsltui.facts.windows.netsh import (
    parse_excluded_ranges,
    parse_netsh_allprofiles,
    parse_portproxy_netsh,
    parse_portproxy_registry,
)
from wsltui.facts.windows.powershell import (
    HV_DISABLE_CMD,
    parse_adapters,
    parse_connection_profiles,
    parse_connections,
    parse_firewall_products,
    parse_format_list,
    parse_format_table,
    parse_hyperv_setting,
    parse_listeners,
    parse_powershell,
    parse_ps_profiles,
    parse_ps_rule,
    parse_ps_rules,
    parse_service,
)
from wsltui.facts.windows.firewall_log import parse_firewall_log
from wsltui.facts.windows.build import from_snapshot

__all__ = [
    "Adapter",
    "ConnectionProfile",
    "ExcludedPorts",
    "ExcludedRange",
    "FwRule",
    "HV_DISABLE_CMD",
    "HyperV",
    "HyperVSetting",
    "NOT_CAPTURED",
    "PROFILES",
    "PortProxies",
    "PortProxy",
    "PowerShellData",
    "ProfileSettings",
    "RegistryPolicy",
    "Service",
    "Unknown",
    "WSL_VM_CREATOR",
    "WinConnection",
    "WinListener",
    "WindowsFacts",
    "_in_port_token",
    "action",
    "address_keyword",
    "as_list",
    "direction",
    "dword",
    "enabled",
    "enforcement_state",
    "from_snapshot",
    "gpo_bool",
    "parse_adapters",
    "parse_connection_profiles",
    "parse_connections",
    "parse_excluded_ranges",
    "parse_firewall_log",
    "parse_firewall_products",
    "parse_format_list",
    "parse_format_table",
    "parse_fw_policy",
    "parse_hyperv_setting",
    "parse_listeners",
    "parse_netsh_allprofiles",
    "parse_portproxy_netsh",
    "parse_portproxy_registry",
    "parse_powershell",
    "parse_ps_profiles",
    "parse_ps_rule",
    "parse_ps_rules",
    "parse_reg_query",
    "parse_rule_string",
    "parse_service",
    "profile_from_values",
    "profiles_of",
    "protocols_of",
    "registry_profiles",
    "store_type_of",
    "unwrap",
    "values",
]
