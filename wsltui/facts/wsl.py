"""WSL facts: which WSL this is, the *effective* networking mode, and the *requested* config.

Sources (docs/wsl-networking.md §1.1, §2, §3):

- ``kernel.osrelease``: ``microsoft`` (lower case) means WSL2, ``Microsoft`` means WSL1.
- ``wsl.networking-mode``: ``wslinfo --networking-mode``, the mode WSL actually uses. When it
  failed (no ``wslinfo`` before WSL 2.0, or not WSL at all) the mode is unknown: we never guess it
  from ``.wslconfig``, which only says what was *asked for* (Windows 10 silently falls back to
  NAT). A separate, clearly labelled ``mode_hint`` may say what the interfaces suggest.
- ``wsl.version``: ``wslinfo --version``.
- ``wsl.wslconfig``: ``%UserProfile%\\.wslconfig`` (requested VM-wide config).
- ``wsl.conf``: ``/etc/wsl.conf`` (per-distro config).
- ``systemd.networkmanager``: ``systemctl is-active NetworkManager`` (mirrored mode does not
  support NetworkManager in the distro).

A config file that does not exist (``cat`` exit 1, "No such file or directory") is a known fact:
all defaults. Pure: no I/O, never raises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from wsltui.facts.base import Unknown, first_line, usable_record
from wsltui.records import command_for
from wsltui.snapshot import Record, Snapshot

T = TypeVar("T")

# ---------------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------------

KNOWN_MODES = ("nat", "mirrored", "bridged", "consomme", "none", "wsl1")
# What .wslconfig may ask for (wsl1 is not a .wslconfig value); virtioproxy is consomme's old name.
REQUESTABLE_MODES = ("none", "nat", "bridged", "mirrored", "virtioproxy", "consomme")


@dataclass
class ConfigEntry:
    """One ``key = value`` line as written (section and key lower-cased for matching)."""

    section: str  # lower-case, "" before the first section header
    key: str  # lower-case
    value: str  # unquoted, inline comment removed
    line: int  # 1-based line number
    raw_key: str = ""  # the key as written (case preserved)


@dataclass
class IniFile:
    entries: list[ConfigEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def get(self, section: str, key: str) -> ConfigEntry | None:
        """The last entry for section/key (case-insensitive), or None."""
        section, key = section.lower(), key.lower()
        found = None
        for e in self.entries:
            if e.section == section and e.key == key:
                found = e
        return found

    def get_any(self, pairs: tuple[tuple[str, str], ...]) -> ConfigEntry | None:
        """The entry appearing last in the file among several aliases (WSL maps
        ``[wsl2] networkingMode`` and ``[experimental] networkingMode`` to one key, and the
        parser assigns in file order, so the later line wins)."""
        wanted = {(s.lower(), k.lower()) for s, k in pairs}
        found = None
        for e in self.entries:
            if (e.section, e.key) in wanted:
                found = e
        return found


@dataclass
class WslConfig:
    """The *requested* VM-wide config from ``%UserProfile%\\.wslconfig`` (defaults when absent)."""

    present: bool  # False: the file does not exist, every value below is the default
    networking_mode: str = "nat"  # normalised: none|nat|bridged|mirrored|consomme
    networking_mode_raw: str | None = None  # as written; None when not set
    networking_mode_source: str = "default"  # "[wsl2]", "[experimental]" or "default"
    localhost_forwarding: bool = True
    firewall: bool = True  # Hyper-V firewall (forced on in mirrored mode by WSL)
    dns_tunneling: bool = True
    dns_tunneling_ip_address: str = "10.255.255.254"
    dns_proxy: bool = True
    auto_proxy: bool = True
    host_address_loopback: bool = False  # [experimental] only
    ignored_ports: list[int] = field(default_factory=list)  # [experimental] only
    best_effort_dns_parsing: bool = False
    ipv6: bool = False  # bridged only
    safe_mode: bool = False
    virtio: bool = True
    kernel_command_line: str | None = None
    vm_idle_timeout_ms: int | None = None
    instance_idle_timeout_ms: int | None = None  # [general]
    explicit: list[str] = field(default_factory=list)  # "section.key" of every key the file set
    entries: list[ConfigEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class WslConf:
    """The per-distro ``/etc/wsl.conf`` (defaults when absent)."""

    present: bool
    systemd: bool = False
    boot_command: str | None = None
    generate_resolv_conf: bool = True
    generate_hosts: bool = True
    hostname: str | None = None
    interop_enabled: bool = True
    append_windows_path: bool = True
    automount_enabled: bool = True
    automount_root: str = "/mnt/"
    default_user: str | None = None
    explicit: list[str] = field(default_factory=list)
    entries: list[ConfigEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class WslFacts:
    kind: str | Unknown  # "wsl2" | "wsl1" | "not-wsl"
    kernel_release: str | None
    networking_mode: str | Unknown  # effective, normalised: nat|mirrored|bridged|consomme|none|wsl1
    networking_mode_raw: str | None  # what wslinfo printed (e.g. "virtioproxy")
    version: str | Unknown  # WSL package version from wslinfo --version
    wslconfig: WslConfig | Unknown  # requested
    wsl_conf: WslConf | Unknown
    mode_mismatch: str | None = None  # requested networkingMode != effective mode
    # A heuristic from the interfaces (never used as the mode): e.g. "loopback0 present:
    # suggests mirrored or consomme". None when the interfaces say nothing.
    mode_hint: str | None = None
    problems: list[str] = field(default_factory=list)
    network_manager: str | Unknown | None = None  # systemctl's word: active | inactive | failed ...

    @property
    def before_2_0(self) -> bool:
        """No ``wslinfo`` at all: the inbox WSL or a Store build before 2.0 (wslinfo --networking-mode
        came with 2.0), which has only NAT and bridged networking and whose relay is wslhost.exe."""
        return all(
            isinstance(v, Unknown) and "command not found" in v.reason for v in (self.networking_mode, self.version)
        )

    def assumed_mode(self) -> str:
        """Why NAT is traced when the effective mode is unknown: what the facts say for it, and against."""
        if not self.before_2_0:
            return "the effective mode is unknown, and NAT is the default"
        said = [
            "wslinfo is missing, so this WSL is older than 2.0 (inbox or an early Store build), which has no mirrored "
            "or consomme mode"
        ]
        if isinstance(self.wslconfig, WslConfig) and self.wslconfig.networking_mode == "bridged":
            said.append(".wslconfig asks for bridged, which such a WSL supports: the mode may be bridged")
        elif isinstance(self.wslconfig, WslConfig) and self.wslconfig.networking_mode_raw is not None:
            said.append(
                f".wslconfig asks for networkingMode={self.wslconfig.networking_mode_raw}, which it does not have"
            )
        if self.mode_hint:
            said.append(self.mode_hint)
        return "; ".join(said)


# ---------------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------------


def from_snapshot(snapshot: Snapshot, addr_json: str | None = None) -> WslFacts:
    """Parse every WSL record of ``snapshot``. ``addr_json`` (``ip -j addr show`` text) feeds the
    labelled ``mode_hint``; by default it is taken from the snapshot's ``net.addr`` record."""
    problems: list[str] = []
    kind, release = parse_osrelease(snapshot.get("kernel.osrelease"))
    mode, mode_raw = parse_networking_mode(snapshot.get("wsl.networking-mode"), kind)
    if mode_raw is not None and isinstance(mode, str) and mode not in KNOWN_MODES:
        problems.append(f"wslinfo --networking-mode printed an unknown mode {mode_raw!r}")
    version = parse_version(snapshot.get("wsl.version"))
    wslconfig = parse_wslconfig_record(snapshot.get("wsl.wslconfig"))
    wsl_conf = parse_wsl_conf_record(snapshot.get("wsl.conf"))
    if addr_json is None:
        rec = snapshot.get("net.addr")
        addr_json = rec.stdout if rec is not None and rec.ok else None
    hint = mode_hint(addr_json) if addr_json else None
    return WslFacts(
        kind=kind,
        kernel_release=release,
        networking_mode=mode,
        networking_mode_raw=mode_raw,
        version=version,
        wslconfig=wslconfig,
        wsl_conf=wsl_conf,
        mode_mismatch=mode_mismatch(wslconfig, mode, kind),
        mode_hint=hint,
        problems=problems,
        network_manager=parse_unit_state(snapshot.get("systemd.networkmanager"), "systemd.networkmanager"),
    )


