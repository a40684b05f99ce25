"""firewalld facts from the ``firewall-cmd`` records of a snapshot.

Records (docs/design.md §2):

- ``firewalld.state``        ``firewall-cmd --state``: ``running`` (exit 0), ``not running`` (to stderr,
  exit 252), ``failed`` (exit 251: the daemon runs but could not apply its configuration), or a
  D-Bus error (exit 36: no system bus, as in WSL without systemd).
- ``firewalld.zones``        ``firewall-cmd --list-all-zones``: one block per zone (format below).
- ``firewalld.active``       ``firewall-cmd --get-active-zones``: zone name, then indented
  ``interfaces:`` / ``sources:`` lines. Empty when nothing is bound (no NetworkManager, as in
  WSL: the default zone then applies to every interface).
- ``firewalld.default-zone`` ``firewall-cmd --get-default-zone``: one word.

A ``--list-all-zones`` block (firewalld 1.3; 2.x adds ``(default)`` to the header flags and the
``ingress-priority`` / ``egress-priority`` lines)::

    public (active)
      target: default
      icmp-block-inversion: no
      interfaces: eth0
      sources:
      services: dhcpv6-client ssh
      ports: 8080/tcp 60000-61000/udp
      protocols: gre
      forward: yes
      masquerade: no
      forward-ports:
    \tport=2222:proto=tcp:toport=22:toaddr=
      source-ports: 5353/udp
      icmp-blocks: echo-request
      rich rules:
    \trule family="ipv4" source address="10.0.0.0/8" port port="8081" protocol="tcp" reject type="tcp-reset"

Everything here is pure: text in, dataclasses out, never an exception. Parts that are not
understood are listed in ``problems``; a record that cannot be used makes its fact ``unknown``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from wsltui.facts.base import NOT_CAPTURED, Unknown, first_line, usable_record
from wsltui.records import command_for
from wsltui.snapshot import Record, Snapshot

STATE = "firewalld.state"
ZONES = "firewalld.zones"
ACTIVE = "firewalld.active"
DEFAULT_ZONE = "firewalld.default-zone"

# firewall-cmd exit codes (firewall/errors.py).
EXIT_DBUS_ERROR = 36
EXIT_RUNNING_BUT_FAILED = 251
EXIT_NOT_RUNNING = 252
EXIT_NOT_AUTHORIZED = 253


# --- model ------------------------------------------------------------------------------------


@dataclass
class Port:
    """``8080/tcp`` or ``60000-61000/udp`` (ports, source-ports, rich-rule ports)."""

    text: str  # verbatim
    port: str  # "8080" or "60000-61000"
    proto: str  # tcp, udp, sctp, dccp
    low: int | None = None  # None when the port is not a number or range
    high: int | None = None


@dataclass
class ForwardPort:
    """``port=8000:proto=tcp:toport=80:toaddr=10.0.0.2``; empty toport/toaddr mean "unchanged"."""

    text: str
    port: str
    proto: str
    toport: str = ""
    toaddr: str = ""


@dataclass
class RichAddress:
    """A rich rule's ``source`` or ``destination``. Exactly one of address/mac/ipset is set."""

    address: str = ""
    mac: str = ""
    ipset: str = ""
    invert: bool = False  # ``source NOT address=...``


@dataclass
class RichLog:
    """``log`` / ``nflog`` / ``audit`` part of a rich rule."""

    kind: str  # "log", "nflog" or "audit"
    prefix: str = ""
    level: str = ""  # log only
    group: str = ""  # nflog only
    queue_size: str = ""  # nflog only
    limit: str = ""  # "3/m"
    burst: str = ""


