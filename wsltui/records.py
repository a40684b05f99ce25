"""The snapshot contract: every record wsltui captures, with the command that produces it.

Names and commands are fixed (docs/design.md §2): an old snapshot must replay, so a record is never
renamed and its command never changes meaning. Add records, never rename. The README's record
table is checked against this list by a test.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Probe:
    name: str
    argv: tuple[str, ...]
    needs_root: bool = False
    needs_interop: bool = False
    reads_file: str | None = None  # read in-process instead of running argv (``cat FILE`` semantics)
    timeout: float = 5.0
    needs_system_bus: bool = False  # only asked when a D-Bus system bus exists (firewalld lives on it)
    scans_netns: bool = False  # read in-process from /proc by probes/netns_scan.py instead of running argv
    # Read in-process with a Python library instead of running argv (argv then names the call).
    library: str | None = None

    @property
    def command(self) -> str:
        return " ".join(self.argv)


def _file(name: str, path: str, needs_root: bool = False) -> Probe:
    return Probe(name, ("cat", path), needs_root=needs_root, reads_file=path)


# %UserProfile%\.wslconfig: ask Windows where the profile is, then read it through /mnt/c.
WSLCONFIG_COMMAND = 'cat "$(wslpath "$(cmd.exe /d /c echo %USERPROFILE%)")/.wslconfig"'

LINUX_PROBES: tuple[Probe, ...] = (
    _file("kernel.osrelease", "/proc/sys/kernel/osrelease"),
    Probe("wsl.networking-mode", ("wslinfo", "--networking-mode")),
    Probe("wsl.version", ("wslinfo", "--version")),
    _file("wsl.conf", "/etc/wsl.conf"),
    Probe("net.addr", ("ip", "-j", "addr", "show")),
    Probe("net.route", ("ip", "-j", "route", "show", "table", "all")),
    Probe("net.sockets", ("ss", "-H", "-l", "-n", "-t", "-u", "-p", "-e")),
    Probe("nf.iptables-nft", ("iptables-nft-save",), needs_root=True),
    Probe("nf.ip6tables-nft", ("ip6tables-nft-save",), needs_root=True),
    Probe("nf.iptables-legacy", ("iptables-legacy-save",), needs_root=True),
    Probe("nf.ip6tables-legacy", ("ip6tables-legacy-save",), needs_root=True),
    Probe("nf.nft", ("nft", "-j", "list", "ruleset"), needs_root=True),
    # Which legacy xtables are loaded in this network namespace (cheap, and it is what tells
    # "ufw says inactive but legacy rules still filter").
    _file("nf.legacy-tables", "/proc/net/ip_tables_names", needs_root=True),
    _file("nf.legacy6-tables", "/proc/net/ip6_tables_names", needs_root=True),
    # firewall-cmd is a Python program that takes ~0.3 s to start: not worth four of them when
    # there is no system bus for firewalld to live on (WSL without systemd).
    Probe("firewalld.state", ("firewall-cmd", "--state"), needs_root=True, needs_system_bus=True),
    Probe("firewalld.zones", ("firewall-cmd", "--list-all-zones"), needs_root=True, needs_system_bus=True),
    Probe("firewalld.active", ("firewall-cmd", "--get-active-zones"), needs_root=True, needs_system_bus=True),
    Probe("firewalld.default-zone", ("firewall-cmd", "--get-default-zone"), needs_root=True, needs_system_bus=True),
    Probe("ufw.status", ("ufw", "status", "verbose"), needs_root=True),
    # Mirrored networking does not support NetworkManager in the distro (a caveat, not a layer).
    Probe("systemd.networkmanager", ("systemctl", "is-active", "NetworkManager")),
    # The members of the sets ``iptables -m set --match-set`` looks up (Docker 28, fail2ban,
    # firewalld's ipsets); nft sets come with ``nft -j list ruleset``.
    Probe("nf.ipset", ("ipset", "save"), needs_root=True),
    # Forwarded traffic (a port DNAT'ed to a container): is forwarding on, per interface; what
    # listens in the other network namespaces (containers) and on which addresses; which
    # containers Docker runs and the ports they publish.
    Probe("net.forwarding", ("sysctl", "-a", "-r", r"\.forwarding$")),
    Probe(
        "net.netns-sockets",
        ("cat", "/proc/PID/net/{tcp,tcp6,udp,udp6,fib_trie,if_inet6}"),
        needs_root=True,
        scans_netns=True,
    ),
    Probe("docker.ps", ("docker", "ps", "--no-trunc", "--format", "{{json .}}"), timeout=5.0),
    # Docker Engine in the distro, or Docker Desktop's WSL integration ("Docker Desktop 4.x")
    Probe("docker.version", ("docker", "version", "--format", "{{json .}}"), timeout=5.0),
    # What ss and ip may not say, from Python libraries (JSON): the owners of listening sockets
    # ss could not name, and the interfaces as the kernel lists them to a second reader (a
    # disagreement with net.addr means a misread, or a machine that changed while it was read).
    Probe("net.psutil-listeners", ("psutil.net_connections", "inet"), library="psutil"),
    Probe("net.netifaces", ("netifaces.ifaddresses", "*"), library="netifaces"),
)

# The Windows side (docs/design.md §2). Registry and netsh output is in the console's OEM code page,
# which the PowerShell batch reports (``oemCodePage``; interop.py decodes with it); the batch
# itself forces UTF-8. Six Windows processes per capture, all in parallel:
# three reg.exe, two netsh.exe and one powershell.exe (which also tells %USERPROFILE%, so the
# .wslconfig lookup needs no cmd.exe of its own when it succeeds).
FW_POLICY_KEY = r"HKLM\SYSTEM\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy"
FW_POLICY_GPO_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\WindowsFirewall"
PORTPROXY_KEY = r"HKLM\SYSTEM\CurrentControlSet\Services\PortProxy"
POWERSHELL_SCRIPT = "wsltui/probes/windows.ps1"
POWERSHELL_COMMAND = f"powershell.exe -NoProfile -NonInteractive -EncodedCommand <{POWERSHELL_SCRIPT}>"


INTEROP_PROBES: tuple[Probe, ...] = (
    # Two steps (see capture.py): ask cmd.exe for %USERPROFILE%, then read the file via /mnt/c.
    Probe("wsl.wslconfig", ("cmd.exe", "/d", "/c", "echo %USERPROFILE%"), needs_interop=True),
    Probe("win.fw-policy", ("reg.exe", "query", FW_POLICY_KEY, "/s"), needs_interop=True, timeout=10.0),
    Probe("win.fw-policy-gpo", ("reg.exe", "query", FW_POLICY_GPO_KEY, "/s"), needs_interop=True, timeout=10.0),
    Probe("win.portproxy", ("reg.exe", "query", PORTPROXY_KEY, "/s"), needs_interop=True, timeout=10.0),
    Probe(
        "win.excluded-tcp4",
        ("netsh.exe", "int", "ipv4", "show", "excludedportrange", "protocol=tcp"),
        needs_interop=True,
        timeout=10.0,
    ),
    Probe(
        "win.excluded-tcp6",
        ("netsh.exe", "int", "ipv6", "show", "excludedportrange", "protocol=tcp"),
        needs_interop=True,
        timeout=10.0,
    ),
    # argv[-1] is filled in at capture time from windows.ps1 (``wsltui.probes.powershell.argv_for``).
    Probe(
        "win.powershell",
        ("powershell.exe", "-NoProfile", "-NonInteractive", "-EncodedCommand", f"<{POWERSHELL_SCRIPT}>"),
        needs_interop=True,
        timeout=30.0,
    ),
)
WINDOWS_PROBES: tuple[Probe, ...] = tuple(p for p in INTEROP_PROBES if p.name.startswith("win."))


# Live tests (``check --live``) are records too, one per flow: ``live.<proto>-<port>-<scenario>``
# (wsltui.facts.live reads them). They are not probes: they are kept, not captured.
LIVE_RECORD_PREFIX = "live."

ALL_PROBES: tuple[Probe, ...] = LINUX_PROBES + INTEROP_PROBES
BY_NAME: dict[str, Probe] = {p.name: p for p in ALL_PROBES}


def command_for(name: str) -> str:
    """The command that produces record ``name``, as a person would run it."""
    probe = BY_NAME.get(name)
    if probe is None:
        return ""
    return WSLCONFIG_COMMAND if probe.name == "wsl.wslconfig" else probe.command