# ---------------------------------------------------------------------------------------------
# kind, mode, version
# ---------------------------------------------------------------------------------------------


def parse_osrelease(record: Record | None) -> tuple[str | Unknown, str | None]:
    cmd = command_for("kernel.osrelease")
    usable = usable_record(record, cmd)
    if isinstance(usable, Unknown):
        return usable, None
    release = first_line(usable.stdout)
    if not release:
        return Unknown("/proc/sys/kernel/osrelease was empty", cmd), None
    if "microsoft" in release:
        return "wsl2", release
    if "Microsoft" in release:
        return "wsl1", release
    return "not-wsl", release


def normalise_mode(word: str) -> str:
    w = word.strip().lower()
    return "consomme" if w == "virtioproxy" else w


def parse_networking_mode(record: Record | None, kind: str | Unknown = "wsl2") -> tuple[str | Unknown, str | None]:
    cmd = command_for("wsl.networking-mode")
    usable = usable_record(record, cmd)
    if isinstance(usable, Unknown):
        if kind == "not-wsl" and record is not None:
            return Unknown(f"not running under WSL ({usable.reason})", usable.command), None
        if record is not None and (record.error or "").endswith("command not found"):
            return Unknown(f"{usable.reason}: wslinfo --networking-mode needs WSL 2.0 or later", usable.command), None
        return usable, None
    raw = first_line(usable.stdout)
    if not raw:
        return Unknown("wslinfo --networking-mode printed nothing", usable.command or cmd), None
    word = raw.split()[0]
    if not re.fullmatch(r"[A-Za-z0-9_-]+", word):
        return Unknown(f"wslinfo --networking-mode printed {raw[:80]!r}", usable.command or cmd), raw
    return normalise_mode(word), word


