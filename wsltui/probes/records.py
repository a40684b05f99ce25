"""The snapshot contract: every record wsltui captures, with the command that produces it.

Names and commands are fixed (DESIGN §2): an old snapshot must replay, so a record is never
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

    @property
    def command(self) -> str:
        return " ".join(self.argv)


def _file(name: str, path: str, needs_root: bool = False) -> Probe:
    return Probe(name, ("cat", path), needs_root=needs_root, reads_file=path)


# %UserProfile%\.wslconfig: ask Windows where the profile is, then read it through /mnt/c.
WSLCONFIG_COMMAND = "cat \"$(wslpath \"$(cmd.exe /d /c echo %USERPROFILE%)\")/.wslconfig\""

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
    Probe("firewalld.state", ("firewall-cmd", "--state"), needs_root=True),
    Probe("firewalld.zones", ("firewall-cmd", "--list-all-zones"), needs_root=True),
    Probe("firewalld.active", ("firewall-cmd", "--get-active-zones"), needs_root=True),
    Probe("firewalld.default-zone", ("firewall-cmd", "--get-default-zone"), needs_root=True),
    Probe("ufw.status", ("ufw", "status", "verbose"), needs_root=True),
)

INTEROP_PROBES: tuple[Probe, ...] = (
    # Two steps (see capture.py): ask cmd.exe for %USERPROFILE%, then read the file via /mnt/c.
    Probe("wsl.wslconfig", ("cmd.exe", "/d", "/c", "echo %USERPROFILE%"), needs_interop=True),
)

ALL_PROBES: tuple[Probe, ...] = LINUX_PROBES + INTEROP_PROBES
BY_NAME: dict[str, Probe] = {p.name: p for p in ALL_PROBES}


def command_for(name: str) -> str:
    """The command that produces record ``name``, as a person would run it."""
    probe = BY_NAME.get(name)
    if probe is None:
        return ""
    return WSLCONFIG_COMMAND if probe.name == "wsl.wslconfig" else probe.command