@dataclass
class RichRule:
    """One rich rule: ``text`` verbatim, plus its parse.

    ``element`` is the one match element (``service``, ``port``, ``protocol``, ``icmp-block``,
    ``icmp-type``, ``masquerade``, ``forward-port``, ``source-port``, ``tcp-mss-clamp``) or "".
    ``action`` is ``accept``, ``reject``, ``drop``, ``mark`` or "" (log-only rules, and the
    elements that carry their own action: masquerade, forward-port, icmp-block).
    ``parsed`` is False when the text did not follow the grammar (see ``problems``).
    """

    text: str
    parsed: bool = True
    family: str = ""  # "ipv4", "ipv6" or "" (both)
    priority: int = 0
    source: RichAddress | None = None
    destination: RichAddress | None = None
    element: str = ""
    service: str = ""  # service name=
    port: Port | None = None  # port / source-port / forward-port port=+protocol=
    protocol: str = ""  # protocol value= (the element; a port's protocol is in ``port``)
    icmp: str = ""  # icmp-block / icmp-type name=
    to_port: str = ""  # forward-port to-port=
    to_addr: str = ""  # forward-port to-addr=
    mss: str = ""  # tcp-mss-clamp value=
    logs: list[RichLog] = field(default_factory=list)  # log, nflog, audit (in rule order)
    action: str = ""
    reject_type: str = ""  # reject type="tcp-reset" etc.; "" = firewalld's default reject
    mark_set: str = ""  # mark set=0x1/0xff
    action_limit: str = ""
    problems: list[str] = field(default_factory=list)


@dataclass
class Zone:
    """One block of ``firewall-cmd --list-all-zones`` (list values in firewall-cmd's order)."""

    name: str
    flags: list[str] = field(default_factory=list)  # header "(default, active)", verbatim words
    default: bool = False  # "default" in the header flags (firewalld >= 2.0 prints it)
    active: bool = False  # "active" in the header flags (the zone has interfaces or sources)
    target: str = ""  # verbatim: "default", "ACCEPT", "%%REJECT%%", "DROP" ("" = not shown)
    icmp_block_inversion: bool | None = None
    interfaces: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # addresses, "ipset:NAME", MACs
    services: list[str] = field(default_factory=list)
    ports: list[Port] = field(default_factory=list)
    protocols: list[str] = field(default_factory=list)
    forward: bool | None = None  # intra-zone forwarding
    masquerade: bool | None = None
    forward_ports: list[ForwardPort] = field(default_factory=list)
    source_ports: list[Port] = field(default_factory=list)
    icmp_blocks: list[str] = field(default_factory=list)
    rich_rules: list[RichRule] = field(default_factory=list)
    ingress_priority: int | None = None  # firewalld >= 2.0 only
    egress_priority: int | None = None
    extra: dict[str, str] = field(default_factory=dict)  # other "key: value" lines, verbatim

    @property
    def target_action(self) -> str:
        """The target as a verdict word: ``default``, ``accept``, ``reject`` or ``drop``
        (``default`` = accept ICMP, reject everything else); "" when unknown."""
        return target_action(self.target)


@dataclass
class ActiveZone:
    """One zone of ``firewall-cmd --get-active-zones``."""

    name: str
    interfaces: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # "(default)" in firewalld >= 2.0


@dataclass
class FirewalldFacts:
    """What firewalld is doing.

    ``running`` is True/False, or None when it cannot be told (then ``unknown`` says why).
    ``state`` is one word: ``running``, ``failed`` (daemon up, configuration not applied),
    ``not-running`` (``firewall-cmd --state`` said so), ``no-bus`` (there is no D-Bus system bus,
    so firewalld cannot be running), ``not-installed``, or ``unknown``. ``reason`` is one plain
    sentence for people. Zone data comes from the running daemon's runtime configuration; each
    list is empty with its ``*_unknown`` set when its record could not be used.
    """

    running: bool | None = None
    state: str = "unknown"
    reason: str = ""
    unknown: Unknown | None = None
    default_zone: str | None = None
    default_zone_unknown: Unknown | None = None
    active_zones: list[ActiveZone] = field(default_factory=list)
    active_unknown: Unknown | None = None
    zones: list[Zone] = field(default_factory=list)
    zones_unknown: Unknown | None = None
    problems: list[str] = field(default_factory=list)

    def zone(self, name: str) -> Zone | None:
        for z in self.zones:
            if z.name == name:
                return z
        return None


@dataclass
class FirewalldState:
    """Result of ``parse_state``."""

    running: bool | None
    state: str
    reason: str
    unknown: Unknown | None = None


# --- helpers ----------------------------------------------------------------------------------


def target_action(target: str) -> str:
    t = target.strip().strip("%").upper()
    return {"DEFAULT": "default", "ACCEPT": "accept", "REJECT": "reject", "DROP": "drop"}.get(t, "")


def _yes_no(value: str) -> bool | None:
    v = value.strip().lower()
    return True if v == "yes" else False if v == "no" else None


_PORT = re.compile(r"^(?P<port>[^/\s]+)/(?P<proto>[a-z][a-z0-9-]*)$")
_RANGE = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")


