"""What every Windows hop shares: the packet as Windows sees it, the commands that would tell
what the facts lack, and where the Windows facts are."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from wsltui.facts import Facts
from wsltui.facts.base import Unknown
from wsltui.facts.windows import WSL_VM_CREATOR, WindowsFacts
from wsltui.simulation.trace import Hop
from wsltui.vocabulary import Verdict

PS = "powershell.exe -NoProfile -NonInteractive -EncodedCommand <wsltui/probes/windows.ps1>"
FW_CMD = "powershell.exe Get-NetFirewallRule -PolicyStore ActiveStore; Get-NetFirewallProfile -PolicyStore ActiveStore"
HV_CMD = f"powershell.exe Get-NetFirewallHyperVVMSetting -PolicyStore ActiveStore -Name '{WSL_VM_CREATOR}'"
EXCL_CMD = "netsh.exe int ipv4 show excludedportrange protocol=tcp"
PROXY_CMD = "netsh.exe interface portproxy show all"
LISTEN_CMD = "powershell.exe Get-NetTCPConnection -State Listen"
ADAPTER_CMD = "powershell.exe Get-NetAdapter -IncludeHidden | Select-Object Name, InterfaceGuid, InterfaceType"
IPCONFIG_CMD = "powershell.exe Get-NetIPConfiguration -InterfaceAlias"
SVCHOST = r"%SystemRoot%\System32\svchost.exe"
PROTO_NUM = {"tcp": 6, "udp": 17}
_ENV = {
    "%systemroot%": r"c:\windows",
    "%windir%": r"c:\windows",
    "%systemdrive%": "c:",
    "%programfiles%": r"c:\program files",
    "%programfiles(x86)%": r"c:\program files (x86)",
}


@dataclass
class WinPacket:
    """A packet as the Windows side sees it."""

    direction: str  # "in" | "out"
    proto: str  # "tcp" | "udp"
    local_port: int | None  # the service port for inbound; None for outbound (an ephemeral port)
    remote_address: str | None = None
    local_address: str | None = None
    remote_port: int | None = None
    interface: str | None = None  # adapter alias ("Ethernet", "vEthernet (WSL)")
    program: str | None = None  # full path or exe name of the Windows program that owns the socket
    service: str | None = None  # service short name (iphlpsvc for portproxy)
    loopback: bool = False
    # What the address keywords LocalSubnet and DefaultGateway stand for on ``interface``, when
    # the facts tell it (None: not known, so a rule naming them cannot be decided).
    onlink: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None = None
    gateways: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...] | None = None

    @property
    def port(self) -> int | None:
        """The service's port: local for inbound, remote for outbound."""
        return self.local_port if self.direction == "in" else self.remote_port


def unknown_hop(layer: str, what: str, why: Unknown | str, command: str = "") -> Hop:
    if isinstance(why, Unknown):
        return Hop(layer, Verdict.UNKNOWN, what, reason=str(why))
    return Hop(layer, Verdict.UNKNOWN, what, reason=f"unknown: {why}" + (f" (run: {command})" if command else ""))


def captured(facts: Facts) -> WindowsFacts | None:
    """The Windows facts, or None when the snapshot holds no Windows record at all."""
    win = facts.windows
    return win if win is not None and win.captured else None


def norm_program(p: str) -> str:
    p = p.strip().strip('"').lower().replace("/", "\\")
    for k, v in _ENV.items():
        p = p.replace(k, v)
    return p
