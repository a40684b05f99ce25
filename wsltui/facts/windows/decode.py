"""Reading the values Windows prints: ConvertTo-Json's shapes and the firewall's enums, as
integers or as names."""

from __future__ import annotations

import re
from typing import Any

from wsltui.facts.windows.model import PROFILES


def as_text(v: Any) -> str | None:
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


def as_list(v: Any) -> list[Any]:
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


def as_int(v: Any) -> int | None:
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
_PROTO_NAMES = {"tcp": 6, "udp": 17, "icmpv4": 1, "icmpv6": 58, "gre": 47}


def action(v: Any) -> str | None:
    n = as_int(v)
    if n is not None:
        return _ACTION.get(n, "unknown")
    return _ACTION_NAMES.get(str(v).strip().lower(), "unknown") if v is not None else None


def direction(v: Any) -> str:
    n = as_int(v)
    if n is not None:
        return _DIRECTION.get(n, "unknown")
    return _DIRECTION_NAMES.get(str(v).strip().lower(), "unknown")


def gpo_bool(v: Any) -> bool | None:
    """GpoBoolean: 0 False, 1 True, 2 NotConfigured (-> None); also True/False words."""
    if isinstance(v, bool):
        return v
    n = as_int(v)
    if n is not None:
        return {0: False, 1: True}.get(n)
    t = str(v).strip().lower() if v is not None else ""
    return {"true": True, "false": False}.get(t)


def enabled(v: Any) -> bool:
    """Rule ``Enabled``: 1 True, 2 False (CIM), or True/False."""
    n = as_int(v)
    if n is not None:
        return n == 1
    return str(v).strip().lower() == "true"


def profiles_of(v: Any) -> list[str]:
    """Rule ``Profile``: bitmask (0 any, 1 Domain, 2 Private, 4 Public) or "Domain, Private"."""
    n = as_int(v)
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
    n = as_int(v)
    if n is not None:
        return _STORE_TYPES.get(n, f"type {n}" if n else "")
    t = str(v or "").strip()
    return "" if t.lower() in ("none", "null") else t


def protocols_of(v: Any) -> list[int] | None:
    """ "TCP", "6", 6, "Any" -> [6] / [] (any). None: not understood."""
    out = []
    for t in values(v):
        n = as_int(t)
        if n is None:
            n = _PROTO_NAMES.get(t.lower())
        if n is None or not 0 <= n <= 255:
            return None
        out.append(n)
    return out