def parse_port(text: str, problems: list[str] | None = None) -> Port | None:
    """``8080/tcp`` or ``60000-61000/udp`` -> Port; None (and a problem) when malformed."""
    m = _PORT.match(text.strip())
    if not m:
        if problems is not None:
            problems.append(f"not a port/protocol: {text!r}")
        return None
    port = Port(text=text.strip(), port=m["port"], proto=m["proto"])
    _set_range(port, problems)
    return port


def _set_range(port: Port, problems: list[str] | None) -> None:
    r = _RANGE.match(port.port)
    if r:
        low = int(r[1])
        high = int(r[2]) if r[2] else low
        if 0 <= low <= high <= 65535:
            port.low, port.high = low, high
            return
    if problems is not None:
        problems.append(f"port is not a number or range: {port.text!r}")


_FORWARD_PORT = re.compile(
    r"^port=(?P<port>[^:]*):proto=(?P<proto>[^:]*):toport=(?P<toport>[^:]*):toaddr=(?P<toaddr>.*)$"
)


def parse_forward_port(text: str, problems: list[str] | None = None) -> ForwardPort | None:
    """``port=2222:proto=tcp:toport=22:toaddr=`` (toaddr may be IPv6, so it is matched last)."""
    m = _FORWARD_PORT.match(text.strip())
    if not m or not m["port"] or not m["proto"]:
        if problems is not None:
            problems.append(f"not a forward-port: {text!r}")
        return None
    return ForwardPort(text=text.strip(), port=m["port"], proto=m["proto"], toport=m["toport"], toaddr=m["toaddr"])


# --- state ------------------------------------------------------------------------------------

_DBUS_ERROR = re.compile(r"DBUS_ERROR|org\.freedesktop\.DBus\.Error|Failed to connect to socket|dbus", re.I)
_NO_BUS = re.compile(
    r"Failed to connect to socket (?P<sock>\S+?):\s*(?P<why>No such file or directory|Connection refused)", re.I
)


def parse_state(record: Record | None) -> FirewalldState:
    """``firewall-cmd --state`` -> running True/False/None with a precise reason."""
    cmd = command_for(STATE)
    if record is None:
        u = Unknown(NOT_CAPTURED, cmd)
        return FirewalldState(
            None, "unknown", "It is not known whether firewalld runs: firewall-cmd --state was not captured.", u
        )
    rcmd = record.command or cmd
    if record.error:
        if "command not found" in record.error:
            return FirewalldState(False, "not-installed", "firewalld is not installed (there is no firewall-cmd).")
        if record.error.startswith("no system D-Bus"):  # wsltui.probes.capture did not ask: see why
            return FirewalldState(
                False,
                "no-bus",
                f"firewalld is not running: {record.error}, and firewalld cannot "
                "run without a system bus (usual in WSL without systemd).",
            )
        u = Unknown(record.error, rcmd)
        return FirewalldState(None, "unknown", f"It is not known whether firewalld runs: {record.error}.", u)
    out = record.stdout.strip()
    err = record.stderr.strip()
    both = "\n".join(x for x in (out, err) if x)
    word = first_line(out).lower() or first_line(err).lower()
    code = record.exit_code
    if code == 0 and word == "running":
        return FirewalldState(True, "running", "firewalld is running.")
    if code == EXIT_NOT_RUNNING or (word == "not running" and code not in (0, EXIT_DBUS_ERROR)):
        return FirewalldState(False, "not-running", "firewalld is not running (firewall-cmd --state: not running).")
    if code == EXIT_RUNNING_BUT_FAILED or (word == "failed" and code != 0):
        return FirewalldState(
            True,
            "failed",
            "firewalld is running but in the FAILED state: it could not apply its "
            "configuration, so its rules may be missing or only partly loaded.",
        )
    if code == EXIT_NOT_AUTHORIZED or "NotAuthorized" in both or "Authorization failed" in both:
        u = Unknown("firewall-cmd was not authorized to ask firewalld (run as root)", rcmd)
        return FirewalldState(
            None, "unknown", "It is not known whether firewalld runs: firewall-cmd was not authorized.", u
        )
    nobus = _NO_BUS.search(both)
    if nobus:
        sock = nobus["sock"]
        why = nobus["why"].lower()
        detail = "does not exist" if why.startswith("no such") else "refuses connections"
        return FirewalldState(
            False,
            "no-bus",
            f"firewalld is not running: there is no D-Bus system bus ({sock} {detail}), and "
            "firewalld cannot run without one (usual in WSL without systemd). Rules it may "
            "have left in the kernel would still show in the netfilter records.",
        )
    if code == EXIT_DBUS_ERROR or (_DBUS_ERROR.search(both) and code != 0):
        detail = first_line(err) or first_line(out) or f"exit code {code}"
        u = Unknown(f"firewall-cmd could not reach firewalld over D-Bus: {detail}", rcmd)
        return FirewalldState(None, "unknown", f"It is not known whether firewalld runs: D-Bus error ({detail}).", u)
    detail = first_line(err) or first_line(out)
    if code == 0:
        u = Unknown(
            f"unexpected output from firewall-cmd --state: {detail!r}"
            if detail
            else "firewall-cmd --state printed nothing",
            rcmd,
        )
    else:
        u = Unknown(f"exit code {code}" + (f": {detail}" if detail else ""), rcmd)
    return FirewalldState(None, "unknown", f"It is not known whether firewalld runs: {u.reason}.", u)


