"""Live observations: what happened when wsltui sent the real connection (``check --live``).

A live test is data like every other probe: one ``live.<proto>-<port>-<scenario>`` record per
flow tested, whose stdout is the observation as JSON (``observation_json``). The newest test of a
flow replaces the older one. ``wsltui report`` and ``--from`` replays read them back with
``from_snapshot``; redaction treats them like any other record.

Two sides are observed: the **client** (what connect() returned, and after how long) and, when
wsltui may watch, **Linux** (did the packet arrive, which chain and rule decided, did a reply
leave). Either side may be missing; its ``skipped`` says why.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from wsltui.facts.base import Unknown
from wsltui.records import LIVE_RECORD_PREFIX as RECORD_PREFIX
from wsltui.snapshot import Record, Snapshot

VERSION = 1

# What the client's connect() came to (``ClientOutcome.outcome``).
CONNECTED = "connected"
OUTCOME_REFUSED = "refused"
OUTCOME_TIMEOUT = "timeout"
HOST_UNREACHABLE = "host-unreachable"
NET_UNREACHABLE_OUTCOME = "net-unreachable"
DENIED = "denied"
ERROR = "error"  # the test itself failed (the detail says why); says nothing about the path
NOT_SENT = "not-sent"  # nothing was sent (the reason is in ``detail``)
OUTCOMES = (
    CONNECTED,
    OUTCOME_REFUSED,
    OUTCOME_TIMEOUT,
    HOST_UNREACHABLE,
    NET_UNREACHABLE_OUTCOME,
    DENIED,
    ERROR,
    NOT_SENT,
)

# After a connect succeeded (``ClientOutcome.after_connect``): bytes came back; the peer closed
# at once without data (a proxy whose own connect was refused); the peer closed only after a
# wait; the connection stayed open and silent until the client stopped waiting.
DATA, CLOSED_AT_ONCE, CLOSED_AFTER_WAIT, OPEN_SILENT = "data", "closed-at-once", "closed-after-wait", "open"


@dataclass(frozen=True)
class ClientOutcome:
    """What the client saw. ``code``: the Winsock error (Windows) or errno (Linux), when any."""

    sent_from: str  # "windows" | "wsl" | "netns:<name>"
    outcome: str  # one of OUTCOMES
    elapsed_ms: int | None = None
    after_connect: str | None = None  # DATA | CLOSED_AT_ONCE | CLOSED_AFTER_WAIT | OPEN_SILENT (connected only)
    code: int | None = None
    detail: str = ""
    src: str | None = None  # the client's own address:port as its socket saw it, when known
    dst: str | None = None  # the address:port it connected to


@dataclass(frozen=True)
class LinuxWatch:
    """What Linux saw while the connection was sent. ``rule`` is the deciding rule in the same
    form as a hop's ``location`` ("nft inet firewalld chain filter_IN_public, rule 9 (handle
    72)"), so it compares with ``first_blocker``; None when nothing decided or it is not known."""

    method: str  # "nft-trace" | "af-packet" | "none"
    reached_linux: bool | None = None
    reply: str | None = None  # "syn-ack" | "rst" | "icmp" | "data" | "none"; None = not watched
    verdict: str | None = None  # the kernel's verdict: accept | drop | reject
    chain: str | None = None  # the last chain that saw the packet ("nft inet firewalld filter_IN_public")
    rule: str | None = None
    lines: tuple[str, ...] = ()  # the raw trace or capture lines (bounded)
    skipped: str | None = None  # why Linux was not watched (not root, --read-only, no nft, ...)
    rule_unknown: str | None = None  # why ``rule`` is None although a verdict was seen (e.g. iptables-legacy)