_VERSION = re.compile(r"\b(\d+\.\d+(?:\.\d+){0,2})\b")


def parse_version(record: Record | None) -> str | Unknown:
    cmd = command_for("wsl.version")
    usable = usable_record(record, cmd)
    if isinstance(usable, Unknown):
        return usable
    text = usable.stdout
    # ``wslinfo --version`` prints just "2.4.13"; a pasted ``wsl.exe --version`` says "WSL version: 2.4.13.0".
    m = re.search(r"WSL[^:\n]*:\s*(\d+(?:\.\d+)+)", text)
    if m:
        return m.group(1)
    m = _VERSION.search(first_line(text))
    if m:
        return m.group(1)
    return Unknown(
        f"no version number in {first_line(text)[:80]!r}" if text.strip() else "wslinfo --version printed nothing",
        usable.command or cmd,
    )


_UNIT_STATES = ("active", "inactive", "failed", "activating", "deactivating", "reloading", "maintenance", "refreshing")


def parse_unit_state(record: Record | None, name: str) -> str | Unknown:
    """``systemctl is-active UNIT``: the state word (exit 0 for active, 3 or 4 otherwise); Unknown
    without systemd ("System has not been booted with systemd") or without systemctl."""
    cmd = command_for(name)
    usable = usable_record(record, cmd, accept_exit_codes=(0, 3, 4))
    if isinstance(usable, Unknown):
        return usable
    word = first_line(usable.stdout).lower()
    if word in _UNIT_STATES:
        return word
    detail = first_line(usable.stderr) or word
    return Unknown(f"systemctl printed no unit state{': ' + detail if detail else ''}", usable.command or cmd)


# ---------------------------------------------------------------------------------------------
# tolerant INI reader
# ---------------------------------------------------------------------------------------------

_SECTION = re.compile(r"^\[\s*([^\]]*?)\s*\]\s*(?:[#;].*)?$")


def parse_ini(text: str) -> IniFile:
    """A forgiving INI reader (never raises): ``#`` and ``;`` comments (also after a value,
    outside quotes), quoted values, BOM, CRLF, duplicate keys (kept; the last wins in ``get``),
    anything else becomes a problem naming the line."""
    ini = IniFile()
    if not isinstance(text, str):
        ini.problems.append("config text is not text")
        return ini
    text = text.lstrip("\ufeff")
    section = ""
    seen: dict[tuple[str, str], int] = {}
    for n, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            m = _SECTION.match(line)
            if m and m.group(1):
                section = m.group(1).lower()
            else:
                ini.problems.append(f"line {n}: not a valid section header: {line[:80]!r}")
            continue
        if "=" not in line:
            ini.problems.append(f"line {n}: not a key=value line, skipped: {line[:80]!r}")
            continue
        key, value = line.split("=", 1)
        key = key.strip()
        if not key or not re.fullmatch(r"[A-Za-z0-9_.\-]+", key):
            ini.problems.append(f"line {n}: invalid key, skipped: {line[:80]!r}")
            continue
        value, bad = _unquote(value.strip())
        if bad:
            ini.problems.append(f"line {n}: {bad}: {line[:80]!r}")
        if not section:
            ini.problems.append(f"line {n}: key {key!r} outside any [section], ignored by WSL")
        k = (section, key.lower())
        if k in seen:
            ini.problems.append(f"line {n}: [{section}] {key} set again (first on line {seen[k]}); the last value wins")
        seen[k] = n
        ini.entries.append(ConfigEntry(section, key.lower(), value, n, key))
    return ini