# --- default zone ----------------------------------------------------------------------------

_ZONE_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")


def parse_default_zone(text: str, problems: list[str] | None = None) -> str | None:
    """``firewall-cmd --get-default-zone`` -> the zone name, or None when it is not one word."""
    name = text.strip()
    if _ZONE_NAME.match(name):
        return name
    if problems is not None:
        problems.append(f"default zone is not a zone name: {first_line(text) or '(empty)'!r}")
    return None


# --- active zones -----------------------------------------------------------------------------

_HEADER = re.compile(r"^(?P<name>\S+)(?:\s+\((?P<flags>[^)]*)\))?\s*$")
_KEY = re.compile(r"^\s+(?P<key>[a-z][a-z -]*[a-z]):(?:\s(?P<value>.*)|$)")


def _flags(text: str | None) -> list[str]:
    return [f.strip() for f in (text or "").split(",") if f.strip()]


def parse_active_zones(text: str, problems: list[str] | None = None) -> list[ActiveZone]:
    """``firewall-cmd --get-active-zones`` -> zones with interfaces and sources."""
    problems = problems if problems is not None else []
    zones: list[ActiveZone] = []
    try:
        for line in text.splitlines():
            if not line.strip():
                continue
            if not line[0].isspace():
                m = _HEADER.match(line)
                if not m or not _ZONE_NAME.match(m["name"]):
                    problems.append(f"active zones: not a zone line: {line.strip()[:120]!r}")
                    continue
                zones.append(ActiveZone(m["name"], flags=_flags(m["flags"])))
                continue
            m = _KEY.match(line)
            if not m or not zones:
                problems.append(f"active zones: not understood: {line.strip()[:120]!r}")
                continue
            values = (m["value"] or "").split()
            if m["key"] == "interfaces":
                zones[-1].interfaces.extend(values)
            elif m["key"] == "sources":
                zones[-1].sources.extend(values)
            else:
                problems.append(f"active zones: unknown key {m['key']!r} in zone {zones[-1].name}")
    except Exception as e:  # a parser never raises
        problems.append(f"active zones: internal parser error: {type(e).__name__}: {e}")
    return zones


# --- zones ------------------------------------------------------------------------------------

_LIST_KEYS = {"interfaces", "sources", "services", "protocols", "icmp-blocks"}


def parse_zones(text: str, problems: list[str] | None = None) -> list[Zone]:
    """``firewall-cmd --list-all-zones`` (or ``--list-all`` / ``--info-zone``) -> zones.

    Blocks are separated by blank lines; multi-line values (forward-ports, rich rules) are the
    tab-indented lines that follow their key."""
    problems = problems if problems is not None else []
    zones: list[Zone] = []
    try:
        zone: Zone | None = None
        last_key = ""
        for raw in text.splitlines():
            line = raw.rstrip("\r")
            if not line.strip():
                zone, last_key = None, ""
                continue
            if line.startswith("\t"):
                if zone is None or last_key not in ("forward-ports", "rich rules"):
                    problems.append(
                        f"zones: continuation line without a forward-ports/rich rules key: {line.strip()[:120]!r}"
                    )
                    continue
                _add_value(zone, last_key, line.strip(), problems)
                continue
            if not line[0].isspace():
                m = _HEADER.match(line)
                if not m or not _ZONE_NAME.match(m["name"]):
                    problems.append(f"zones: not a zone header: {line.strip()[:120]!r}")
                    zone, last_key = None, ""
                    continue
                if zone is not None:
                    problems.append(f"zones: zone {m['name']} starts without a blank line after {zone.name}")
                flags = _flags(m["flags"])
                zone = Zone(m["name"], flags=flags, default="default" in flags, active="active" in flags)
                zones.append(zone)
                last_key = ""
                continue
            m = _KEY.match(line)
            if zone is None:
                problems.append(f"zones: line outside a zone block: {line.strip()[:120]!r}")
                continue
            if not m:
                problems.append(f"zones: zone {zone.name}: not understood: {line.strip()[:120]!r}")
                continue
            last_key = m["key"]
            value = (m["value"] or "").strip()
            _set_key(zone, last_key, value, problems)
    except Exception as e:  # a parser never raises
        problems.append(f"zones: internal parser error: {type(e).__name__}: {e}")
    return zones