@dataclass(frozen=True)
class Observation:
    scenario: str
    proto: str
    port: int
    started: str  # ISO 8601, UTC
    client: ClientOutcome
    linux: LinuxWatch
    src: str | None = None  # the flow as planned (custom scenario: --src / --dst / --in-iface)
    dst: str | None = None
    in_iface: str | None = None
    listener: str = "existing"  # "existing" | "temporary" | "none"
    skipped: tuple[str, ...] = ()  # what this test did not do, and why (e.g. --read-only: no trace table)

    @property
    def record_name(self) -> str:
        return record_name(self.proto, self.port, self.scenario)


def record_name(proto: str, port: int, scenario: str) -> str:
    return f"{RECORD_PREFIX}{proto}-{port}-{scenario}"


def observation_json(obs: Observation) -> str:
    d = asdict(obs)
    d["version"] = VERSION
    return json.dumps(d, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def to_record(obs: Observation, argv: tuple[str, ...], seconds: float) -> Record:
    """The snapshot record of one live test; ``argv`` is the client command as it ran (an encoded
    PowerShell script shown by name, not as base64)."""
    return Record(name=obs.record_name, argv=argv, stdout=observation_json(obs), seconds=seconds)


def parse_observation(text: str) -> Observation | Unknown:
    """An observation from its record text; ``Unknown`` with the reason when it is not one
    (a hand-edited or foreign snapshot): never a guess, never an exception."""
    try:
        d = json.loads(text)
        if not isinstance(d, dict) or d.get("version") != VERSION:
            return Unknown(f"not a version-{VERSION} live observation")
        client = _only(ClientOutcome, d["client"])
        linux_fields = _only(LinuxWatch, d["linux"])
        linux = LinuxWatch(**{**linux_fields, "lines": tuple(str(l) for l in linux_fields.get("lines") or ())})
        rest = _only(Observation, d)
        rest["skipped"] = tuple(str(s) for s in rest.get("skipped") or ())
        obs = Observation(**{**rest, "client": ClientOutcome(**client), "linux": linux})
    except (ValueError, KeyError, TypeError) as e:
        return Unknown(f"the live observation could not be read ({type(e).__name__}: {e})")
    problem = _problem(obs)
    return Unknown(problem) if problem else obs


def from_snapshot(snap: Snapshot) -> dict[str, Observation | Unknown]:
    """record name -> observation, for every ``live.*`` record in the snapshot."""
    out: dict[str, Observation | Unknown] = {}
    for name in sorted(snap.records):
        if name.startswith(RECORD_PREFIX):
            rec = snap.records[name]
            out[name] = Unknown(rec.error, rec.command) if rec.error else parse_observation(rec.stdout)
    return out


def _only(cls: type[Any], d: object) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise TypeError(f"{cls.__name__} is not an object")
    names = {f for f in cls.__dataclass_fields__}
    return {k: v for k, v in d.items() if k in names}


_PROTO = re.compile(r"^(tcp|udp)$")


def _problem(obs: Observation) -> str | None:
    """Types a hand-edited record could get wrong, checked before anyone reads them."""
    if not _PROTO.match(str(obs.proto)) or not isinstance(obs.port, int) or not 0 < obs.port < 65536:
        return "the live observation names no valid protocol and port"
    if obs.client.outcome not in OUTCOMES:
        return f"unknown client outcome {str(obs.client.outcome)[:40]!r}"
    for name, value in (("elapsed_ms", obs.client.elapsed_ms), ("code", obs.client.code)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return f"the client's {name} is not a number"
    if obs.linux.reached_linux not in (True, False, None):
        return "reached_linux is not true, false or null"
    strings = (obs.scenario, obs.started, obs.client.sent_from, obs.client.detail, obs.linux.method, obs.listener)
    optional = (
        obs.src,
        obs.dst,
        obs.in_iface,
        obs.client.after_connect,
        obs.client.src,
        obs.client.dst,
        obs.linux.reply,
        obs.linux.verdict,
        obs.linux.chain,
        obs.linux.rule,
        obs.linux.skipped,
    )
    if not all(isinstance(s, str) for s in strings) or not all(s is None or isinstance(s, str) for s in optional):
        return "the live observation has a field of the wrong type"
    return None