def _unquote(value: str) -> tuple[str, str | None]:
    """Strip a trailing comment and surrounding quotes. Returns (value, problem or None)."""
    if value[:1] in ('"', "'"):
        q = value[0]
        end = value.find(q, 1)
        if end < 0:
            return value[1:].strip(), "unterminated quote"
        rest = value[end + 1 :].strip()
        if rest and rest[0] not in "#;":
            return value[1:end], "text after the closing quote ignored"
        return value[1:end], None
    m = re.search(r"\s[#;]|^[#;]", value)
    if m:
        value = value[: m.start()]
    return value.strip(), None


def _bool(entry: ConfigEntry | None, default: bool, problems: list[str]) -> bool:
    if entry is None:
        return default
    v = entry.value.strip().lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    problems.append(
        f"line {entry.line}: [{entry.section}] {entry.raw_key}={entry.value!r} is not true/false; "
        f"WSL skips it, so the default ({str(default).lower()}) applies"
    )
    return default


def _int(entry: ConfigEntry | None, problems: list[str]) -> int | None:
    if entry is None:
        return None
    try:
        return int(entry.value.strip(), 0)
    except ValueError:
        problems.append(
            f"line {entry.line}: [{entry.section}] {entry.raw_key}={entry.value!r} is not a number, ignored"
        )
        return None


def _str(entry: ConfigEntry | None) -> str | None:
    return entry.value if entry is not None else None


# ---------------------------------------------------------------------------------------------
# .wslconfig and /etc/wsl.conf
# ---------------------------------------------------------------------------------------------


def _file_absent(record: Record) -> bool:
    return record.error is None and record.exit_code == 1 and "no such file or directory" in record.stderr.lower()


def _config_file(record: Record | None, name: str, parse: Callable[[str], T], absent: T) -> T | Unknown:
    """A config file record: ``absent`` when the file does not exist (a normal state), unknown
    when it could not be read, else the parsed file."""
    if record is not None and _file_absent(record):
        return absent
    usable = usable_record(record, command_for(name))
    return usable if isinstance(usable, Unknown) else parse(usable.stdout)


def parse_wslconfig_record(record: Record | None) -> WslConfig | Unknown:
    return _config_file(record, "wsl.wslconfig", parse_wslconfig, WslConfig(present=False))


# Keys WSL reads (lower-case) per section, to flag the ones it will ignore.
_WSL2_KEYS = {
    "kernel",
    "kernelcommandline",
    "kernelmodules",
    "memory",
    "processors",
    "debugconsole",
    "earlybootlogging",
    "swap",
    "swapfile",
    "localhostforwarding",
    "nestedvirtualization",
    "virtio9p",
    "virtiofs",
    "kerneldebugport",
    "gpusupport",
    "guiapplications",
    "systemdistro",
    "telemetry",
    "vmidletimeout",
    "debugconsolelogfile",
    "kernelboottimeout",
    "distributionstarttimeout",
    "virtio",
    "hostfilesystemaccess",
    "mountdevicetimeout",
    "hardwareperformancecounters",
    "vmswitch",
    "macaddress",
    "dhcp",
    "dhcptimeout",
    "ipv6",
    "dnsproxy",
    "safemode",
    "defaultvhdsize",
    "crashdumpfolder",
    "maxcrashdumpcount",
    "loaddefaultkernelmodules",
    "loadkernelmodules",
    "networkingmode",
    "dnstunneling",
    "firewall",
    "autoproxy",
    "pagereporting",
}
_EXPERIMENTAL_KEYS = {
    "networkingmode",
    "dnstunneling",
    "firewall",
    "autoproxy",
    "automemoryreclaim",
    "sparsevhd",
    "besteffortdnsparsing",
    "dnstunnelingipaddress",
    "initialautoproxytimeout",
    "ignoredports",
    "hostaddressloopback",
    "setversiondebug",
}
_GENERAL_KEYS = {"distributioninstallpath", "instanceidletimeout"}
# Keys that moved from [experimental] to [wsl2]: both spellings are honoured (one key in WSL).
_MOVED = ("networkingmode", "dnstunneling", "firewall", "autoproxy")


