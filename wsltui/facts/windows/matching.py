"""Port and address matching shared with the evaluators."""

from __future__ import annotations

import re

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


def _in_port_token(port: int, token: str) -> bool | None:
    """True/False for a number or ``lo-hi``; None for a keyword (RPC, IPHTTPSIn, ...)."""
    t = token.strip()
    m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", t)
    if m:
        return int(m.group(1)) <= port <= int(m.group(2))
    if t.isdigit():
        return int(t) == port
    return None
