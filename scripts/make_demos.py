#!/usr/bin/env python3
"""Build the bundled demo snapshots (wsltui/demos/<name>/) from real tools (needs root).

Each demo is a real capture, made with wsltui's own probes inside a network namespace shaped
like a WSL2 VM (NAT: eth0 on a 172.x/20 subnet with a default route to the Windows host's
vEthernet address; mirrored: loopback0 plus an eth0 holding the host's own LAN address), with the
real firewall and real listening sockets. Only what cannot exist on Linux is written by hand on
top — the records of WSL itself (kernel release, ``wslinfo``, ``.wslconfig``, ``/etc/wsl.conf``)
and of the Windows host (``win.*``: the reg.exe, netsh.exe and PowerShell outputs, in the real
formats of tests/fixtures/windows and README "Windows records") — and each demo's ABOUT says
which. The first line of ABOUT is the demo's story (``wsltui --demo list``).

Run: ``sudo .venv/bin/python scripts/make_demos.py [NAME...]``
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from realtools import Firewalld, ip_batch, ns_argv, ns_run  # noqa: E402

from wsltui.probes.powershell import argv_for  # noqa: E402
from wsltui.records import BY_NAME  # noqa: E402

DEMOS = REPO / "wsltui" / "demos"
WSL_ADDR, WSL_GW, PREFIX = "172.28.165.23", "172.28.160.1", 20  # NAT: the VM and the host's vEthernet
LAN_ADDR, LAN_GW = "192.168.1.23", "192.168.1.1"  # the Windows host on its Wi-Fi (mirrored: Linux's eth0 too)
WIFI_MAC = "7c:8a:e1:c3:e8:64"  # the Windows Wi-Fi adapter's MAC, which mirrored eth0 copies
VIRTIO_MAC = "00:15:5d:6b:41:0e"  # consomme's virtio-net adapter (a Hyper-V MAC of its own)
STALE_WSL_ADDR = "172.23.188.236"  # the VM's address from an earlier boot (a NAT subnet WSL picked before)
KERNEL = "5.15.167.4-microsoft-standard-WSL2\n"
WSL_VERSION = "2.3.26\n"
MIRRORED_WSLCONFIG = "[wsl2]\nmemory=8GB\nnetworkingMode=mirrored\n"
CONSOMME_WSLCONFIG = "[wsl2]\nnetworkingMode=consomme\n"

# A tiny server that names itself like the developer's program and binds what it is told.
# IPv6 sockets are dual-stack (IPV6_V6ONLY 0), as Go and Node bind "[::]".
SERVER = r"""
import socket, sys, time
socks = []
for spec in sys.argv[1:]:
    proto, addr, port = spec.split(",")
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind((addr, int(port)))
    if proto == "tcp":
        s.listen(16)
    socks.append(s)
