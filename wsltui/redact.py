"""Redaction for reports attached to public tickets: addresses, MAC addresses, host names, user
names and Windows paths are replaced *consistently* — the same value always gets the same
placeholder — so a redacted trace still reads ("192.0.2.1 -> 192.0.2.2:8080 on eth0").

Where it runs: over the *final* document (the rendered text or Markdown, and every string and key
of the JSON document), never over the snapshot before parsing. Two reasons:

- The verdicts stay true. The simulator decides on subnets, routes, on-link gateways and rule
  address matches; rewriting the input could change what it decides (two addresses in one /20
  mapped to unrelated placeholders are no longer on-link), and the redacted report would then
  explain a different machine.
- The guarantee is about the artifact that leaves the machine. Every character of the output
  passes through the pattern scan (any IPv4/IPv6/MAC/Windows path/``/home/X``, whether or not it
  was seen in the snapshot), so values that never were in the snapshot (live psutil names, values
  a renderer derives, such as an IPv6 solicited-node address) cannot slip past it.

The snapshot is still read first (``Redactor.for_snapshot``), for two things a pattern cannot
find: the host and user names to replace wherever they appear as words, and the placeholder
numbering (first appearance in the sorted records), so md, json and text reports of one snapshot
use the same placeholders.

Kept on purpose (not identifying, and needed to read a trace): loopback, unspecified, broadcast,
netmasks, well-known multicast (``ff02::1``, ``224.0.0.251``), the bare range prefixes
(``fe80::``, ``10.0.0.0``), WSL's fixed DNS tunnelling address 10.255.255.254, dotted version
numbers ("version: 2.3.26.0", "5.15.167.4-microsoft..."), process names (``users:(("node"``),
interface names, port numbers, and the Windows path segments every machine has (``Users``,
``Program Files``, ``svchost.exe`` ...). A user name that is also a word of the tools' output
("dev", "root", "main" ...) is replaced only where it is a user name (paths, ``default=``
values, ``USERPROFILE``): replacing every ``dev`` would turn ``dev eth0`` into nonsense.

Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

# --- what is kept ------------------------------------------------------------------------------

_KEEP_V4 = {ipaddress.IPv4Address(a) for a in (
    "0.0.0.0", "255.255.255.255", "10.255.255.254",  # WSL's DNS tunnelling address, the same everywhere
    "10.0.0.0", "172.16.0.0", "192.168.0.0", "169.254.0.0", "100.64.0.0", "224.0.0.0", "240.0.0.0")}
_KEEP_V6 = {ipaddress.IPv6Address(a) for a in ("::", "::1", "fe80::", "ff00::", "fc00::", "fd00::", "2000::", "::ffff:0:0")}
_LOCAL_MCAST_V4 = ipaddress.IPv4Network("224.0.0.0/24")

# A user name that is also a word the tools print: replaced only where it is a user name.
VOCABULARY = frozenset({
    "dev", "root", "user", "users", "admin", "administrator", "public", "default", "home", "main", "local", "test",
    "guest", "system", "all", "any", "none", "lo", "host", "src", "dst", "ip", "tcp", "udp", "in", "out", "allow",
    "deny", "drop", "accept", "reject", "block", "filter", "nat", "input", "output", "forward", "docker", "node",
})
# Profile folders every Windows has: not a person.
_GENERIC_PROFILES = frozenset({"public", "default", "default user", "all users", "defaultuser0", "defaultapppool"})
# Path segments every Windows machine has (lower case): kept so a path still says where it points.
KEEP_SEGMENTS = frozenset({
    "windows", "system32", "syswow64", "sysnative", "drivers", "etc", "program files", "program files (x86)",
    "programdata", "users", "appdata", "local", "locallow", "roaming", "temp", "tmp", "microsoft", "windowsapps",
    "windows nt", "wsl", "system", "documents", "desktop", "downloads", ".wslconfig", "wslconfig", "winsxs",
    "nodejs", "go", "bin", "java", "dotnet", "python", "docker", "docker desktop", "resources", "git", "cmd",
    "windowspowershell", "v1.0", "hosts",
    "svchost.exe", "wslrelay.exe", "wslhost.exe", "wslservice.exe", "wsl.exe", "wslg.exe", "vmcompute.exe",
    "vmmem", "vmwp.exe", "lsass.exe", "services.exe", "powershell.exe", "pwsh.exe", "cmd.exe", "reg.exe",
    "netsh.exe", "clip.exe", "explorer.exe", "node.exe", "python.exe", "python3.exe", "java.exe", "javaw.exe",
    "go.exe", "dotnet.exe", "docker.exe", "com.docker.backend.exe", "code.exe", "msedge.exe", "chrome.exe",
    "firefox.exe", "nginx.exe", "httpd.exe", "spoolsv.exe", "mdnsresponder.exe",
})

# --- patterns ----------------------------------------------------------------------------------

# Runs of hex digits, colons and dots (addresses, MACs, "addr:port"), not glued to a word.
_TOKEN = re.compile(r"(?<![\w.])(?=[0-9A-Fa-f:.]*[:.])[0-9A-Fa-f:.]{3,}(?![\w])")
_QUAD = re.compile(r"(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d])")
_MAC_DASHED = re.compile(r"(?<![\w-])[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5}(?![\w-])")  # Windows: 72-CD-0C-47-B9-50
_MAC = re.compile(r"^[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")
_VERSION_BEFORE = re.compile(r"(?i)version\W{0,4}$")
_SEP = r"(?:\\\\|\\)"  # one backslash, or two (JSON-escaped text inside a record)
_SEG = r"[^\\/:*?\"<>|%\r\n]+"
_LAST = r"[^\\/:*?\"<>|\r\n\s,;'`)\]]+"
# C:\a\b c\d.exe   %SystemRoot%\System32\x.exe   (segments may hold spaces, the last one not)
_WIN_PATH = re.compile(rf"(?i)(?<![\w%])(?:[A-Z]:|%[A-Z0-9_()]+%)(?:{_SEP}(?:{_SEG}{_SEP})*{_LAST}|{_SEP})")
_WIN_PATH_FWD = re.compile(r"(?i)(?<![\w/])[A-Z]:/(?:[^/:*?\"<>|\r\n\s]+/)*[^/:*?\"<>|\r\n\s,;'`)\]]*")
_MNT_PATH = re.compile(r"(?i)(?<![\w/])/mnt/[a-z](?:/[^/\s\"'`:;,)\]]+)+/?")
_HOME = re.compile(r"(?<![\w/])/home/([^/\s\"'`:;,)\]\\]+)")
_USER_CONTEXT = re.compile(r"(?i)\b(default[ _-]?user\W{1,4}|user\W{1,3}default\W{1,4}|userprofile\W{1,4})([\w.@-]+)")

# Where the snapshot says who the user is.
_FIND_USERS = (
    re.compile(r"/home/([^/\s\"'`:;,)\]\\]+)"),
    re.compile(r"(?i)/mnt/[a-z]/Users/([^/\s\"'`:;,)\]]+)"),
    re.compile(rf"(?i)\b[A-Z]:{_SEP}Users{_SEP}([^\\/\r\n\"']+?)(?={_SEP})"),  # may hold spaces
    re.compile(rf"(?i)\b[A-Z]:{_SEP}Users{_SEP}([^\\/\s\"']+)"),
)


def is_well_known(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Addresses kept as they are: the same on every machine, and needed to read a trace."""
    if addr.version == 4:
        n = int(addr)
        netmask = n != 0 and ((~n) & 0xFFFFFFFF) & (((~n) & 0xFFFFFFFF) + 1) == 0 and n >> 24 == 255
        return addr in _KEEP_V4 or addr.is_loopback or netmask or addr in _LOCAL_MCAST_V4
    if addr in _KEEP_V6:
        return True
    if addr.sixtofour is not None and int(addr) & ((1 << 80) - 1) == 0:
        return is_well_known(addr.sixtofour)  # 2002:a00:: = 6to4 of 10.0.0.0 (firewalld's stock rules)
    # Well-known multicast groups (ff02::1, ff02::fb, ff02::1:2, ff05::1:3) but not solicited-node
    # ones, which are built from an address (ff02::1:ffXX:XXXX).
    return addr.is_multicast and (int(addr) & ((1 << 112) - 1)) < 0x20000


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as written, also with leading zeros (010.001.002.003), else None."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    m = re.fullmatch(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})", text)
    if m and all(int(p) <= 255 for p in m.groups()):
        return ipaddress.IPv4Address(".".join(str(int(p)) for p in m.groups()))
    return None


