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

The snapshot is still read first (``Redactor.for_snapshot``), for what a pattern cannot find:
the names to replace wherever they appear as words — users (``/home/X``, ``C:\\Users\\X``,
``userProfile``, ``[user] default=``, the snapshot's user, an e-mail's local part; a user name and
its parts also inside other words: ``jdoe-server``, ``DoeFamily-5G``), hosts and their domains,
Windows' network names (Wi-Fi SSIDs) and the adapter names a person chose — and the placeholder
numbering (first appearance in the sorted records), so every format of one snapshot uses the same
placeholders. Found by pattern anywhere: addresses, MACs in every notation (a bare
``AABBCCDDEEFF`` only where the text or the JSON key says it is a MAC), e-mail addresses,
account SIDs, GUIDs, Windows paths, FQDNs ending in a top-level domain. In JSON a value whose key
says it is a user or host name is replaced whole (even ``dev``). The SVG screenshot is redacted
line by line as it is drawn (``wsltui.tui.report``).

Kept on purpose (not identifying, and needed to read a trace): loopback, unspecified, broadcast,
netmasks, well-known multicast (``ff02::1``, ``224.0.0.251``), the bare range prefixes
(``fe80::``, ``10.0.0.0``), WSL's fixed DNS tunnelling address 10.255.255.254, dotted version
numbers ("version: 2.3.26.0", "5.15.167.4-microsoft..."), well-known SIDs (``S-1-5-18``), WSL's VM
creator id ``{40E0AC32-...}``, public documentation sites (learn.microsoft.com, github.com),
Windows' own adapter names (Wi-Fi, Ethernet 2, vEthernet (WSL)), process names that hold no
user name, interface names, port numbers, and the Windows path segments every machine has
(``Users``, ``Program Files``, ``svchost.exe`` ...). A user name that is also a word of the
tools' output ("dev", "root", "main" ...) is replaced only where it is a user name (paths,
``default=`` values, ``USERPROFILE``, JSON ``user`` keys): replacing every ``dev`` would turn
``dev eth0`` into nonsense.

Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

# --- what is kept ------------------------------------------------------------------------------

_KEEP_V4 = {
    ipaddress.IPv4Address(a)
    for a in (
        "0.0.0.0",
        "255.255.255.255",
        "10.255.255.254",  # WSL's DNS tunnelling address, the same everywhere
        "10.0.0.0",
        "172.16.0.0",
        "192.168.0.0",
        "169.254.0.0",
        "100.64.0.0",
        "224.0.0.0",
        "240.0.0.0",
    )
}
_KEEP_V6 = {
    ipaddress.IPv6Address(a) for a in ("::", "::1", "fe80::", "ff00::", "fc00::", "fd00::", "2000::", "::ffff:0:0")
}
_LOCAL_MCAST_V4 = ipaddress.IPv4Network("224.0.0.0/24")