def parse_wslconfig(text: str) -> WslConfig:
    ini = parse_ini(text)
    problems = list(ini.problems)
    cfg = WslConfig(present=True, entries=ini.entries)
    cfg.explicit = [f"{e.section}.{e.raw_key}" for e in ini.entries]

    for e in ini.entries:
        known = {"wsl2": _WSL2_KEYS, "experimental": _EXPERIMENTAL_KEYS, "general": _GENERAL_KEYS}.get(e.section)
        if known is None:
            if e.section:
                problems.append(f"line {e.line}: section [{e.section}] is not read by WSL")
        elif e.key not in known:
            where = "[experimental]" if e.key in _EXPERIMENTAL_KEYS else "[wsl2]" if e.key in _WSL2_KEYS else None
            hint = f" (it belongs in {where})" if where else ""
            problems.append(f"line {e.line}: [{e.section}] {e.raw_key} is not a key WSL reads there{hint}; ignored")

    def moved(key: str) -> ConfigEntry | None:
        return ini.get_any((("wsl2", key), ("experimental", key)))

    nm = moved("networkingmode")
    if nm is not None:
        cfg.networking_mode_raw = nm.value
        cfg.networking_mode_source = f"[{nm.section}]"
        word = nm.value.strip().lower()
        if word in REQUESTABLE_MODES:
            cfg.networking_mode = normalise_mode(word)
        else:
            cfg.networking_mode = "nat"
            problems.append(f"line {nm.line}: networkingMode={nm.value!r} is not a mode WSL knows; it uses NAT")
    cfg.dns_tunneling = _bool(moved("dnstunneling"), True, problems)
    cfg.firewall = _bool(moved("firewall"), True, problems)
    cfg.auto_proxy = _bool(moved("autoproxy"), True, problems)
    cfg.localhost_forwarding = _bool(ini.get("wsl2", "localhostForwarding"), True, problems)
    cfg.dns_proxy = _bool(ini.get("wsl2", "dnsProxy"), True, problems)
    cfg.ipv6 = _bool(ini.get("wsl2", "ipv6"), False, problems)
    cfg.safe_mode = _bool(ini.get("wsl2", "safeMode"), False, problems)
    cfg.virtio = _bool(ini.get("wsl2", "virtio"), True, problems)
    cfg.kernel_command_line = _str(ini.get("wsl2", "kernelCommandLine"))
    cfg.vm_idle_timeout_ms = _int(ini.get("wsl2", "vmIdleTimeout"), problems)
    cfg.instance_idle_timeout_ms = _int(ini.get("general", "instanceIdleTimeout"), problems)
    cfg.host_address_loopback = _bool(ini.get("experimental", "hostAddressLoopback"), False, problems)
    cfg.best_effort_dns_parsing = _bool(ini.get("experimental", "bestEffortDnsParsing"), False, problems)

    ip = ini.get("experimental", "dnsTunnelingIpAddress")
    if ip is not None:
        if re.fullmatch(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})", ip.value.strip()) and all(
            int(p) <= 255 for p in ip.value.strip().split(".")
        ):
            cfg.dns_tunneling_ip_address = ip.value.strip()
        else:
            problems.append(
                f"line {ip.line}: dnsTunnelingIpAddress={ip.value!r} is not an IPv4 address; WSL disables DNS tunneling"
            )
            cfg.dns_tunneling = False

    ports = ini.get("experimental", "ignoredPorts")
    if ports is not None:
        for part in ports.value.split(","):
            p = part.strip()
            if p.isdigit() and 0 < int(p) <= 65535:
                if int(p) not in cfg.ignored_ports:
                    cfg.ignored_ports.append(int(p))
            elif p:
                problems.append(f"line {ports.line}: ignoredPorts entry {p!r} is not a port, skipped")

    cfg.problems = problems
    return cfg


def parse_wsl_conf_record(record: Record | None) -> WslConf | Unknown:
    return _config_file(record, "wsl.conf", parse_wsl_conf, WslConf(present=False))


_WSL_CONF_KEYS = {
    "boot": {"systemd", "command", "protectbinfmt", "inittimeout"},
    "network": {"generatehosts", "generateresolvconf", "hostname"},
    "interop": {"enabled", "appendwindowspath"},
    "automount": {"enabled", "root", "options", "mountfstab", "ldconfig", "cgroups"},
    "user": {"default"},
    "gpu": {"enabled"},
    "time": {"usewindowstimezone"},
}