class Redactor:
    """One per report: remembers which placeholder each value got."""

    def __init__(self, users: tuple[str, ...] = (), hosts: tuple[str, ...] = ()) -> None:
        self.v4: dict[ipaddress.IPv4Address, str] = {}
        self.v6: dict[ipaddress.IPv6Address, str] = {}
        self.macs: dict[str, str] = {}
        self.users: dict[str, str] = {}  # lower-case name -> user-N
        self.hosts: dict[str, str] = {}  # lower-case name -> host-N
        self.segments: dict[str, str] = {}  # lower-case path segment -> dir-N / file-N.ext
        self._names: re.Pattern[str] | None = None
        for u in users:
            self.user(u)
        for h in hosts:
            self.host(h)

    # --- building one from a snapshot ----------------------------------------------------------

    @classmethod
    def for_snapshot(cls, snap) -> Redactor:
        """Names from the snapshot, and placeholders numbered by first appearance in its sorted
        records (so every report of one snapshot uses the same placeholders)."""
        texts = [json.dumps(snap.meta, sort_keys=True, ensure_ascii=False)]
        for name in sorted(snap.records):
            r = snap.records[name]
            texts += [r.stdout, r.stderr, " ".join(r.argv), r.error or ""]
        red = cls(users=tuple(find_users(snap, texts)), hosts=tuple(find_hosts(snap)))
        for t in texts:
            red.text(t)
        return red

    # --- placeholders ------------------------------------------------------------------------

    def user(self, name: str) -> str:
        key = name.strip().lower()
        if not key or key in _GENERIC_PROFILES:
            return name
        if key not in self.users:
            self.users[key] = f"user-{len(self.users) + 1}"
            self._names = None
        return self.users[key]

    def host(self, name: str) -> str:
        key = name.strip().lower().rstrip(".")
        if not key or key in ("localhost", "localhost.localdomain", "ip6-localhost") or parse_ip(key):
            return name
        if key not in self.hosts:
            self.hosts[key] = f"host-{len(self.hosts) + 1}"
            self._names = None
            short = key.split(".")[0]
            if short != key and short not in self.hosts:
                self.hosts[short] = self.hosts[key]
        return self.hosts[key]

    def ip(self, addr: ipaddress.IPv4Address | ipaddress.IPv6Address, original: str) -> str:
        if is_well_known(addr):
            return original
        if addr.version == 4:
            if addr not in self.v4:
                self.v4[addr] = _v4_placeholder(len(self.v4) + 1)
            return self.v4[addr]
        if addr.ipv4_mapped is not None:
            return "::ffff:" + self.ip(addr.ipv4_mapped, str(addr.ipv4_mapped))
        if addr not in self.v6:
            n = len(self.v6) + 1
            self.v6[addr] = f"fe80::db8:{n:x}" if addr.is_link_local else f"2001:db8::{n:x}"
        return self.v6[addr]

    def mac(self, text: str) -> str:
        key = re.sub(r"[-:]", ":", text.lower())
        if key in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
            return text
        if key not in self.macs:
            n = len(self.macs) + 1
            self.macs[key] = f"00:00:5e:00:{0x53 + n // 256:02x}:{n % 256:02x}"  # RFC 7042 documentation MACs
        out = self.macs[key]
        return out.upper().replace(":", "-") if "-" in text else out

    def segment(self, seg: str, after_users: bool) -> str:
        low = seg.lower()
        if after_users and low not in _GENERIC_PROFILES:
            return self.user(seg)
        if low in KEEP_SEGMENTS or re.fullmatch(r"%[\w()]+%", seg) or low in _GENERIC_PROFILES:
            return seg
        if low in self.users:
            return self.users[low]
        if low not in self.segments:
            n = len(self.segments) + 1
            ext = re.search(r"\.[A-Za-z0-9]{1,5}$", seg)
            self.segments[low] = f"file-{n}{ext.group().lower()}" if ext and ext.start() > 0 else f"dir-{n}"
        return self.segments[low]

    # --- applying ----------------------------------------------------------------------------

    def text(self, s: str) -> str:
        """Every sensitive value in ``s`` replaced (the same value always by the same placeholder)."""
        if not s:
            return s
        s = _WIN_PATH.sub(lambda m: self._path(m.group(), "\\"), s)
        s = _WIN_PATH_FWD.sub(lambda m: self._path(m.group(), "/"), s)
        s = _MNT_PATH.sub(lambda m: self._path(m.group(), "/"), s)
        s = _HOME.sub(lambda m: "/home/" + self.user(m.group(1)), s)
        s = _USER_CONTEXT.sub(lambda m: m.group(1) + (self.user(m.group(2)) if m.group(2).lower() in self.users
                                                        else m.group(2)), s)
        s = _TOKEN.sub(self._token, s)
        s = _MAC_DASHED.sub(lambda m: self.mac(m.group()), s)
        names = self._name_pattern()
        if names is not None:
            s = names.sub(self._name, s)
        return s

    def document(self, obj: Any) -> Any:
        """A JSON-able value with every string (and every key) redacted."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            return {self.text(str(k)): self.document(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.document(v) for v in obj]
        return obj

    def _path(self, path: str, sep: str) -> str:
        parts = re.split(r"(\\\\|\\|/)", path)
        out, prev = [], ""
        # parts: [root, sep, seg, sep, seg ...]; /mnt paths start with "" then "/", "mnt", "/", "c"
        start = 1
        if path.startswith("/mnt/"):
            out, start = parts[:5], 5  # "", "/", "mnt", "/", "c"
            prev = parts[4]
        else:
            out, prev = [parts[0]], parts[0]
        for i in range(start, len(parts)):
            p = parts[i]
            if i % 2 == 1 or p == "":
                out.append(p)
                continue
            out.append(self.segment(p, after_users=prev.lower() == "users"))
            prev = p
        return "".join(out)

    def _token(self, m: re.Match[str]) -> str:
        tok = m.group()
        core = tok if parse_ip(tok) is not None else tok.rstrip(":.")  # "2002::" is whole; "at 10.1.2.3." is not
        tail = tok[len(core):]
        if not core:
            return tok
        addr = parse_ip(core)
        if addr is not None:
            if addr.version == 4 and self._is_version(m.string, m.start(), m.start() + len(core)):
                return tok
            return self.ip(addr, core) + tail
        if _MAC.match(core):
            return self.mac(core) + tail
        # addr:port, a MAC inside something longer, dotted quads inside a longer run
        if ":" in core:
            head, _, port = core.rpartition(":")
            addr = parse_ip(head)
            if addr is not None and port.isdigit():
                return self.ip(addr, head) + ":" + port + tail
        return _QUAD.sub(lambda q: self._quad(q, m), tok)

    def _quad(self, q: re.Match[str], outer: re.Match[str]) -> str:
        addr = parse_ip(q.group())
        if addr is None:
            return q.group()
        start = outer.start() + q.start()
        if self._is_version(outer.string, start, start + len(q.group())):
            return q.group()
        return self.ip(addr, q.group())

    @staticmethod
    def _is_version(s: str, start: int, end: int) -> bool:
        """A dotted quad that is a version number: "version: 2.3.26.0", "5.15.167.4-microsoft"."""
        if _VERSION_BEFORE.search(s[max(0, start - 12):start]):
            return True
        rest = s[end:end + 20]
        return rest.startswith("-") and not re.match(r"-\d{1,3}(\.\d{1,3}){3}", rest) and len(rest) > 1 and rest[1].isalnum()

    def _name_pattern(self) -> re.Pattern[str] | None:
        if self._names is None:
            words = [n for n in list(self.users) + list(self.hosts) if n not in VOCABULARY]
            if not words:
                return None
            alts = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
            self._names = re.compile(rf"(?i)(?<![\w.-])(?:{alts})(?![\w-]|\.\w)")
        return self._names

    def _name(self, m: re.Match[str]) -> str:
        key = m.group().lower()
        return self.users.get(key) or self.hosts.get(key) or m.group()

    @property
    def mapping(self) -> dict[str, str]:
        """Every original value -> its placeholder (for tests and for a person checking the output)."""
        out: dict[str, str] = {}
        out.update({str(k): v for k, v in self.v4.items()})
        out.update({str(k): v for k, v in self.v6.items()})
        out.update(self.macs)
        out.update(self.users)
        out.update(self.hosts)
        out.update(self.segments)
        return out


def _v4_placeholder(n: int) -> str:
    """The n-th IPv4 placeholder: the documentation ranges (RFC 5737), then the benchmarking /15."""
    for net in ("192.0.2.", "198.51.100.", "203.0.113."):
        if n <= 254:
            return f"{net}{n}"
        n -= 254
    return str(ipaddress.IPv4Address(int(ipaddress.IPv4Address("198.18.0.1")) + n - 1))


def find_users(snap, texts: list[str] | None = None) -> list[str]:
    """User names the snapshot tells: /home/X, /mnt/c/Users/X, C:\\Users\\X, %USERPROFILE%,
    [user] default= in /etc/wsl.conf, meta "user". Process names from ss are not user names."""
    found: list[str] = []
    for t in texts or []:
        for pat in _FIND_USERS:
            found += [m.group(1) for m in pat.finditer(t)]
    ps = snap.records.get("win.powershell")
    if ps is not None:
        try:
            profile = json.loads(ps.stdout).get("userProfile")
        except (ValueError, AttributeError):
            profile = None
        if isinstance(profile, str) and profile.strip():
            found.append(re.split(r"[\\/]", profile.strip().rstrip("\\/"))[-1])
    conf = snap.records.get("wsl.conf")
    if conf is not None:
        found += _ini_values(conf.stdout, "user", "default")
    for key in ("user", "username", "USER"):
        if isinstance(snap.meta.get(key), str):
            found.append(snap.meta[key])
    return [u for u in dict.fromkeys(f.strip() for f in found) if u and u.lower() not in _GENERIC_PROFILES
            and not u.startswith("%")]


def find_hosts(snap) -> list[str]:
    """Host names the snapshot tells: meta "host", [network] hostname= in /etc/wsl.conf, the
    hostname record when there is one."""
    found: list[str] = []
    for key in ("host", "hostname", "computer"):
        if isinstance(snap.meta.get(key), str):
            found.append(snap.meta[key])
    conf = snap.records.get("wsl.conf")
    if conf is not None:
        found += _ini_values(conf.stdout, "network", "hostname")
    for name in ("net.hostname", "kernel.hostname"):
        rec = snap.records.get(name)
        if rec is not None and rec.stdout.strip():
            found.append(rec.stdout.strip().splitlines()[0])
    return [h for h in dict.fromkeys(f.strip() for f in found) if h]


def _ini_values(text: str, section: str, key: str) -> list[str]:
    out, current = [], ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and "]" in line:
            current = line[1:line.index("]")].strip().lower()
        elif current == section and "=" in line and line.split("=", 1)[0].strip().lower() == key:
            value = line.split("=", 1)[1].split("#")[0].strip().strip("\"'")
            if value:
                out.append(value)
    return out