def _set_key(zone: Zone, key: str, value: str, problems: list[str]) -> None:
    where = f"zones: zone {zone.name}"
    if key == "target":
        zone.target = value
        if value and not target_action(value):
            problems.append(f"{where}: unknown target {value!r}")
    elif key in ("icmp-block-inversion", "forward", "masquerade"):
        b = _yes_no(value)
        if b is None:
            problems.append(f"{where}: {key} is not yes/no: {value!r}")
        attr = {"icmp-block-inversion": "icmp_block_inversion"}.get(key, key)
        setattr(zone, attr, b)
    elif key in _LIST_KEYS:
        getattr(zone, key.replace("-", "_")).extend(value.split())
    elif key in ("ports", "source-ports"):
        target = zone.ports if key == "ports" else zone.source_ports
        for word in value.split():
            p = parse_port(word, _prefixed(problems, f"{where}: {key}"))
            if p is not None:
                target.append(p)
    elif key in ("forward-ports", "rich rules"):
        if value:  # firewall-cmd puts them on the following lines; accept them inline too
            _add_value(zone, key, value, problems)
    elif key in ("ingress-priority", "egress-priority"):
        try:
            prio = int(value)
        except ValueError:
            problems.append(f"{where}: {key} is not a number: {value!r}")
            return
        setattr(zone, key.replace("-", "_"), prio)
    else:
        zone.extra[key] = value


def _add_value(zone: Zone, key: str, value: str, problems: list[str]) -> None:
    where = f"zones: zone {zone.name}"
    if key == "forward-ports":
        for word in value.split():
            fp = parse_forward_port(word, _prefixed(problems, f"{where}: forward-ports"))
            if fp is not None:
                zone.forward_ports.append(fp)
    else:
        rule = parse_rich_rule(value)
        zone.rich_rules.append(rule)
        problems.extend(f"{where}: rich rule {value[:100]!r}: {p}" for p in rule.problems)


class _prefixed(list[str]):
    """A problems list that prefixes what is appended and forwards it to ``target``."""

    def __init__(self, target: list[str], prefix: str) -> None:
        super().__init__()
        self._target, self._prefix = target, prefix

    def append(self, item: str) -> None:
        self._target.append(f"{self._prefix}: {item}")


# --- rich rules -------------------------------------------------------------------------------

_ELEMENTS = (
    "service",
    "port",
    "protocol",
    "icmp-block",
    "icmp-type",
    "masquerade",
    "forward-port",
    "source-port",
    "tcp-mss-clamp",
)
_ACTIONS = ("accept", "reject", "drop", "mark")
_ELEMENT_ATTRS = {
    "service": ("name",),
    "port": ("port", "protocol"),
    "source-port": ("port", "protocol"),
    "protocol": ("value",),
    "icmp-block": ("name",),
    "icmp-type": ("name",),
    "masquerade": (),
    "forward-port": ("port", "protocol", "to-port", "to-addr"),
    "tcp-mss-clamp": ("value",),
}


def parse_rich_rule(text: str) -> RichRule:
    """Parse one rich rule (firewalld.richlanguage(5)); never raises.

    ``rule [priority=P] [family=F] [source [NOT] address|mac|ipset=V] [destination [NOT]
    address|ipset=V] [ELEMENT attrs] [log [prefix] [level] [limit value [burst]]] [nflog ...]
    [audit [limit ...]] [accept|reject [type=T]|drop|mark set=M] [limit value=R]``."""
    rule = RichRule(text=text.strip())
    try:
        _parse_rich(rule)
    except Exception as e:  # a parser never raises
        rule.problems.append(f"internal parser error: {type(e).__name__}: {e}")
    if rule.problems:
        rule.parsed = False
    return rule