def parse_wsl_conf(text: str) -> WslConf:
    ini = parse_ini(text)
    problems = list(ini.problems)
    conf = WslConf(present=True, entries=ini.entries)
    conf.explicit = [f"{e.section}.{e.raw_key}" for e in ini.entries]
    for e in ini.entries:
        keys = _WSL_CONF_KEYS.get(e.section)
        if keys is None:
            if e.section:
                problems.append(f"line {e.line}: section [{e.section}] is not read by WSL")
        elif e.key not in keys:
            problems.append(f"line {e.line}: [{e.section}] {e.raw_key} is not a key WSL reads; ignored")
    conf.systemd = _bool(ini.get("boot", "systemd"), False, problems)
    conf.boot_command = _str(ini.get("boot", "command"))
    conf.generate_resolv_conf = _bool(ini.get("network", "generateResolvConf"), True, problems)
    conf.generate_hosts = _bool(ini.get("network", "generateHosts"), True, problems)
    conf.hostname = _str(ini.get("network", "hostname"))
    conf.interop_enabled = _bool(ini.get("interop", "enabled"), True, problems)
    conf.append_windows_path = _bool(ini.get("interop", "appendWindowsPath"), True, problems)
    conf.automount_enabled = _bool(ini.get("automount", "enabled"), True, problems)
    root = _str(ini.get("automount", "root"))
    if root:
        conf.automount_root = root if root.endswith("/") else root + "/"
    conf.default_user = _str(ini.get("user", "default"))
    conf.problems = problems
    return conf


# ---------------------------------------------------------------------------------------------
# requested vs effective, and the interface hint
# ---------------------------------------------------------------------------------------------


def mode_mismatch(wslconfig: WslConfig | Unknown, effective: str | Unknown, kind: str | Unknown = "wsl2") -> str | None:
    """A sentence when the requested networkingMode (default nat) is not the effective mode."""
    if isinstance(effective, Unknown) or effective == "wsl1" or kind in ("wsl1", "not-wsl"):
        return None
    if isinstance(wslconfig, Unknown):
        return None
    requested = wslconfig.networking_mode
    if requested == effective:
        return None
    asked = (
        f".wslconfig asks for networkingMode={wslconfig.networking_mode_raw}"
        if wslconfig.networking_mode_raw is not None
        else "no networkingMode is set (default nat)"
    )
    why = ""
    if requested == "mirrored" and effective == "nat":
        why = (
            " WSL falls back to NAT when mirrored mode is unsupported: Windows 10 or a Windows 11 build "
            "before 22H2 (22621.2428), IPv6 disabled via DisabledComponents=0xFF, or a kernel older than 5.10."
        )
    elif requested == "nat" and effective == "consomme":
        why = " WSL falls back to Consomme (virtioproxy) when it cannot create the NAT network."
    elif effective == "none":
        why = " Mode none means networking failed to start or safeMode is on."
    elif requested == "consomme" and effective == "nat":
        why = " Consomme needs [wsl2] virtio=true."
    return (
        f"{asked}, but the effective mode (wslinfo --networking-mode) is {effective}.{why} "
        "A machine policy (HKLM\\SOFTWARE\\Policies\\WSL) can also override the mode, and .wslconfig "
        "changes apply only after `wsl --shutdown`."
    )


def mode_hint(addr_json: str | None) -> str | None:
    """What the interfaces (``ip -j addr show``) suggest about the mode. A heuristic, never the
    mode itself; the text says so."""
    if not addr_json:
        return None
    try:
        data = json.loads(addr_json)
    except (ValueError, TypeError, RecursionError):
        return None
    if not isinstance(data, list):
        return None
    names = {}
    for item in data:
        if isinstance(item, dict) and isinstance(item.get("ifname"), str):
            names[item["ifname"]] = item
    if "loopback0" in names:
        return "heuristic: a loopback0 interface exists, which suggests mirrored (or consomme) networking"
    eth0 = names.get("eth0")
    if eth0 is not None:
        mac = str(eth0.get("address") or "").lower()
        addr_info = eth0.get("addr_info")
        v4 = (
            [a for a in addr_info if isinstance(a, dict) and a.get("family") == "inet"]
            if isinstance(addr_info, list)
            else []
        )
        others = [n for n in names if n not in ("lo", "eth0") and not n.startswith(("docker", "br-", "veth"))]
        if mac.startswith("00:15:5d") and v4 and not others:
            return "heuristic: one eth0 with a Hyper-V MAC (00:15:5d) and no loopback0, which suggests NAT networking"
    return None
