"""ufw facts from the ``ufw.status`` record (``ufw status verbose``), and the legacy-backend trap.

``ufw status verbose`` (ufw 0.36, ``ufw/backend_iptables.py: get_status``)::

    Status: active
    Logging: on (low)
    Default: deny (incoming), allow (outgoing), disabled (routed)
    New profiles: skip

    To                         Action      From
    --                         ------      ----
    22/tcp                     ALLOW IN    Anywhere                   # comment
    8443/tcp on eth0           ALLOW IN    Anywhere
    80,443/tcp (WWW Full)      ALLOW IN    Anywhere
    3306/tcp                   DENY IN     10.55.0.0/16               (log-all) # no db
    22/tcp (v6)                REJECT IN   Anywhere (v6)

    53/udp                     ALLOW OUT   Anywhere

    3000/tcp on lo             ALLOW FWD   Anywhere on eth0

Each row is ``"%-26s %-12s%-26s%s%s" % (to, action, from, " (log)"/" (log-all)", " # comment")``;
rows are grouped in, then out, then routed (so the listing position is not ``ufw delete N``'s
number). "active/inactive" comes from the kernel (is chain ``ufw-user-input`` loaded in the
iptables backend ufw uses?), the rules from ``/etc/ufw/user*.rules``; ``Status: inactive`` is the
whole output when it is not loaded.

Everything here is pure: text in, dataclasses out, never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wsltui.facts.base import Unknown, first_line, usable_record
from wsltui.records import command_for
from wsltui.snapshot import Record, Snapshot
from wsltui.vocabulary import plural

STATUS = "ufw.status"


# --- model ------------------------------------------------------------------------------------


@dataclass
class UfwEndpoint:
    """One side of a rule: the ``To`` or the ``From`` cell.

    ``address`` "" means Anywhere; ``ports`` "" means any port, else verbatim (``80,443``,
    ``60000:61000``) with ``port_ranges`` as (low, high) pairs; ``proto`` "" means any."""

    text: str  # the cell, verbatim
    address: str = ""
    ports: str = ""
    port_ranges: list[tuple[int, int]] = field(default_factory=list)
    proto: str = ""
    app: str = ""  # application profile, e.g. "OpenSSH", "WWW Full"
    iface: str = ""  # "on IFACE"
    v6: bool = False  # "(v6)" shown in the cell

    @property
    def anywhere(self) -> bool:
        return not self.address


@dataclass
class UfwRule:
    """One row of the rule table.

    ``position`` is 1-based in listing order (in, out, routed groups as ufw prints them).
    ``action``: allow, deny, reject, limit. ``direction``: in, out, fwd. ``iface_in`` and
    ``iface_out`` are the interfaces the rule is bound to (ufw shows the incoming interface of an
    in rule under To, of a routed rule under From). ``ports``/``proto`` are the destination's.
    ``v6`` is True for the IPv6 twin of a rule (``(v6)``) and for rules with IPv6 addresses."""

    position: int
    text: str
    action: str
    direction: str
    dst: UfwEndpoint  # the "To" column
    src: UfwEndpoint  # the "From" column
    ports: str = ""
    port_ranges: list[tuple[int, int]] = field(default_factory=list)
    proto: str = ""
    iface_in: str = ""
    iface_out: str = ""
    v6: bool = False
    log: str = ""  # "", "log" or "log-all"
    comment: str = ""
    number: int | None = None  # ``[ n]`` of ``ufw status numbered`` (None in verbose output)


@dataclass
class UfwFacts:
    """What ``ufw status verbose`` says.

    ``active`` True/False, or None when it cannot be told (``unknown`` says why). ``installed`` is
    False when ufw is not installed (then ``active`` is False). The defaults are the words ufw
    prints: ``deny``, ``allow``, ``reject``, or ``disabled`` (routed, when forwarding is off).
    ``logging`` is ``on``/``off`` and ``logging_level`` ``low``/``medium``/``high``/``full``."""

    active: bool | None = None
    installed: bool | None = None
    unknown: Unknown | None = None
    reason: str = ""
    logging: str = ""
    logging_level: str = ""
    default_incoming: str = ""
    default_outgoing: str = ""
    default_routed: str = ""
    new_profiles: str = ""
    rules: list[UfwRule] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# --- parsing ----------------------------------------------------------------------------------

_ROW = re.compile(
    r"^(?:\[\s*(?P<num>\d+)\]\s)?(?P<to>\S.*?)\s+(?P<action>ALLOW|DENY|REJECT|LIMIT)(?: (?P<dir>IN|OUT|FWD))?(?:\s+(?P<rest>.*))?$"
)
_PORTS = re.compile(r"^(?P<ports>\d+(?::\d+)?(?:,\d+(?::\d+)?)*)(?:/(?P<proto>[a-z][a-z0-9]*))?$")
_PROTO_SUFFIX = re.compile(r"^(?P<addr>.+)/(?P<proto>[a-z][a-z0-9]*)$")
_IFACE = re.compile(r"^(?P<rest>.*?)\s+on\s+(?P<iface>\S+)$")
_APP = re.compile(r"^(?P<rest>.*?\S)\s+\((?P<app>.+?)(?P<v6>\s+\(v6\))?\)$")
_V6 = re.compile(r"^(?P<rest>.*?)\s+\(v6\)$")
_DEFAULT = re.compile(r"(\w[\w-]*)\s+\((incoming|outgoing|routed)\)")


def parse_endpoint(cell: str, problems: list[str] | None = None) -> UfwEndpoint:
    """A ``To``/``From`` cell -> UfwEndpoint. Forms (ufw 0.36): ``Anywhere``, ``Anywhere (v6)``,
    ``Anywhere/tcp``, ``ADDR``, ``ADDR/proto``, ``PORTS[/proto]``, ``ADDR PORTS[/proto]``,
    ``PORTS/proto (APP)``, ``PORTS/proto (APP (v6))``, ``PORTS/proto (v6)``, each optionally
    followed by ``on IFACE``."""
    ep = UfwEndpoint(text=cell.strip())
    rest = ep.text
    m = _IFACE.match(rest)
    if m:
        rest, ep.iface = m["rest"], m["iface"]
    m = _APP.match(rest)
    if m and m["app"] != "v6":
        rest, ep.app, ep.v6 = m["rest"], m["app"].strip(), bool(m["v6"])
    m = _V6.match(rest)
    if m:
        rest, ep.v6 = m["rest"], True
    words = rest.split()
    if not words:
        _problem(problems, f"empty address/port cell {cell.strip()!r}")
        return ep
    first = words[0]
    if (
        len(words) >= 2
        and not ep.app
        and not _is_address(first)
        and first != "Anywhere"
        and not _PORTS.match(first)
        and all(re.match(r"^[\w.+-]+$", w) for w in words)
    ):
        # ``ufw status`` without ``verbose`` shows an app profile by its name: "WWW Full".
        ep.app = " ".join(words)
        return ep
    if len(words) > 2:
        _problem(problems, f"not understood: {cell.strip()!r}")
        return ep
    if len(words) == 2:
        ep.address = first
        if not _is_address(first):
            _problem(problems, f"not an address: {first!r} in {cell.strip()!r}")
        if not _set_ports(ep, words[1]):
            _problem(problems, f"not a port list: {words[1]!r} in {cell.strip()!r}")
        return ep
    if first == "Anywhere" or first.startswith("Anywhere/"):
        if "/" in first:
            ep.proto = first.split("/", 1)[1]
        return ep
    if _set_ports(ep, first):
        return ep
    m = _PROTO_SUFFIX.match(first)
    if m and _is_address(m["addr"]):
        ep.address, ep.proto = m["addr"], m["proto"]
    elif _is_address(first):
        ep.address = first
    elif not ep.app and re.match(r"^[A-Za-z][\w.+-]*$", first):
        ep.app = first  # non-verbose form: the app profile's name only ("OpenSSH")
    else:
        ep.address = first
        _problem(problems, f"not an address, port or app: {first!r} in {cell.strip()!r}")
    return ep


_ADDRESS = re.compile(r"^(?=[0-9A-Fa-f.:]*[.:])[0-9A-Fa-f.:]+(/\d{1,3})?$")


def _is_address(word: str) -> bool:
    return bool(_ADDRESS.match(word))


def _set_ports(ep: UfwEndpoint, word: str) -> bool:
    m = _PORTS.match(word)
    if not m:
        return False
    ranges: list[tuple[int, int]] = []
    for part in m["ports"].split(","):
        low, _, high = part.partition(":")
        lo, hi = int(low), int(high or low)
        if not 0 <= lo <= hi <= 65535:
            return False
        ranges.append((lo, hi))
    ep.ports, ep.port_ranges, ep.proto = m["ports"], ranges, m["proto"] or ""
    return True


def _problem(problems: list[str] | None, text: str) -> None:
    if problems is not None:
        problems.append(text)


def parse_rule_row(line: str, position: int, problems: list[str] | None = None) -> UfwRule | None:
    """One row of the rule table -> UfwRule (None, and a problem, when it is not a rule row)."""
    row = line.rstrip()
    m = _ROW.match(row)
    if not m:
        _problem(problems, f"rule row not understood: {row.strip()[:160]!r}")
        return None
    rest = m["rest"] or ""
    comment = ""
    hash_at = rest.find(" # ")
    if rest.startswith("# "):
        hash_at = -1  # a From cell is never empty; keep the text as From and let it fail below
    if hash_at >= 0:
        rest, comment = rest[:hash_at], rest[hash_at + 3 :]
    log = ""
    # Attributes after From: " (log)", " (log-all)"; ``status numbered`` adds "out": " (log, out)".
    lm = re.search(r"\s\(((?:log|log-all|out)(?:, (?:log|log-all|out))*)\)\s*$", rest)
    if lm:
        rest = rest[: lm.start()]
        log = next((a for a in lm.group(1).split(", ") if a.startswith("log")), "")
    sub: list[str] = []
    dst = parse_endpoint(m["to"], sub)
    src = parse_endpoint(rest, sub)
    direction = (m["dir"] or "IN").lower()
    rule = UfwRule(
        position=position,
        text=row.strip(),
        action=m["action"].lower(),
        direction=direction,
        dst=dst,
        src=src,
        ports=dst.ports,
        port_ranges=list(dst.port_ranges),
        proto=dst.proto or src.proto,
        log=log,
        comment=comment,
        number=int(m["num"]) if m["num"] else None,
    )
    if direction == "fwd":
        rule.iface_in, rule.iface_out = src.iface, dst.iface
    else:
        rule.iface_in, rule.iface_out = dst.iface, src.iface
    rule.v6 = dst.v6 or src.v6 or ":" in dst.address or ":" in src.address
    if problems is not None:
        problems.extend(f"rule {position} ({row.strip()[:80]!r}): {p}" for p in sub)
    return rule


def parse_status(text: str, problems: list[str] | None = None) -> UfwFacts:
    """``ufw status verbose`` (also plain ``status`` and ``status numbered``) -> UfwFacts.
    ``active`` is None when there is no ``Status:`` line."""
    facts = UfwFacts(installed=True)
    problems = facts.problems if problems is None else problems
    try:
        _parse_status(text, facts, problems)
    except Exception as e:  # a parser never raises
        problems.append(f"internal parser error: {type(e).__name__}: {e}")
    if problems is not facts.problems:
        facts.problems = problems
    return facts


def _parse_status(text: str, facts: UfwFacts, problems: list[str]) -> None:
    in_table = False
    position = 0
    for raw in text.splitlines():
        line = raw.rstrip()
        s = line.strip()
        if not s:
            continue
        if not in_table:
            key, sep, value = s.partition(":")
            value = value.strip()
            if sep and key == "Status":
                word = value.split()[0].lower() if value else ""
                if word in ("active", "inactive"):
                    facts.active = word == "active"
                else:
                    problems.append(f"unknown status {value!r}")
            elif sep and key == "Logging":
                lm = re.match(r"^(on|off)(?:\s+\((\w+)\))?$", value)
                if lm:
                    facts.logging, facts.logging_level = lm.group(1), lm.group(2) or ""
                else:
                    problems.append(f"logging not understood: {value!r}")
            elif sep and key == "Default":
                found = dict((d, p) for p, d in _DEFAULT.findall(value))
                facts.default_incoming = found.get("incoming", "")
                facts.default_outgoing = found.get("outgoing", "")
                facts.default_routed = found.get("routed", "")
                if len(found) != 3:
                    problems.append(f"default policies not understood: {value!r}")
            elif sep and key == "New profiles":
                facts.new_profiles = value
            elif re.match(r"^(\[\s*\]\s*)?To\s+Action\s+From$", s) or re.match(r"^To\s+Action\s+From$", s):
                in_table = True
            elif s.startswith("ERROR:") or s.startswith("WARN:"):
                problems.append(s[:200])
            else:
                problems.append(f"line not understood: {s[:160]!r}")
            continue
        if re.match(r"^-+\s+-+\s+-+$", s):
            continue
        rule = parse_rule_row(line, position + 1, problems)
        if rule is not None:
            position += 1
            facts.rules.append(rule)
    if facts.active is None:
        problems.append("no 'Status:' line")
    elif facts.active is False and facts.rules:
        problems.append("ufw says inactive but lists rules")


def from_snapshot(snapshot: Snapshot) -> UfwFacts:
    """UfwFacts from record ``ufw.status`` of ``snapshot``. Never raises."""
    cmd = command_for(STATUS)
    try:
        record: Record | None = snapshot.get(STATUS)
    except Exception:
        record = None
    try:
        if record is not None and record.error and "command not found" in record.error:
            return UfwFacts(active=False, installed=False, reason="ufw is not installed.")
        usable = usable_record(record, cmd)
        if isinstance(usable, Unknown):
            u = usable
            if record is not None and "need to be root" in (record.stderr + record.stdout):
                u = Unknown("ufw status needs root", u.command)
            return UfwFacts(unknown=u, reason=f"It is not known whether ufw is active: {u.reason}.")
        facts = parse_status(usable.stdout)
        if facts.active is None:
            detail = first_line(usable.stdout)
            facts.unknown = Unknown(
                "ufw status printed no 'Status:' line" + (f" (it printed {detail!r})" if detail else ""),
                usable.command or cmd,
            )
            facts.reason = f"It is not known whether ufw is active: {facts.unknown.reason}."
        elif facts.active:
            facts.reason = f"ufw is active with {plural(len(facts.rules), 'rule row')}."
        else:
            facts.reason = "ufw says it is inactive (its chains are not loaded in the iptables backend it uses)."
        return facts
    except Exception as e:  # a parser never raises
        return UfwFacts(
            unknown=Unknown(f"wsltui could not parse ufw status ({type(e).__name__}: {e})", cmd),
            problems=[f"internal parser error: {type(e).__name__}: {e}"],
        )


# --- the legacy-backend trap ------------------------------------------------------------------


def ufw_trap(ufw: UfwFacts, legacy_tables_text: str | None, iptables_legacy_save_text: str | None) -> str | None:
    """A plain-English warning when ufw says it is inactive although its rules are loaded in the
    *legacy* iptables backend (records ``nf.legacy-tables`` = /proc/net/ip_tables_names and
    ``nf.iptables-legacy`` = iptables-legacy-save), else None.

    ``ufw status`` asks only the iptables backend it runs (usually iptables-nft) for chain
    ``ufw-user-input``; ufw enabled once through iptables-legacy (another distro default, an
    ``update-alternatives`` switch, an old WSL image) leaves its chains filtering in the legacy
    tables while ``ufw status`` reports ``inactive``. Pure text in; never raises."""
    try:
        if ufw is None or ufw.active is not False or ufw.installed is False:
            return None
        save = iptables_legacy_save_text or ""
        lines = [l.strip() for l in save.splitlines()]
        if not any(l.startswith(":ufw-user-input ") or l == ":ufw-user-input" for l in lines):
            return None
        table = ""
        input_policy = ""
        user_rules = 0
        ufw_chains = 0
        for l in lines:
            if l.startswith("*"):
                table = l[1:].strip()
            elif table == "filter" and l.startswith(":INPUT "):
                input_policy = l.split()[1] if len(l.split()) > 1 else ""
            elif table == "filter" and l.startswith(":ufw"):
                ufw_chains += 1
            elif table == "filter" and l.startswith("-A ufw-user-input "):
                user_rules += 1
        tables = [t.strip() for t in (legacy_tables_text or "").split() if t.strip()]
        loaded = f" (legacy tables loaded: {', '.join(tables)})" if tables else ""
        policy = f", the INPUT policy there is {input_policy}" if input_policy else ""
        return (
            "ufw says it is inactive, but its rules are loaded in the legacy iptables backend and still "
            f"filter packets: iptables-legacy-save shows {plural(ufw_chains, 'ufw chain')} with "
            f"{plural(user_rules, 'user rule')} in ufw-user-input{policy}{loaded}. `ufw status` only looks at the iptables backend it "
            "runs (normally iptables-nft), so it cannot see them. Remove them with the legacy tools "
            "(`sudo iptables-legacy -F; sudo iptables-legacy -X; sudo iptables-legacy -P INPUT ACCEPT`, and the "
            "same with ip6tables-legacy), or switch ufw to the legacy backend "
            "(`update-alternatives --set iptables /usr/sbin/iptables-legacy`) and run `sudo ufw disable`."
        )
    except Exception:
        return None