print("ready", flush=True)
time.sleep(3600)
"""


class WslVm:
    """A namespace that looks like a WSL2 VM, with a peer namespace standing in for Windows.

    NAT: eth0 on the WSL subnet, default route to the host's vEthernet address. Mirrored: eth0
    carries the host's LAN address (and MAC) with the LAN router as default route, plus
    ``loopback0``, the interface Windows' 127.0.0.1 traffic arrives on (no address). Consomme:
    the same addresses and loopback0 (microsoft/WSL ConsommeNetworking.cpp gives eth0 the host's
    preferred address and gateway), behind a virtio-net adapter with its own MAC."""

    def __init__(self, name: str, mode: str = "nat") -> None:
        self.ns, self.host_ns = f"demo-{name}", f"demo-{name}-win"
        self.servers: list[subprocess.Popen] = []
        self.bin = Path(tempfile.mkdtemp(prefix="wsltui-demo-bin-"))
        try:
            self._build(mode)
        except BaseException:
            self.close()
            raise

    def _build(self, mode: str) -> None:
        ip_batch(
            f"netns add {self.ns}\nnetns add {self.host_ns}\n"
            f"link add eth0 netns {self.ns} type veth peer name vEthernetWSL netns {self.host_ns}\n"
        )
        if mode in ("mirrored", "consomme"):
            ip_batch(f"link add loopback0 netns {self.ns} type veth peer name gelnic netns {self.host_ns}\n")
            ns_run(self.ns, ["sysctl", "-qw", "net.ipv6.conf.loopback0.disable_ipv6=1"])
            addr, gw, prefix = LAN_ADDR, LAN_GW, 24
            eth0_mac = WIFI_MAC if mode == "mirrored" else VIRTIO_MAC
            macs = f"link set eth0 address {eth0_mac}\nlink set loopback0 address 00:15:5d:4f:23:d9\nlink set loopback0 up\n"
        else:
            addr, gw, prefix = WSL_ADDR, WSL_GW, PREFIX
            macs = "link set eth0 address 00:15:5d:a3:7c:19\n"
        ip_batch(
            f"{macs}addr add {addr}/{prefix} dev eth0\nlink set lo up\nlink set eth0 up\n"
            f"route add default via {gw}\naddr add 10.255.255.254/32 dev lo\n",
            self.ns,
        )
        ip_batch(f"addr add {gw}/{prefix} dev vEthernetWSL\nlink set lo up\nlink set vEthernetWSL up\n", self.host_ns)

    def serve(self, program: str, *specs: str) -> None:
        """Start ``program`` (a python3 symlink, so ss/psutil show that name) with listeners."""
        exe = self.bin / program
        if not exe.exists():
            exe.symlink_to(sys.executable)
        proc = subprocess.Popen(ns_argv(self.ns, [str(exe), "-c", SERVER, *specs]), stdout=subprocess.PIPE, text=True)
        assert proc.stdout and proc.stdout.readline().strip() == "ready"
        self.servers.append(proc)

    def capture(self, out: Path, *, env: dict | None = None, binds=()) -> None:
        if out.exists():
            shutil.rmtree(out)
        ns_run(
            self.ns,
            [sys.executable, "-m", "wsltui", "snapshot", "--dir", str(out)],
            env={"PYTHONPATH": str(REPO), **(env or {})},
            binds=list(binds),
        )

    def close(self) -> None:
        for proc in self.servers:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        for ns in (self.ns, self.host_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(self.bin, ignore_errors=True)


def capture(
    out: Path, name: str, servers: dict[str, tuple[str, ...]], *, mode: str = "nat", firewalld: bool = False
) -> None:
    """The real part of a demo: a WslVm with ``servers`` (program -> listener specs), optionally
    firewalld 1.3 with its stock configuration (default zone public: ssh and dhcpv6-client)."""
    vm = WslVm(name, mode)
    fw = None
    try:
        if firewalld:
            fw = Firewalld(vm.ns)
        for program, specs in servers.items():
            vm.serve(program, *specs)
        vm.capture(out, env=fw.env if fw else None, binds=fw.binds if fw else ())
    finally:
        if fw:
            fw.stop()
        vm.close()


def dress_as_wsl(
    out: Path,
    *,
    mode: str = "nat",
    wslconfig: str | None = None,
    wsl_conf: str = "[boot]\nsystemd=true\n",
    kernel: str = KERNEL,
    wslinfo: bool = True,
) -> None:
    """Write the WSL records a Linux namespace cannot produce, and drop host-specific noise.
    ``wslinfo`` False: a WSL before 2.0, where the probe finds no wslinfo (``mode`` is then unused)."""
    (out / "kernel.osrelease.txt").write_text(kernel)
    (out / "wsl.networking-mode.txt").write_text(mode + "\n" if wslinfo else "")
    (out / "wsl.version.txt").write_text(WSL_VERSION if wslinfo else "")
    (out / "wsl.conf.txt").write_text(wsl_conf)
    for name in ("kernel.osrelease", "wsl.networking-mode", "wsl.version", "wsl.conf", "wsl.wslconfig"):
        (out / f"{name}.meta.json").unlink(missing_ok=True)
    if not wslinfo:
        for name in ("wsl.networking-mode", "wsl.version"):
            (out / f"{name}.meta.json").write_text(
                json.dumps(
                    {
                        "argv": list(argv_for(BY_NAME[name])),
                        "exit_code": None,
                        "stderr": "",
                        "seconds": 0.0,
                        "error": "wslinfo: command not found",
                    }
                )
                + "\n"
            )
    if wslconfig is None:
        (out / "wsl.wslconfig.txt").write_text("")
        (out / "wsl.wslconfig.meta.json").write_text(
            '{"argv": ["cat", "/mnt/c/Users/dev/.wslconfig"], "exit_code": 1,'
            ' "stderr": "cat: /mnt/c/Users/dev/.wslconfig: No such file or directory", "seconds": 0.11, "error": null}\n'
        )
    else:
        (out / "wsl.wslconfig.txt").write_text(wslconfig)
    (out / "snapshot.json").unlink(missing_ok=True)


# --- the Windows host ------------------------------------------------------------------------
#
# One description of the host (Windows) is written as all six win.* records, so the registry,
# netsh and PowerShell views always agree. Formats: reg.exe query /s (README "Windows records",
# docs/windows-firewall.md §1.4), netsh's excluded-range table (fixtures netsh_int_ipv4_show_
# excludedportrange_*), the win.powershell JSON (wsltui/probes/windows.ps1). Rule content follows
# the ActiveStore rules of fixtures Get-NetFirewallRule_ActiveStore_*_ws2022.json; the Hyper-V rules
# are the defaults WSL itself adds (microsoft/WSL src/windows/common/WslCoreFirewallSupport.cpp).

WSL_ADAPTER = "vEthernet (WSL (Hyper-V firewall))"  # the NAT switch's host side when the Hyper-V firewall is on
WSL_VM_ID = "9A1E3F52-6C0B-4D7E-8B25-0F6A9C4D2E71"  # the VM's own id: WSL's Hyper-V rule ids end with it
SVCHOST = r"%SystemRoot%\system32\svchost.exe"
REG_MISSING = "ERROR: The system was unable to find the specified registry key or value."


def rule(
    id_: str,
    name: str,
    *,
    action: str = "allow",
    dir_: str = "in",
    proto: int | None = None,
    lport: str = "Any",
    rport: str = "Any",
    raddr: str = "Any",
    program: str = "Any",
    service: str = "Any",
    profiles: tuple[str, ...] = (),
    group: str | None = None,
    enabled: bool = True,
    edge: bool = False,
) -> dict:
    """A Windows Defender Firewall rule, in one form for both the registry and PowerShell writers."""
    return dict(
        id=id_,
        name=name,
        action=action,
        dir=dir_,
        proto=proto,
        lport=lport,
        rport=rport,
        raddr=raddr,
        program=program,
        service=service,
        profiles=profiles,
        group=group,
        enabled=enabled,
        edge=edge,
    )


# Stock Windows 11 rules (as in the ws2022 ActiveStore fixture) and one the firewall prompt made
# when the developer first ran Node on Windows. None of them opens a port for WSL.
STOCK_RULES = [
    rule("CoreNet-IPv6-In", "Core Networking - IPv6 (IPv6-In)", proto=41, program="System", group="Core Networking"),
    rule(
        "DeliveryOptimization-UDP-In",
        "Delivery Optimization (UDP-In)",
        proto=17,
        lport="7680",
        program=SVCHOST,
        service="dosvc",
        group="Delivery Optimization",
        edge=True,
    ),
    rule(
        "NETDIS-UPnPHost-Out-TCP",
        "Network Discovery (UPnP-Out)",
        dir_="out",
        proto=6,
        rport="2869",
        program="System",
        group="Network Discovery",
        enabled=False,
    ),
    rule(
        "PlayTo-QWave-Out-TCP-PlayToScope",
        "Cast to Device functionality (qWave-TCP-Out)",
        dir_="out",
        proto=6,
        rport="2177",
        raddr="PlayToDevice",
        program=SVCHOST,
        service="Qwave",
        profiles=("Private", "Public"),
        group="Cast to Device functionality",
    ),
    rule(
        r"TCP Query User{8B1D5C3A-2E47-4F0B-9C61-7A3E5D2B1F08}C:\program files\nodejs\node.exe",
        "Node.js JavaScript Runtime",
        proto=6,
        program=r"C:\program files\nodejs\node.exe",
        profiles=("Private",),
    ),
]

# What Get-NetTCPConnection -State Listen shows on any Windows 11 (pid, process).
STOCK_LISTENERS = [
    ("0.0.0.0", 135, 1132, "svchost"),
    ("0.0.0.0", 445, 4, "System"),
    ("0.0.0.0", 5040, 6640, "svchost"),
    ("0.0.0.0", 7680, 9816, "svchost"),
    ("0.0.0.0", 49664, 1000, "lsass"),
    ("0.0.0.0", 49665, 872, "wininit"),
    ("0.0.0.0", 49666, 1648, "svchost"),
    ("0.0.0.0", 49667, 2108, "svchost"),
    ("0.0.0.0", 49668, 3344, "spoolsv"),
    ("0.0.0.0", 49669, 980, "services"),
    (LAN_ADDR, 139, 4, "System"),
    ("::", 135, 1132, "svchost"),
    ("::", 445, 4, "System"),
    ("::", 7680, 9816, "svchost"),
    ("::", 49664, 1000, "lsass"),
    ("::", 49665, 872, "wininit"),
    ("::", 49666, 1648, "svchost"),
    ("::", 49667, 2108, "svchost"),
    ("::", 49668, 3344, "spoolsv"),
    ("::", 49669, 980, "services"),
]
WSLRELAY_PID = 5120
WSLRELAY_PATH = r"C:\Program Files\WSL\wslrelay.exe"  # Store WSL 2.x
WSLHOST_PATH = r"C:\Windows\System32\wslhost.exe"  # the inbox WSL's relay (and Store builds before 2.0)
DOCKER_BACKEND = r"C:\Program Files\Docker\Docker\resources\com.docker.backend.exe"
WIN10_BUILD, WIN11_BUILD = "19045.5737", "22631.4037"
NO_HYPERV = "Get-NetFirewallHyperVVMSetting is not available (Windows 10 or an older Windows 11)"

# netsh int ipv4/ipv6 show excludedportrange protocol=tcp: WSD's 5357 and Hyper-V/WinNAT's blocks of 100.
STOCK_EXCLUDED = [(5357, 5357, False), (49681, 49780, False), (49781, 49880, False)]


@dataclass
class Windows:
    """The Windows host of a demo: the stock parts above plus what the story needs."""

    mode: str = "nat"
    rules: list[dict] = field(default_factory=list)  # user rules on top of STOCK_RULES
    relay: tuple[tuple[str, int], ...] = ()  # (address, port) WSL's relay listens on (NAT localhost forwarding)
    relay_path: str = WSLRELAY_PATH  # which relay: wslrelay.exe (WSL 2.x) or wslhost.exe (before 2.0)
    # other Windows listeners: (address, port, pid, process[, path])
    listeners: list[tuple] = field(default_factory=list)
    build: str = WIN11_BUILD
    hyperv: bool = True  # the Hyper-V firewall exists (Windows 11 22H2 and later) and is on for WSL
    excluded: list[tuple[int, int, bool]] = field(default_factory=list)  # extra TCP exclusions (v4 and v6)
    portproxy: list[tuple[str, int, str, int]] = field(default_factory=list)  # v4tov4 listen addr/port -> connect

    @property
    def adapters(self) -> list[dict]:
        conn = [{"alias": "Wi-Fi", "ifIndex": 12, "category": 1}]  # Private
        if self.mode == "nat":  # the switch's name says whether WSL attached the Hyper-V firewall
            conn.append({"alias": WSL_ADAPTER if self.hyperv else "vEthernet (WSL)", "ifIndex": 58, "category": 0})
        return conn


def _reg_rule(r: dict) -> str:
    """[MS-GPFAS] 2.2.2 rule string, as reg.exe prints it."""
    parts = [
        "v2.31",
        f"Action={r['action'].capitalize()}",
        f"Active={'TRUE' if r['enabled'] else 'FALSE'}",
        f"Dir={r['dir'].capitalize()}",
    ]
    if r["proto"] is not None:
        parts.append(f"Protocol={r['proto']}")
    parts += [f"Profile={p}" for p in r["profiles"]]
    if r["lport"] != "Any":
        parts.append(f"LPort={r['lport']}")
    if r["rport"] != "Any":
        parts.append(f"RPort={r['rport']}")
    if r["raddr"] != "Any":
        parts += [f"RA42={r['raddr']}", f"RA62={r['raddr']}"]
    if r["program"] != "Any":
        parts.append(f"App={r['program']}")
    if r["service"] != "Any":
        parts.append(f"Svc={r['service']}")
    parts.append(f"Name={r['name']}")
    if r["group"]:
        parts.append(f"EmbedCtxt={r['group']}")
    if r["edge"]:
        parts.append("Edge=TRUE")
    return "|".join(parts) + "|"


def _ps_rule(r: dict) -> dict:
    """The same rule as the win.powershell batch prints it (Get-NetFirewallRule joined with its filters)."""
    bits = {"Domain": 1, "Private": 2, "Public": 4}
    program = r["program"].replace("%SystemRoot%", r"C:\Windows")
    return {
        "id": r["id"],
        "name": r["name"],
        "group": r["group"],
        "enabled": 1 if r["enabled"] else 2,
        "dir": 1 if r["dir"] == "in" else 2,
        "action": 2 if r["action"] == "allow" else 4,
        "profile": sum(bits[p] for p in r["profiles"]),
        "edge": 1 if r["edge"] else 0,
        "primary": 1,
        "enforce": "Enforced" if r["enabled"] else "OptimizedOut",
        "src": "PersistentStore",
        "srcType": 1,
        "proto": {None: "Any", 6: "TCP", 17: "UDP"}.get(r["proto"], str(r["proto"])),
        "lport": r["lport"],
        "rport": r["rport"],
        "icmp": "Any",
        "laddr": "Any",
        "raddr": r["raddr"],
        "program": program,
        "package": "",
        "service": r["service"],
        "ifAlias": "Any",
        "ifType": "Any",
    }


def _hyperv_rule(kind: str, name: str, proto: str, lport: str, laddr: str = "Any") -> dict:
    return {
        "id": f"WslCore-Allow-Inbound-{kind}-1-{WSL_VM_ID}",
        "name": name,
        "enabled": 1,
        "dir": 1,
        "action": 2,
        "proto": proto,
        "lport": lport,
        "rport": "Any",
        "laddr": laddr,
        "raddr": "Any",
        "profile": 0,
        "priority": None,
    }


HYPERV_RULES = [  # the only Hyper-V rules WSL adds: ICMP errors and mDNS (nothing for any TCP port)
    _hyperv_rule("ICMPv6", "WslCore Inbound ICMPv6 Default Allow Rule", "ICMPv6", "135,136,1,3"),
    _hyperv_rule("ICMPv4", "WslCore Inbound ICMPv4 Default Allow Rule", "ICMPv4", "3,11"),
    _hyperv_rule("mDNS-IPv4", "WslCore Inbound IPv4 mDNS Default Allow Rule", "UDP", "5353", "224.0.0.251"),
    _hyperv_rule("mDNS-IPv6", "WslCore Inbound IPv6 mDNS Default Allow Rule", "UDP", "5353", "ff02::fb"),
]


def _reg_query(keys: list[tuple[str, list[tuple[str, str, str]]]]) -> str:
    """reg.exe query /s output: a blank line, then per key its full path and its values."""
    out = [""]
    for key, vals in keys:
        out.append(f"HKEY_LOCAL_MACHINE\\{key}")
        out += [f"    {name}    {typ}    {data}" for name, typ, data in vals]
        out.append("")
    return "\n".join(out) + "\n"


def _excluded_table(rows: list[tuple[int, int, bool]]) -> str:
    body = "".join(f"{s:>10}  {e:>10}     {'*' if admin else ''}\n" for s, e, admin in sorted(rows))
    return (
        "\nProtocol tcp Port Exclusion Ranges\n\nStart Port    End Port      \n----------    --------      \n"
        f"{body}\n* - Administered port exclusions.\n\n"
    )


def _missing_key(out: Path, record: str) -> None:
    """reg.exe on a key that does not exist: no output, exit 1 (e.g. no Group Policy on a home PC)."""
    (out / f"{record}.txt").write_text("")
    (out / f"{record}.meta.json").write_text(
        json.dumps(
            {
                "argv": list(argv_for(BY_NAME[record])),
                "exit_code": 1,
                "stderr": REG_MISSING,
                "seconds": 0.09,
                "error": None,
            }
        )
        + "\n"
    )


def dress_as_windows(out: Path, win: Windows) -> None:
    """Write the six win.* records for ``win`` (hand-written; the formats are the real tools'), over
    the "no Windows interop" error records the capture left."""
    for name in (
        "win.fw-policy",
        "win.fw-policy-gpo",
        "win.portproxy",
        "win.excluded-tcp4",
        "win.excluded-tcp6",
        "win.powershell",
    ):
        (out / f"{name}.meta.json").unlink(missing_ok=True)
    rules = STOCK_RULES + win.rules
    policy = r"SYSTEM\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy"
    profile_vals = [
        ("DisableNotifications", "REG_DWORD", "0x0"),
        ("EnableFirewall", "REG_DWORD", "0x1"),
        ("DoNotAllowExceptions", "REG_DWORD", "0x0"),
    ]
    (out / "win.fw-policy.txt").write_text(
        _reg_query(
            [
                (policy, []),
                (policy + r"\DomainProfile", profile_vals),
                (policy + r"\FirewallRules", [(r["id"], "REG_SZ", _reg_rule(r)) for r in rules]),
                (policy + r"\PublicProfile", profile_vals),
                (policy + r"\StandardProfile", profile_vals),
            ]
        )
    )
    _missing_key(out, "win.fw-policy-gpo")
    if win.portproxy:
        (out / "win.portproxy.txt").write_text(
            _reg_query(
                [
                    (r"SYSTEM\CurrentControlSet\Services\PortProxy", []),
                    (r"SYSTEM\CurrentControlSet\Services\PortProxy\v4tov4", []),
                    (
                        r"SYSTEM\CurrentControlSet\Services\PortProxy\v4tov4\tcp",
                        [(f"{la}/{lp}", "REG_SZ", f"{ca}/{cp}") for la, lp, ca, cp in win.portproxy],
                    ),
                ]
            )
        )
    else:
        _missing_key(out, "win.portproxy")
    for fam in ("4", "6"):
        (out / f"win.excluded-tcp{fam}.txt").write_text(_excluded_table(STOCK_EXCLUDED + win.excluded))
    relay = win.relay_path.rsplit("\\", 1)[-1].removesuffix(".exe")
    listeners = STOCK_LISTENERS + win.listeners + [(a, p, WSLRELAY_PID, relay, win.relay_path) for a, p in win.relay]
    hyperv = (
        {
            "available": True,
            "setting": {"enabled": 1, "inb": 4, "outb": 2, "loopback": 1, "hostMerge": 1},
            "profiles": [
                {"name": n, "enabled": 1, "inb": 4, "outb": 2, "allowLocal": 1} for n in ("Domain", "Private", "Public")
            ],
            "rules": HYPERV_RULES,
        }
        if win.hyperv
        else {"available": False, "setting": None, "profiles": [], "rules": []}
    )
    doc = {
        "v": 1,
        "build": win.build,
        "oemCodePage": 437,
        "userProfile": "C:\\Users\\dev",
        "profiles": [
            {"name": n, "enabled": 1, "inb": 4, "outb": 2, "allowInboundRules": 1, "allowLocal": 1, "disabledIf": None}
            for n in ("Domain", "Private", "Public")
        ],
        "rules": [_ps_rule(r) for r in rules],
        "conn": win.adapters,
        "hyperv": hyperv,
        "listeners": [
            {"addr": a, "port": p, "pid": pid, "process": proc, **({"path": path[0]} if path else {})}
            for a, p, pid, proc, *path in listeners
        ],
        "iphlpsvc": {"status": 4, "startType": 2},
        "errors": {} if win.hyperv else {"hyperv": NO_HYPERV},
    }
    (out / "win.powershell.txt").write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")


def about(
    story: str,
    real: str,
    wslconfig: str,
    windows: str = "",
    hyperv: str = "",
    *,
    wslinfo: str = "wslinfo",
    system: str = "Windows 11 22631",
    firewall: str | None = None,
) -> str:
    """ABOUT: the story (first line, shown by ``--demo list``), then what is real and what is not."""
    firewall = (
        firewall
        or f"Hyper-V firewall on for WSL (inbound Block, loopback allowed, WSL's default ICMP/mDNS rules{hyperv})"
    )
    return (
        f"{story}\nReal capture: {real}\nHand-written: kernel release, {wslinfo}, /etc/wsl.conf, .wslconfig ({wslconfig}).\n"
        f"Hand-written Windows host (win.* records in the real reg.exe/netsh/PowerShell formats): {system}, "
        f"Wi-Fi {LAN_ADDR} on a Private network, firewall profiles on (inbound Block), stock rules only{windows}, no "
        f"Group Policy, {firewall}.\n"
    )


# --- the demos -------------------------------------------------------------------------------


def nat_firewalld_reject(out: Path) -> str:
    capture(out, "fwrej", {"main": ("tcp,0.0.0.0,8080",), "node": ("tcp,::,3000",)}, firewalld=True)
    dress_as_wsl(out)
    dress_as_windows(out, Windows(relay=(("127.0.0.1", 8080), ("::1", 3000))))
    return about(
        "NAT mode; firewalld rejects the developer's port 8080 on eth0 (public zone allows only ssh)",
        "firewalld 1.3 (nftables backend, stock zones) and two listeners, main on 0.0.0.0:8080 and node on "
        "[::]:3000 (dual-stack).",
        "absent",
        "; wslrelay on 127.0.0.1:8080 and [::1]:3000",
    )


def nat_healthy(out: Path) -> str:
    capture(out, "ok", {"main": ("tcp,0.0.0.0,8080", "udp,0.0.0.0,5353")})
    dress_as_wsl(out)
    dress_as_windows(out, Windows(relay=(("127.0.0.1", 8080),)))
    return about(
        "NAT mode, no Linux firewall, a Go server on 0.0.0.0:8080: reachable from Windows",
        "empty rulesets, listeners main on 0.0.0.0:8080/tcp and 0.0.0.0:5353/udp.",
        "absent",
        "; wslrelay on 127.0.0.1:8080",
    )


def nat_dual_stack(out: Path) -> str:
    capture(out, "dual", {"main": ("tcp,::,8080",)})
    dress_as_wsl(out)
    dress_as_windows(out, Windows(relay=(("::1", 8080),)))
    return about(
        "NAT mode; a Go server on [::]:8080 (dual-stack): Windows 127.0.0.1:8080 is refused, the relay binds only [::1]",
        "empty rulesets, one listener main on [::]:8080 with v6only 0 and no IPv4 socket.",
        "absent",
        "; wslrelay on [::1]:8080 only",
    )


def nat_excluded_port(out: Path) -> str:
    capture(out, "excl", {"main": ("tcp,0.0.0.0,50000",)})
    dress_as_wsl(out)
    hyperv_blocks = [(49935, 50034, False), (50035, 50134, False)]
    dress_as_windows(out, Windows(excluded=hyperv_blocks))  # the relay could not bind: no wslrelay
    return about(
        "NAT mode; port 50000 is inside a Windows excluded range (Hyper-V reserved 49935-50034): the relay cannot bind it",
        "empty rulesets, one listener main on 0.0.0.0:50000.",
        "absent",
        "; Hyper-V/WinNAT excluded ranges 49935-50034 and 50035-50134, so no wslrelay listener for 50000",
    )


def mirrored_hyperv_lan(out: Path) -> str:
    capture(out, "mirr", {"main": ("tcp,0.0.0.0,8080",)}, mode="mirrored")
    dress_as_wsl(out, mode="mirrored", wslconfig=MIRRORED_WSLCONFIG)
    dress_as_windows(out, Windows(mode="mirrored"))
    return about(
        "Mirrored mode; the Hyper-V firewall's default inbound Block stops the LAN at port 8080 (Windows 127.0.0.1 works)",
        f"empty rulesets, loopback0 and eth0 with the host's LAN address {LAN_ADDR}/24 (and its Wi-Fi MAC), "
        f"default route via {LAN_GW}, one listener main on 0.0.0.0:8080. WSL's mirrored policy routing "
        "(ip rules, tables 127/128) is not reproduced.",
        "networkingMode=mirrored",
        "; no vEthernet (WSL) adapter",
        " only: none for 8080",
    )


def lan_stale_portproxy(out: Path) -> str:
    capture(out, "proxy", {"main": ("tcp,0.0.0.0,8080",)})
    dress_as_wsl(out)
    allow = rule("{5E3C6A7B-1D2F-4B8E-A7C0-3F9D1E6B2A45}", "WSL dev server 8080", proto=6, lport="8080")
    dress_as_windows(
        out,
        Windows(
            rules=[allow],
            portproxy=[("0.0.0.0", 8080, STALE_WSL_ADDR, 8080)],
            listeners=[("0.0.0.0", 8080, 3712, "svchost")],
        ),
    )
    return about(
        f"NAT mode; the LAN times out: portproxy still forwards 0.0.0.0:8080 to {STALE_WSL_ADDR}, WSL's address from an earlier boot",
        f"empty rulesets, one listener main on 0.0.0.0:8080, eth0 {WSL_ADDR}/{PREFIX}.",
        "absent",
        f" plus the inbound allow rule 'WSL dev server 8080' (TCP 8080, any profile); portproxy v4tov4 "
        f"0.0.0.0:8080 -> {STALE_WSL_ADDR}:8080, served by iphlpsvc (svchost on 0.0.0.0:8080, so wslrelay has no "
        "127.0.0.1:8080)",
    )


def nat_old_wsl(out: Path) -> str:
    capture(out, "old", {"main": ("tcp,0.0.0.0,8080",)})
    dress_as_wsl(out, kernel="5.10.102.1-microsoft-standard-WSL2\n", wslinfo=False)
    dress_as_windows(
        out, Windows(relay=(("127.0.0.1", 8080),), relay_path=WSLHOST_PATH, build=WIN10_BUILD, hyperv=False)
    )
    return about(
        "WSL before 2.0 (inbox WSL on Windows 10, no wslinfo): the relay is wslhost.exe, 8080 is reachable from Windows",
        "empty rulesets, one listener main on 0.0.0.0:8080.",
        "absent",
        f"; wslhost.exe ({WSLHOST_PATH}) on 127.0.0.1:8080, the NAT switch vEthernet (WSL)",
        wslinfo="wslinfo (not found)",
        system=f"Windows 10 22H2 ({WIN10_BUILD})",
        firewall="no Hyper-V firewall (Windows 10 has none)",
    )


def mirrored_docker_port(out: Path) -> str:
    capture(out, "dock", {"postgres": ("tcp,0.0.0.0,5432",)}, mode="mirrored")  # the server of 8080 failed to bind
    dress_as_wsl(out, mode="mirrored", wslconfig=MIRRORED_WSLCONFIG)
    docker = [(a, 8080, 9120, "com.docker.backend", DOCKER_BACKEND) for a in ("0.0.0.0", "::")]
    dress_as_windows(out, Windows(mode="mirrored", listeners=docker))
    return about(
        "Mirrored mode; Docker Desktop's com.docker.backend holds 8080 on Windows, so the Linux server's bind() "
        "failed (EADDRINUSE)",
        f"empty rulesets, loopback0 and eth0 with the host's LAN address {LAN_ADDR}/24, one listener postgres on "
        "0.0.0.0:5432 and none on 8080 (the developer's server could not bind it).",
        "networkingMode=mirrored",
        f"; no vEthernet (WSL) adapter; com.docker.backend ({DOCKER_BACKEND}) on 0.0.0.0:8080 and [::]:8080",
        " only: none for 8080",
    )


def consomme_lan(out: Path) -> str:
    capture(out, "cons", {"main": ("tcp,0.0.0.0,8080",)}, mode="consomme")
    dress_as_wsl(out, mode="consomme", wslconfig=CONSOMME_WSLCONFIG)
    dress_as_windows(out, Windows(mode="consomme"))
    return about(
        "Consomme mode; Windows 127.0.0.1:8080 reaches the server through consomme's loopback socket; from the LAN "
        "only a program rule (node.exe) could allow it, and which program holds consomme's host socket is not known",
        f"empty rulesets, loopback0 and eth0 with the host's LAN address {LAN_ADDR}/24 (consomme gives the VM "
        f"the host's preferred address), default route via {LAN_GW}, one listener main on 0.0.0.0:8080.",
        "networkingMode=consomme",
        "; no vEthernet (WSL) adapter; consomme's host sockets are not in the "
        "listener table (which Windows process holds them is not known)",
        firewall="Hyper-V firewall present but never attached in consomme mode",
    )


# Docker Engine in the distro (iptables-nft, as on Ubuntu): the bridge docker0, container "web"
# (nginx on 0.0.0.0:80) published as 8080, and a DOCKER-USER rule that admits only the LAN.
DOCKER_SUBNET, DOCKER_GW, CONTAINER = "172.17.0.0/16", "172.17.0.1", "172.17.0.2"
DOCKER_RULES = f"""*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s {DOCKER_SUBNET} ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination {CONTAINER}:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-BRIDGE - [0:0]
:DOCKER-CT - [0:0]
:DOCKER-FORWARD - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-FORWARD
-A DOCKER ! -i docker0 -o docker0 -p tcp -m tcp -d {CONTAINER}/32 --dport 80 -j ACCEPT
-A DOCKER ! -i docker0 -o docker0 -j DROP
-A DOCKER-BRIDGE -o docker0 -j DOCKER
-A DOCKER-CT -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-FORWARD -j DOCKER-CT
-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1
-A DOCKER-FORWARD -j DOCKER-BRIDGE
-A DOCKER-FORWARD -i docker0 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-USER -i eth0 ! -s 192.168.0.0/16 -m conntrack --ctstate NEW -j DROP
COMMIT
"""
DOCKER_PS = {
    "Command": "\"/docker-entrypoint.sh nginx -g 'daemon off;'\"",
    "CreatedAt": "2026-12-01 09:12:44 +0000 UTC",
    "ID": "5f0c1e9a7d3b2c4e8f6a1b0d9c7e5f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e",
    "Image": "nginx:1.27",
    "Labels": "maintainer=NGINX Docker Maintainers <docker-maint@nginx.com>",
    "LocalVolumes": "0",
    "Mounts": "",
    "Names": "web",
    "Networks": "bridge",
    "Ports": "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp",
    "RunningFor": "2 hours ago",
    "Size": "0B",
    "State": "running",
    "Status": "Up 2 hours",
}
DOCKER_VERSION = {
    "Client": {"Version": "28.3.2", "ApiVersion": "1.51", "Os": "linux", "Arch": "amd64"},
    "Server": {
        "Platform": {"Name": "Docker Engine - Community"},
        "Version": "28.3.2",
        "ApiVersion": "1.51",
        "Os": "linux",
        "Arch": "amd64",
        "KernelVersion": KERNEL.strip(),
    },
}


def nat_docker_user(out: Path) -> str:
    vm = WslVm("dockusr")
    ctr = f"{vm.ns}-ctr"
    try:
        ip_batch(f"netns add {ctr}\n")
        ip_batch(
            f"link add docker0 type bridge\nlink add veth3b1f0c2 type veth peer name eth0 netns {ctr}\n"
            f"link set veth3b1f0c2 master docker0\naddr add {DOCKER_GW}/16 dev docker0\nlink set docker0 up\n"
            "link set veth3b1f0c2 up\n",
            vm.ns,
        )
        ip_batch(
            f"addr add {CONTAINER}/16 dev eth0\nlink set eth0 up\nlink set lo up\nroute add default via {DOCKER_GW}\n",
            ctr,
        )
        ns_run(vm.ns, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        ns_run(vm.ns, ["iptables-nft-restore"], input=DOCKER_RULES)
        vm.serve("docker-proxy", "tcp,0.0.0.0,8080")  # userland-proxy, Docker's default
        nginx = vm.bin / "nginx"
        nginx.symlink_to(sys.executable)
        web = subprocess.Popen(
            ["ip", "netns", "exec", ctr, str(nginx), "-c", SERVER, "tcp,0.0.0.0,80"], stdout=subprocess.PIPE, text=True
        )
        vm.servers.append(web)
        assert web.stdout and web.stdout.readline().strip() == "ready"
        vm.capture(out)
        _only_namespace(out, web.pid)
    finally:
        vm.close()
        subprocess.run(["ip", "netns", "del", ctr], capture_output=True)
    (out / "docker.ps.txt").write_text(json.dumps(DOCKER_PS) + "\n")
    (out / "docker.version.txt").write_text(json.dumps(DOCKER_VERSION) + "\n")
    for name in ("docker.ps", "docker.version"):
        (out / f"{name}.meta.json").unlink(missing_ok=True)
    dress_as_wsl(out)
    dress_as_windows(out, Windows(relay=(("127.0.0.1", 8080),)))
    return about(
        "NAT mode; Docker Engine publishes 8080 (container web:80), but a DOCKER-USER rule that admits only the "
        "LAN drops the Windows host's address",
        f"Docker Engine 28's iptables-nft rules (DOCKER-USER: -i eth0 ! -s 192.168.0.0/16 -j DROP), docker0 "
        f"{DOCKER_GW}/16 with container namespace {CONTAINER} (nginx on 0.0.0.0:80), ip_forward on, docker-proxy "
        "on 0.0.0.0:8080; only the container's namespace is kept in net.netns-sockets. "
        "Hand-written: docker ps (web, nginx:1.27, 0.0.0.0:8080->80/tcp) and docker version (Docker Engine - "
        "Community 28.3.2).",
        "absent",
        "; wslrelay on 127.0.0.1:8080",
    )


def _only_namespace(out: Path, pid: int) -> None:
    """net.netns-sockets lists every namespace of the machine that built the demo: keep the container's."""
    path = out / "net.netns-sockets.txt"
    data = json.loads(path.read_text())
    data["namespaces"] = [n for n in data["namespaces"] if n["pid"] == pid]
    data["unreadable_processes"] = 0
    path.write_text(json.dumps(data, indent=1) + "\n")


BUILDERS = {
    "nat-firewalld-reject": nat_firewalld_reject,
    "nat-healthy": nat_healthy,
    "nat-dual-stack": nat_dual_stack,
    "nat-excluded-port": nat_excluded_port,
    "mirrored-hyperv-lan": mirrored_hyperv_lan,
    "lan-stale-portproxy": lan_stale_portproxy,
    "nat-old-wsl": nat_old_wsl,
    "mirrored-docker-port": mirrored_docker_port,
    "consomme-lan": consomme_lan,
    "nat-docker-user": nat_docker_user,
}


def main(names: list[str]) -> None:
    if os.geteuid() != 0:
        sys.exit("make_demos.py needs root (it builds namespaces)")
    unknown = [n for n in names if n not in BUILDERS]
    if unknown:
        sys.exit(f"no demo called {', '.join(unknown)}; known: {', '.join(BUILDERS)}")
    for name in names or BUILDERS:
        out = DEMOS / name
        start = time.monotonic()
        text = BUILDERS[name](out)
        (out / "ABOUT").write_text(text)
        print(f"{name}: {len(list(out.glob('*.txt')))} records in {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