def _parse_rich(rule: RichRule) -> None:
    problems = rule.problems
    try:
        words = shlex.split(rule.text)
    except ValueError as e:
        problems.append(f"cannot split into words ({e})")
        return
    if not words or words[0] != "rule":
        problems.append("does not start with 'rule'")
        return
    ctx = "rule"  # the element the next attributes belong to
    limit_owner: RichLog | str | None = None  # what a "limit" word attaches to
    for word in words[1:]:
        if "=" in word:
            name, value = word.split("=", 1)
            if not name:
                problems.append(f"attribute without a name: {word!r}")
                continue
            _rich_attr(rule, ctx, name, value, limit_owner)
            continue
        w = word
        if w in ("source", "destination"):
            if getattr(rule, w) is not None:
                problems.append(f"more than one {w}")
            setattr(rule, w, RichAddress())
            ctx = w
        elif w in ("NOT", "not"):
            if ctx in ("source", "destination"):
                getattr(rule, ctx).invert = True
            else:
                problems.append("NOT outside source/destination")
        elif w in _ELEMENTS:
            if rule.element:
                problems.append(f"more than one element ({rule.element}, {w})")
            rule.element = w
            ctx = w
        elif w in ("log", "nflog", "audit"):
            entry = RichLog(kind=w)
            rule.logs.append(entry)
            ctx = w
            limit_owner = entry
        elif w in _ACTIONS:
            if rule.action:
                problems.append(f"more than one action ({rule.action}, {w})")
            rule.action = w
            ctx = w
            limit_owner = "action"
        elif w == "limit":
            if limit_owner is None:
                problems.append("limit without log, audit or action")
            ctx = "limit"
        else:
            problems.append(f"unknown word {w!r}")
            ctx = "?"
    # Checks that need the whole rule.
    if rule.family not in ("", "ipv4", "ipv6"):
        problems.append(f"unknown family {rule.family!r}")
    for addr_name, addr in (("source", rule.source), ("destination", rule.destination)):
        if addr is not None and not (addr.address or addr.mac or addr.ipset):
            problems.append(f"{addr_name} without address, mac or ipset")
    if rule.element in ("port", "source-port", "forward-port") and (
        rule.port is None or not rule.port.port or not rule.port.proto
    ):
        problems.append(f"{rule.element} without port and protocol")
    if rule.element == "service" and not rule.service:
        problems.append("service without name")
    if rule.element == "protocol" and not rule.protocol:
        problems.append("protocol without value")
    if rule.action == "mark" and not rule.mark_set:
        problems.append("mark without set=")