# A user name that is also a word the tools print: replaced only where it is a user name.
VOCABULARY = frozenset(
    {
        "dev",
        "root",
        "user",
        "users",
        "admin",
        "administrator",
        "public",
        "default",
        "home",
        "main",
        "local",
        "test",
        "guest",
        "system",
        "all",
        "any",
        "none",
        "lo",
        "host",
        "src",
        "dst",
        "ip",
        "tcp",
        "udp",
        "in",
        "out",
        "allow",
        "deny",
        "drop",
        "accept",
        "reject",
        "block",
        "filter",
        "nat",
        "input",
        "output",
        "forward",
        "docker",
        "node",
        # the placeholders' own words
        "file",
        "dir",
        "email",
        "sid",
        "guid",
        "network",
        "adapter",
        "domain",
    }
)
# Adapter names Windows gives (kept: they say which link, not whose): Wi-Fi, Ethernet 2, vEthernet (WSL) ...
_GENERIC_ADAPTER = re.compile(
    r"(?i)(?:wi-?fi|wlan|ethernet|lan|local area connection\*?|bluetooth network connection|mobile broadband|cellular|"
    r"loopback pseudo-interface|vethernet \((?:wsl|wsl \(hyper-v firewall\)|default switch)\)|vpn)(?: ?\d+)?"
)
# GUIDs kept: the WSL VM's creator id (the Hyper-V firewall's key for WSL, the same everywhere) and nil.
_KEEP_GUIDS = frozenset({"40e0ac32-46a5-438a-a0b2-2b479e8f2e90", "00000000-0000-0000-0000-000000000000"})
# Public sites a report may cite (docs, issues): not the user's.
_PUBLIC_DOMAINS = (
    "microsoft.com",
    "windows.com",
    "github.com",
    "githubusercontent.com",
    "aka.ms",
    "docker.com",
    "kernel.org",
    "netfilter.org",
    "ubuntu.com",
    "debian.org",
    "python.org",
    "firewalld.org",
    "wsltui.dev",
)
# Top-level domains a host name in a report ends with (public and the usual private ones); a dotted
# word ending otherwise (server.exe, wsl.conf, wsltui.redact) is not taken for a host name.
_TLDS = frozenset(
    """com net org edu gov mil int io co uk de fr nl eu ch at be se no dk fi pl cz it es pt ie jp cn kr in
    au nz ca us ru br mx za tw hk sg biz info name pro cloud online site tech local lan internal corp home homelan
    localdomain intranet private test example invalid arpa""".split()
)
# Profile folders every Windows has: not a person.
_GENERIC_PROFILES = frozenset({"public", "default", "default user", "all users", "defaultuser0", "defaultapppool"})
# Path segments every Windows machine has (lower case): kept so a path still says where it points.
KEEP_SEGMENTS = frozenset(
    {
        "windows",
        "system32",
        "syswow64",
        "sysnative",
        "drivers",
        "etc",
        "program files",
        "program files (x86)",
        "programdata",
        "users",
        "appdata",
        "local",
        "locallow",
        "roaming",
        "temp",
        "tmp",
        "microsoft",
        "windowsapps",
        "windows nt",
        "wsl",
        "system",
        "documents",
        "desktop",
        "downloads",
        ".wslconfig",
        "wslconfig",
        "winsxs",
        "nodejs",
        "go",
        "bin",
        "java",
        "dotnet",
        "python",
        "docker",
        "docker desktop",
        "resources",
        "git",
        "cmd",
        "windowspowershell",
        "v1.0",
        "hosts",
        "svchost.exe",
        "wslrelay.exe",
        "wslhost.exe",
        "wslservice.exe",
        "wsl.exe",
        "wslg.exe",
        "vmcompute.exe",
        "vmmem",
        "vmwp.exe",
        "lsass.exe",
        "services.exe",
        "powershell.exe",
        "pwsh.exe",
        "cmd.exe",
        "reg.exe",
        "netsh.exe",
        "clip.exe",
        "explorer.exe",
        "node.exe",
        "python.exe",
        "python3.exe",
        "java.exe",
        "javaw.exe",
        "go.exe",
        "dotnet.exe",
        "docker.exe",
        "com.docker.backend.exe",
        "code.exe",
        "msedge.exe",
        "chrome.exe",
        "firefox.exe",
        "nginx.exe",
        "httpd.exe",
        "spoolsv.exe",
        "mdnsresponder.exe",
    }
)

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
_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
# Machine and domain account SIDs (S-1-5-21-...) and Entra ID ones (S-1-12-1-...); well-known SIDs
# (S-1-5-18, S-1-5-32-544) and app-container SIDs (the same on every machine) are kept.
_SID = re.compile(r"(?i)(?<![\w-])S-1-(?:5-21|12-1)(?:-\d+){2,}(?![\w-])")
_GUID = re.compile(
    r"(?i)(?<![0-9a-f])(\{)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?(1)\})"
    r"(?![0-9a-f])"
)
_MAC_CISCO = re.compile(r"^[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}$")  # 0015.5da3.7c19
# A bare MAC (00155DA37C19) only where the text says it is one.
_MAC_BARE = re.compile(r"(?i)\b((?:mac|physical|permanent|hardware|hw|bssid|ether)[\w ]{0,9}?\W{1,4})([0-9a-f]{12})\b")
_MAC_KEYS = frozenset({"mac", "macaddress", "mac_address", "permanentaddress", "permanent_address", "bssid", "hwaddr"})
_MEMO_MAX = 4096  # longer strings are not remembered (Redactor.text)
# A word a table or the screen cut short ("JANE-LAPT…"): the start of a name is still the name.
_CUT = re.compile(r"(?<![\w.@-])([\w.@-]{3,})…")
_FQDN = re.compile(r"(?i)(?<![\w.@/-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,24})(?![\w-]|\.\w)")

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

    def __init__(
        self,
        users: tuple[str, ...] = (),
        hosts: tuple[str, ...] = (),
        networks: tuple[str, ...] = (),
        adapters: tuple[str, ...] = (),
    ) -> None:
        self.v4: dict[ipaddress.IPv4Address, str] = {}
        self.v6: dict[ipaddress.IPv6Address, str] = {}
        self.macs: dict[str, str] = {}
        self.users: dict[str, str] = {}  # lower-case name -> user-N
        self.user_words: dict[str, str] = {}  # a user name and its parts (jane.doe: jane, doe) -> user-N
        self.hosts: dict[str, str] = {}  # lower-case name -> host-N (domains too)
        self.names: dict[str, str] = {}  # networks (SSIDs) and adapter names -> network-N / adapter-N
        self.emails: dict[str, str] = {}
        self.sids: dict[str, str] = {}
        self.guids: dict[str, str] = {}
        self.segments: dict[str, str] = {}  # lower-case path segment -> dir-N / file-N.ext
        self._names: re.Pattern[str] | None = None
        self._words: re.Pattern[str] | None = None
        self._done: dict[str, str] = {}  # text -> redacted, until a new name is learned
        for u in users:
            self.user(u)
        for h in hosts:
            self.host(h)
        for n in networks:
            self.network(n)
        for a in adapters:
            self.adapter(a)

    # --- building one from a snapshot ----------------------------------------------------------

    @classmethod
    def for_snapshot(cls, snap) -> Redactor:
        """Names from the snapshot, and placeholders numbered by first appearance in its sorted
        records (so every report of one snapshot uses the same placeholders)."""
        texts = [json.dumps(snap.meta, sort_keys=True, ensure_ascii=False)]
        for name in sorted(snap.records):
            r = snap.records[name]
            texts += [r.stdout, r.stderr, " ".join(r.argv), r.error or ""]
        red = cls(
            users=tuple(find_users(snap, texts)),
            hosts=tuple(find_hosts(snap)),
            networks=tuple(find_networks(snap)),
            adapters=tuple(find_adapters(snap)),
        )
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
            self._names = self._words = None
            self._done.clear()
            # A person's name in parts (jane.doe, Jane Doe): each part is theirs wherever it appears.
            for part in [key, *re.split(r"[\s._-]+", key)]:
                if len(part) >= 3 and part not in VOCABULARY and part not in _GENERIC_PROFILES:
                    self.user_words.setdefault(part, self.users[key])
        return self.users[key]

    def host(self, name: str) -> str:
        key = name.strip().lower().rstrip(".")
        if not key or key in ("localhost", "localhost.localdomain", "ip6-localhost") or parse_ip(key):
            return name
        if key not in self.hosts:
            self.hosts[key] = f"host-{len(self.hosts) + 1}"
            self._names = None
            self._done.clear()
            short, _, domain = key.partition(".")
            if domain and short not in self.hosts:
                self.hosts[short] = self.hosts[key]
            if "." in domain and domain not in self.hosts and not _is_public(domain):  # corp.example.com
                self.hosts[domain] = f"host-{len(set(self.hosts.values())) + 1}"
        return self.hosts[key]

    def network(self, name: str) -> str:
        """A network's name (a Wi-Fi SSID, the Name of a Windows connection profile)."""
        key = name.strip().lower()
        if "." in key and _FQDN.fullmatch(key):  # a domain network is named by its domain
            return self.host(name)
        return self._named(key, "network", name)

    def adapter(self, name: str) -> str:
        """An adapter name a person chose (Windows' own, Wi-Fi or Ethernet 2, are kept)."""
        key = name.strip().lower()
        return name if _GENERIC_ADAPTER.fullmatch(key) else self._named(key, "adapter", name)

    def _named(self, key: str, kind: str, original: str) -> str:
        if not key or key in VOCABULARY:
            return original
        if key not in self.names:
            self.names[key] = f"{kind}-{sum(v.startswith(kind) for v in self.names.values()) + 1}"
            self._names = None
            self._done.clear()
        return self.names[key]

    def _numbered(self, table: dict[str, str], key: str, kind: str) -> str:
        if key not in table:
            table[key] = f"{kind}-{len(table) + 1}"
        return table[key]

    def guid(self, m: re.Match[str]) -> str:
        key = m.group(2).lower()
        if key in _KEEP_GUIDS:
            return m.group()
        out = self._numbered(self.guids, key, "guid")
        return "{" + out + "}" if m.group(1) else out

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
        """A MAC in any notation (aa:bb:.., AA-BB-.., aabb.ccdd.eeff, AABBCCDDEEFF), by its
        placeholder in the same notation."""
        digits = re.sub(r"[-:.]", "", text.lower())
        key = ":".join(digits[i : i + 2] for i in range(0, 12, 2))
        if key in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
            return text
        if key not in self.macs:
            n = len(self.macs) + 1
            self.macs[key] = f"00:00:5e:00:{0x53 + n // 256:02x}:{n % 256:02x}"  # RFC 7042 documentation MACs
        out = self.macs[key]
        if "-" in text:
            return out.upper().replace(":", "-")
        if "." in text:
            plain = out.replace(":", "")
            return ".".join(plain[i : i + 4] for i in range(0, 12, 4))
        if ":" not in text:
            plain = out.replace(":", "")
            return plain.upper() if text.isupper() or text.isdigit() else plain
        return out

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
        if len(s) > _MEMO_MAX:  # a whole record: seen once, not worth keeping twice
            return self._text(s)
        done = self._done.get(s)
        if done is None:
            done = self._done[s] = self._text(s)
        return done

    def _text(self, s: str) -> str:
        if "@" in s:
            s = _EMAIL.sub(lambda m: self._numbered(self.emails, m.group().lower(), "email"), s)
        if "-1-" in s:
            s = _SID.sub(lambda m: self._numbered(self.sids, m.group().upper(), "sid"), s)
        if "-" in s:
            s = _GUID.sub(self.guid, s)
        s = _WIN_PATH.sub(lambda m: self._path(m.group(), "\\"), s)
        s = _WIN_PATH_FWD.sub(lambda m: self._path(m.group(), "/"), s)
        s = _MNT_PATH.sub(lambda m: self._path(m.group(), "/"), s)
        s = _HOME.sub(lambda m: "/home/" + self.user(m.group(1)), s)
        s = _USER_CONTEXT.sub(
            lambda m: m.group(1) + (self.user(m.group(2)) if m.group(2).lower() in self.users else m.group(2)), s
        )
        s = _TOKEN.sub(self._token, s)
        s = _MAC_DASHED.sub(lambda m: self.mac(m.group()), s)
        s = _MAC_BARE.sub(lambda m: m.group(1) + self.mac(m.group(2)), s)
        names = self._name_pattern()
        if names is not None:
            s = names.sub(self._name, s)
        words = self._word_pattern()
        if words is not None:
            s = words.sub(lambda m: self.user_words.get(m.group().lower(), m.group()), s)
        if "." in s:
            s = _FQDN.sub(self._fqdn, s)
        return _CUT.sub(self._cut, s) if "…" in s else s

    def _cut(self, m: re.Match[str]) -> str:
        start = m.group(1).lower()
        for table in (self.users, self.hosts, self.names, self.emails):
            for name, placeholder in table.items():
                if name.startswith(start) and name != start:
                    return placeholder + "…"
        return m.group()

    def document(self, obj: Any, key: str = "") -> Any:
        """A JSON-able value with every string (and every key) redacted; a value whose key says
        what it is (``user``, ``host``, ``mac``) is replaced whole, even when it is a common word."""
        if isinstance(obj, str):
            k = key.lower()
            if k in ("user", "username", "default_user") and obj.strip():
                return self.user(obj)
            if k in ("host", "hostname", "computer") and obj.strip():
                return self.host(obj)
            if k in _MAC_KEYS and re.fullmatch(r"[0-9A-Fa-f]{12}", obj):
                return self.mac(obj)
            return self.text(obj)
        if isinstance(obj, dict):
            return {self.text(str(k)): self.document(v, str(k)) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.document(v, key) for v in obj]
        return obj

    def _fqdn(self, m: re.Match[str]) -> str:
        name = m.group()
        if m.group(1).lower() not in _TLDS or _is_public(name.lower()):
            return name
        return self.host(name)

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
        tail = tok[len(core) :]
        if not core:
            return tok
        addr = parse_ip(core)
        if addr is not None:
            if addr.version == 4 and self._is_version(m.string, m.start(), m.start() + len(core)):
                return tok
            return self.ip(addr, core) + tail
        if _MAC.match(core) or _MAC_CISCO.match(core):
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
        if _VERSION_BEFORE.search(s[max(0, start - 12) : start]):
            return True
        rest = s[end : end + 20]
        return (
            rest.startswith("-")
            and not re.match(r"-\d{1,3}(\.\d{1,3}){3}", rest)
            and len(rest) > 1
            and rest[1].isalnum()
        )

    def _name_pattern(self) -> re.Pattern[str] | None:
        if self._names is None:
            words = [n for n in list(self.users) + list(self.hosts) + list(self.names) if n not in VOCABULARY]
            if not words:
                return None
            alts = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
            self._names = re.compile(rf"(?i)(?<![\w.-])(?:{alts})(?![\w-]|\.\w)")
        return self._names

    def _word_pattern(self) -> re.Pattern[str] | None:
        """A user's name and its parts, also inside other words: jdoe-server, JDOE_tools,
        DoeFamily-5G (a part followed by a capital starts a new word), but not "does"."""
        if self._words is None:
            if not self.user_words:
                return None
            alts = "|".join(re.escape(w) for w in sorted(self.user_words, key=len, reverse=True))
            self._words = re.compile(rf"(?<![A-Za-z0-9])(?i:{alts})(?![a-z0-9])")
        return self._words

    def _name(self, m: re.Match[str]) -> str:
        key = m.group().lower()
        return self.users.get(key) or self.hosts.get(key) or self.names.get(key) or m.group()

    @property
    def mapping(self) -> dict[str, str]:
        """Every original value -> its placeholder (for tests and for a person checking the output)."""
        out: dict[str, str] = {}
        out.update({str(k): v for k, v in self.v4.items()})
        out.update({str(k): v for k, v in self.v6.items()})
        out.update(self.macs)
        out.update(self.users)
        out.update(self.user_words)
        out.update(self.hosts)
        out.update(self.names)
        out.update(self.emails)
        out.update(self.sids)
        out.update(self.guids)
        out.update(self.segments)
        return out