def _rich_attr(rule: RichRule, ctx: str, name: str, value: str, limit_owner: RichLog | str | None) -> None:
    problems = rule.problems
    if ctx == "rule":
        if name == "family":
            rule.family = value
        elif name == "priority":
            try:
                rule.priority = int(value)
            except ValueError:
                problems.append(f"priority is not a number: {value!r}")
            else:
                if not -32768 <= rule.priority <= 32767:
                    problems.append(f"priority out of range: {value}")
        else:
            problems.append(f"attribute {name!r} outside of any element")
        return
    if ctx in ("source", "destination"):
        addr: RichAddress = getattr(rule, ctx)
        allowed: tuple[str, ...] = (
            ("address", "mac", "ipset", "invert") if ctx == "source" else ("address", "ipset", "invert")
        )
        if name not in allowed:
            problems.append(f"{ctx}: unknown attribute {name!r}")
        elif name == "invert":
            addr.invert = value.lower() in ("true", "yes", "1")
        else:
            setattr(addr, name, value)
        return
    if ctx in _ELEMENT_ATTRS:
        if name not in _ELEMENT_ATTRS[ctx]:
            problems.append(f"{ctx}: unknown attribute {name!r}")
            return
        if ctx == "service":
            rule.service = value
        elif ctx in ("icmp-block", "icmp-type"):
            rule.icmp = value
        elif ctx == "protocol":
            rule.protocol = value
        elif ctx == "tcp-mss-clamp":
            rule.mss = value
        elif name in ("port", "protocol"):
            if rule.port is None:
                rule.port = Port(text="", port="", proto="")
            if name == "port":
                rule.port.port = value
            else:
                rule.port.proto = value
            if rule.port.port and rule.port.proto:
                rule.port.text = f"{rule.port.port}/{rule.port.proto}"
                _set_range(rule.port, _prefixed(problems, ctx))
        elif name == "to-port":
            rule.to_port = value
        elif name == "to-addr":
            rule.to_addr = value
        return
    if ctx in ("log", "nflog", "audit"):
        entry = rule.logs[-1]
        allowed = {"log": ("prefix", "level"), "nflog": ("group", "prefix", "queue-size"), "audit": ()}[ctx]
        if name not in allowed:
            problems.append(f"{ctx}: unknown attribute {name!r}")
        else:
            setattr(entry, name.replace("-", "_"), value)
        return
    if ctx == "limit":
        if name not in ("value", "burst"):
            problems.append(f"limit: unknown attribute {name!r}")
        elif isinstance(limit_owner, RichLog):
            setattr(limit_owner, "limit" if name == "value" else "burst", value)
        elif limit_owner == "action" and name == "value":
            rule.action_limit = value
        return
    if ctx == "reject":
        if name == "type":
            rule.reject_type = value
        else:
            problems.append(f"reject: unknown attribute {name!r}")
        return
    if ctx == "mark":
        if name == "set":
            rule.mark_set = value
        else:
            problems.append(f"mark: unknown attribute {name!r}")
        return
    problems.append(f"attribute {name}={value!r} not expected after {ctx!r}")


# --- the whole fact -----------------------------------------------------------------------------


def from_snapshot(snapshot: Snapshot) -> FirewalldFacts:
    """Compose the firewalld facts from the four records of ``snapshot``. Never raises."""
    facts = FirewalldFacts()
    try:
        _compose(snapshot, facts)
    except Exception as e:  # a parser never raises
        facts.problems.append(f"internal parser error: {type(e).__name__}: {e}")
    return facts


def _record_for(snapshot: Snapshot, name: str) -> Record | None:
    try:
        return snapshot.get(name)
    except Exception:
        return None


def _compose(snapshot: Snapshot, facts: FirewalldFacts) -> None:
    st = parse_state(_record_for(snapshot, STATE))
    facts.running, facts.state, facts.reason, facts.unknown = st.running, st.state, st.reason, st.unknown

    def usable(name: str) -> Record | Unknown:
        if facts.running is False:
            # The other commands fail the same way; say why once, in terms of the daemon.
            return Unknown(facts.reason, command_for(name))
        return usable_record(_record_for(snapshot, name), command_for(name))

    rec = usable(DEFAULT_ZONE)
    if isinstance(rec, Unknown):
        facts.default_zone_unknown = rec
    else:
        facts.default_zone = parse_default_zone(rec.stdout, facts.problems)
        if facts.default_zone is None:
            facts.default_zone_unknown = Unknown(
                "firewall-cmd --get-default-zone printed no zone name", command_for(DEFAULT_ZONE)
            )

    rec = usable(ACTIVE)
    if isinstance(rec, Unknown):
        facts.active_unknown = rec
    else:
        facts.active_zones = parse_active_zones(rec.stdout, facts.problems)

    rec = usable(ZONES)
    if isinstance(rec, Unknown):
        facts.zones_unknown = rec
    else:
        facts.zones = parse_zones(rec.stdout, facts.problems)
        if not facts.zones:
            facts.zones_unknown = Unknown(
                "firewall-cmd --list-all-zones listed no zone"
                if not rec.stdout.strip()
                else "firewall-cmd --list-all-zones: no zone block understood",
                command_for(ZONES),
            )

    # Cross-checks between the records.
    names = {z.name for z in facts.zones}
    if facts.zones and facts.default_zone and facts.default_zone not in names:
        facts.problems.append(f"default zone {facts.default_zone!r} is not among the listed zones")
    for az in facts.active_zones:
        if facts.zones and az.name not in names:
            facts.problems.append(f"active zone {az.name!r} is not among the listed zones")
    shown_default = [z.name for z in facts.zones if z.default]
    if facts.default_zone and shown_default and shown_default != [facts.default_zone]:
        facts.problems.append(
            f"--list-all-zones marks {', '.join(shown_default)} as default, "
            f"--get-default-zone says {facts.default_zone}"
        )