def _is_public(name: str) -> bool:
    return any(name == d or name.endswith("." + d) for d in _PUBLIC_DOMAINS)


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
    for t in texts or []:  # jane.doe@corp.example.com: the local part is a person's name
        found += [m.group().split("@")[0] for m in _EMAIL.finditer(t)]
    return [
        u
        for u in dict.fromkeys(f.strip() for f in found)
        if u and u.lower() not in _GENERIC_PROFILES and not u.startswith("%")
    ]


def _powershell(snap) -> dict:
    rec = snap.records.get("win.powershell")
    try:
        doc = json.loads(rec.stdout) if rec is not None else {}
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _entries(doc: dict, key: str) -> list[dict]:
    value = doc.get(key)
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


def find_networks(snap) -> list[str]:
    """Network names Windows tells (Get-NetConnectionProfile's Name: a Wi-Fi SSID, a domain)."""
    doc = _powershell(snap)
    return [e["name"] for e in _entries(doc, "conn") if isinstance(e.get("name"), str) and e["name"].strip()]


def find_adapters(snap) -> list[str]:
    """Adapter names (aliases) Windows tells; Windows' own generic names are kept by ``adapter``."""
    doc = _powershell(snap)
    found = [e.get("alias") for k in ("adapters", "conn") for e in _entries(doc, k)]
    return [a for a in dict.fromkeys(found) if isinstance(a, str) and a.strip()]


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
            current = line[1 : line.index("]")].strip().lower()
        elif current == section and "=" in line and line.split("=", 1)[0].strip().lower() == key:
            value = line.split("=", 1)[1].split("#")[0].strip().strip("\"'")
            if value:
                out.append(value)
    return out
