"""What the simulator answers: hops in order, the blockers, the symptom, the fixes."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, fields

from wsltui.quoting import has_controls
from wsltui.vocabulary import BLOCKING, Verdict

# Layer ids (documented in the README).
LAYERS = (
    "windows-firewall",
    "hyperv-firewall",
    "excluded-ports",
    "windows-listener",
    "localhost-relay",
    "portproxy",
    "netfilter",
    "socket",
    "path",
)

# What the client sees (``Hop.symptom``, ``Trace.symptom``): the README's symptom vocabulary.
# docs/design.md §4 names the first three; the next three are the other errors connect() reports for an
# ICMP reject (``reject_symptom``); the last two are the outcomes where connect() succeeds.
TIMEOUT = "timeout"  # a drop: nothing comes back
REFUSED = "refused"  # a TCP reset or ICMP port unreachable: nothing listens there
NO_ROUTE = "no route to host"  # ICMP host/admin prohibited (firewalld's default reject)
NET_UNREACHABLE = "network unreachable"
PERMISSION_DENIED = "permission denied"  # ICMPv6 admin prohibited
PROTOCOL_UNAVAILABLE = "protocol not available"  # ICMP protocol unreachable
CONNECTS = "connects"  # the service the user meant gets the connection
WRONG_PROGRAM = "wrong program"  # connect() succeeds, but another program than the one meant answers
# A proxy in front (WSL's localhost relay, maybe portproxy) accepts the client's connection first and
# only then connects on: when that second connection fails, the client's connect has succeeded.
EMPTY_REPLY = "empty reply"  # accepted, then closed without data (the proxy's connect was refused)
HANGS_THEN_CLOSED = "hangs, then closed"  # accepted, then nothing until the proxy's connect gives up
SYMPTOMS = (
    TIMEOUT,
    REFUSED,
    NO_ROUTE,
    NET_UNREACHABLE,
    PERMISSION_DENIED,
    PROTOCOL_UNAVAILABLE,
    CONNECTS,
    WRONG_PROGRAM,
    EMPTY_REPLY,
    HANGS_THEN_CLOSED,
)

# Who connects, per scenario: the words a client prints depend on its OS.
WINDOWS, LINUX, ANY_OS = "windows", "linux", "unknown"
CLIENT_OF = {
    "windows-localhost-v4": WINDOWS,
    "windows-localhost-v6": WINDOWS,
    "windows-to-wsl-ip": WINDOWS,
    "windows-to-host-ip": WINDOWS,
    "wsl-to-windows": LINUX,
    "lan-to-host": ANY_OS,
    "lan-to-wsl-ip": ANY_OS,
    "custom": ANY_OS,
}

# (symptom, client OS) -> what the client prints, by program. Winsock codes: WinError.h; the
# Windows connect gives up after about 21 s (2 SYN retransmissions, nmap/nmap#2113) and retries
# the SYN after a reset before it reports "refused" (KB175523); Linux gives up after ~127 s at
# the default tcp_syn_retries=6. curl's wording differs a little between versions.
_CURL_CONNECT = "(7) Failed to connect to <host> port <port>"
_EMPTY = {
    "curl": "(52) Empty reply from server, or (56) Recv failure: Connection was reset",
    "chromium": "ERR_EMPTY_RESPONSE or ERR_CONNECTION_RESET",
}
CLIENT_WORDS: dict[tuple[str, str], dict[str, str]] = {
    (REFUSED, WINDOWS): {
        "winsock": "WSAECONNREFUSED (10061), after about 2 s: Windows retries the SYN after a reset",
        "curl": f"{_CURL_CONNECT} after about 2000 ms: Couldn't connect to server",
        "chromium": "ERR_CONNECTION_REFUSED",
    },
    (TIMEOUT, WINDOWS): {
        "winsock": "WSAETIMEDOUT (10060), after about 21 s",
        "curl": f"{_CURL_CONNECT} after about 21000 ms: Couldn't connect to server (Timed out)",
        "chromium": "ERR_CONNECTION_TIMED_OUT",
    },
    (NO_ROUTE, WINDOWS): {
        "winsock": "WSAEHOSTUNREACH (10065)",
        "curl": f"{_CURL_CONNECT}: Couldn't connect to server",
        "chromium": "ERR_ADDRESS_UNREACHABLE",
    },
    (NET_UNREACHABLE, WINDOWS): {
        "winsock": "WSAENETUNREACH (10051)",
        "curl": f"{_CURL_CONNECT}: Couldn't connect to server",
        "chromium": "ERR_ADDRESS_UNREACHABLE",
    },
    (EMPTY_REPLY, WINDOWS): {
        "winsock": "connect() succeeds; recv() returns 0 (closed) or WSAECONNRESET (10054)",
        **_EMPTY,
    },
    (HANGS_THEN_CLOSED, WINDOWS): {
        "winsock": "connect() succeeds; recv() waits until the proxy gives up, then returns 0 (closed)",
        "curl": "waits, then (52) Empty reply from server",
        "chromium": "the page keeps loading, then ERR_EMPTY_RESPONSE",
    },
    (REFUSED, LINUX): {
        "errno": "ECONNREFUSED (Connection refused), at once",
        "curl": f"{_CURL_CONNECT}: Connection refused",
    },
    (TIMEOUT, LINUX): {
        "errno": "ETIMEDOUT (Connection timed out), after about 127 s at tcp_syn_retries=6",
        "curl": f"{_CURL_CONNECT}: Connection timed out",
    },
    (NO_ROUTE, LINUX): {"errno": "EHOSTUNREACH (No route to host)", "curl": f"{_CURL_CONNECT}: No route to host"},
    (NET_UNREACHABLE, LINUX): {
        "errno": "ENETUNREACH (Network is unreachable)",
        "curl": f"{_CURL_CONNECT}: Network is unreachable",
    },
    (PERMISSION_DENIED, LINUX): {"errno": "EACCES (Permission denied)", "curl": f"{_CURL_CONNECT}: Permission denied"},
    (PROTOCOL_UNAVAILABLE, LINUX): {
        "errno": "ENOPROTOOPT (Protocol not available)",
        "curl": f"{_CURL_CONNECT}: Protocol not available",
    },
    (EMPTY_REPLY, LINUX): {
        "errno": "connect() succeeds; recv() returns 0 (closed) or ECONNRESET",
        "curl": "(52) Empty reply from server, or (56) Recv failure: Connection reset by peer",
    },
    (HANGS_THEN_CLOSED, LINUX): {
        "errno": "connect() succeeds; recv() waits until the proxy gives up, then returns 0 (closed)",
        "curl": "waits, then (52) Empty reply from server",
    },
}


PROGRAMS = {"winsock": "Winsock", "errno": "connect()", "curl": "curl", "chromium": "Chrome/Edge"}
CLIENT_NAMES = {WINDOWS: "a Windows client", LINUX: "a Linux client"}


def client_lines(symptom: str | None, client: str) -> list[str]:
    """``client_words`` as lines a person reads: "Winsock: WSAECONNREFUSED (10061) ..."."""
    return [f"{PROGRAMS.get(k, k)}: {v}" for k, v in client_words(symptom, client).items()]


def client_words(symptom: str | None, client: str) -> dict[str, str]:
    """What a ``client`` (windows | linux | unknown) prints for ``symptom``: {program: words};
    {} when the OS is unknown or the table has no row (the portable word is then all there is)."""
    return dict(CLIENT_WORDS.get((symptom or "", client), {}))


# An undo argument that is only known after applying: the rule handle that ``nft --echo
# --handle`` printed for apply step N (0-based). wsltui's actions fill it in from the journal.
_HANDLE = re.compile(r"^<handle:(\d+)>$")


def handle_of(step: int) -> str:
    return f"<handle:{step}>"


def display(argv: list[str]) -> str:
    """How a command reads (shell-quoted), with placeholders in words a person understands."""
    return " ".join("<the handle printed by the command>" if _HANDLE.match(a) else shlex.quote(a) for a in argv)


def placeholder_step(arg: str) -> int | None:
    m = _HANDLE.match(arg)
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class WinAction:
    """A Windows fix as data: what to change and its parameters. The PowerShell a person reads
    and the elevated script wsltui runs are both built from it (wsltui.simulation.win_commands),
    so what runs is what was shown. ``kind``: disable-rule | enable-rule (``rule_id``, ``hyperv``),
    new-allow (``port``, ``proto``, ``direction``, ``profile``, ``interface``), new-hv-allow
    (``port``, ``proto``, ``direction``), profile-inbound-rules (``profile``), hv-loopback,
    stop-process | find-service (``pid``)."""

    kind: str
    rule_id: str | None = None
    hyperv: bool = False
    port: int | None = None
    proto: str | None = None
    direction: str = "in"
    profile: str | None = None
    interface: str | None = None
    pid: int | None = None

    def to_json(self) -> dict:
        # (its fields are plain values: no need for asdict's deep copy, which reports pay per fix)
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}


@dataclass
class Fix:
    title: str  # one line a person reads: "Open tcp/8080 in firewalld zone public"
    commands: list[str] = field(default_factory=list)  # exact commands, in order (display strings)
    undo: list[str] = field(default_factory=list)
    front_end: str = ""  # firewalld | ufw | iptables-nft | iptables-legacy | nft | socket | windows | wsl
    needs_root: bool = True
    note: str = ""  # runtime vs persistent, and anything else worth knowing
    # The same commands as argv lists, for wsltui to run (display strings are derived from them).
    # Empty when the fix needs a human (``manual`` says why).
    argv: list[list[str]] = field(default_factory=list)
    undo_argv: list[list[str]] = field(default_factory=list)
    persistent: bool = False  # survives a reboot / a reload of the front end
    manual: str = ""  # why wsltui cannot apply this fix by itself
    windows: WinAction | None = None  # a Windows fix: the action its commands were built from

    def __post_init__(self) -> None:
        if self.argv and not self.commands:
            self.commands = [display(a) for a in self.argv]
        if self.undo_argv and not self.undo:
            self.undo = [display(a) for a in self.undo_argv]
        if any(
            has_controls(w)
            for w in (*self.commands, *self.undo, *(a for c in (*self.argv, *self.undo_argv) for a in c))
        ):
            # A newline or an escape sequence in a value: no quoting makes a pasted command safe.
            self.commands, self.undo, self.argv, self.undo_argv, self.windows = [], [], [], [], None
            self.manual = (
                "a name in this fix holds control characters, which no quoting makes safe to paste "
                "or run: make the change by hand"
            )

    @property
    def automatic(self) -> bool:
        """Can wsltui apply and undo this fix exactly, without a person filling something in?"""
        return bool(self.argv) and bool(self.undo_argv) and not self.manual

    def to_json(self) -> dict:
        return {
            "title": self.title,
            "commands": self.commands,
            "undo": self.undo,
            "front_end": self.front_end,
            "needs_root": self.needs_root,
            "note": self.note,
            "argv": self.argv,
            "undo_argv": self.undo_argv,
            "persistent": self.persistent,
            "automatic": self.automatic,
            "manual": self.manual,
            "windows": self.windows.to_json() if self.windows else None,
        }


@dataclass(frozen=True)
class RuleKey:
    """The rule or setting that decided a hop, named the way the facts list it, so that a view of
    the rules finds its row by equality (never by matching display text).

    ``firewall``: ``netfilter`` (``source`` iptables-nft | iptables-legacy | nft, ``family``,
    ``table``, ``chain``, ``position``: the rule's 1-based place in its chain, None for the
    chain's policy; ``owner`` the front end that owns the chain, ``zone``/``part`` when it is
    firewalld), ``windows`` or ``hyperv``
    (``rule_id``, or None for a profile or VM setting: ``profile`` and ``setting`` name it).
    ``verdict`` is what it did to the packet: accept | drop | reject | unknown."""

    firewall: str
    verdict: str
    source: str = ""
    family: str = ""
    table: str = ""
    chain: str = ""
    position: int | None = None
    rule_id: str | None = None
    profile: str | None = None
    setting: str | None = None
    zone: str | None = None
    part: str | None = None
    owner: str = ""  # netfilter: the front end that owns the chain (attribution.Attribution.owner)

    @property
    def blocks(self) -> bool:
        return self.verdict in ("drop", "reject")


@dataclass
class Hop:
    layer: str
    verdict: Verdict  # a plain id ("drop") is taken too, and becomes the member
    explanation: str  # one plain sentence
    packet: str = ""  # the packet as this layer sees it (after NAT)
    rule: str | None = None  # the deciding rule, verbatim
    location: str | None = None  # table/chain/position, zone, rule name
    owner: str | None = None  # the front end that owns the rule: firewalld, ufw, docker, wsl, iptables, nft
    edit: str | None = None  # the object a person edits ("firewalld zone public", "ufw rule 3")
    assumption: str | None = None  # for verdict "assumed"
    reason: str | None = None  # for "unknown": why, and the command that would tell
    symptom: str | None = None  # what the user sees if this hop stops the packet
    fixes: list[Fix] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)  # e.g. each netfilter base chain passed
    behind: list[Hop] = field(default_factory=list)  # blockers in this layer that would stop it next
    # Other symptoms the kernel may produce instead (same-priority chains of unknown order).
    alternatives: list[str] = field(default_factory=list)
    # Traced past a missing piece (no portproxy entry, a relay that cannot bind) as if an earlier
    # blocker's fix were in place: that fix's title. Not the current state: the hop says what comes
    # next once that fix (and the blockers before it) are done, so the list of blockers is whole.
    assumes_fix: str | None = None
    # The rules or settings that decided: the blocker, or every rule that let it through.
    decided_by: tuple[RuleKey, ...] = ()

    def __post_init__(self) -> None:
        self.verdict = Verdict(self.verdict)

    @property
    def blocks(self) -> bool:
        return self.verdict in BLOCKING


@dataclass
class Trace:
    scenario: str
    mode: str  # effective networking mode used for the path
    proto: str
    port: int
    hops: list[Hop] = field(default_factory=list)
    blockers: list[Hop] = field(default_factory=list)  # every blocker, first first (may include what-ifs)
    notes: list[str] = field(default_factory=list)
    client: str = ANY_OS  # who connects: windows | linux | unknown (CLIENT_OF), for the client's words
    # Causes outside the five layers with a signal in the facts (a VPN adapter, a known WSL
    # regression ...): said beside the verdict, never a blocker.
    caveats: list[str] = field(default_factory=list)

    @property
    def first_blocker(self) -> Hop | None:
        return self.blockers[0] if self.blockers else None

    def fix_number(self, hop: Hop) -> int | None:
        """For a hop traced under an assumed fix: the 1-based number of the blocker that fix belongs to."""
        if hop.assumes_fix is None:
            return None
        return next(
            (i for i, b in enumerate(self.blockers, 1) if any(f.title == hop.assumes_fix for f in b.fixes)), None
        )

    @property
    def reachable(self) -> bool | None:
        if self.blockers:
            return False
        if any(
            h.verdict == Verdict.UNKNOWN or (h.layer == "path" and h.verdict == Verdict.NOT_APPLICABLE)
            for h in self.hops
        ):
            return None  # undecided, or the scenario does not apply (WSL1, mirrored has no WSL IP …)
        return True

    @property
    def symptom(self) -> str | None:
        first = self.first_blocker
        if first is not None:
            return first.symptom
        return None if self.reachable is None else CONNECTS

    def hop_json(self, h: Hop) -> dict:
        """One hop as ``check --json`` shows it (``first_blocker``, each of ``blockers`` and ``hops``)."""
        return {
            "layer": h.layer,
            "verdict": h.verdict.value,  # the id as a plain str: the JSON writer's fast path
            "rule": h.rule,
            "location": h.location,
            "owner": h.owner,
            "edit": h.edit,
            "explanation": h.explanation,
            "packet": h.packet,
            "assumption": h.assumption,
            "reason": h.reason,
            "symptom": h.symptom,
            "symptom_alternatives": h.alternatives,
            "steps": h.steps,
            "fixes": [f.to_json() for f in h.fixes],
            "assumes_fix": h.assumes_fix,
            "client_sees": self.client_sees(h.symptom, h.alternatives) if h.symptom else None,
        }

    def to_json(self) -> dict:
        hop = self.hop_json
        first = self.first_blocker
        return {
            "scenario": self.scenario,
            "mode": self.mode,
            "proto": self.proto,
            "port": self.port,
            "reachable": self.reachable,
            "symptom": self.symptom,
            "first_blocker": hop(first) if first else None,
            "blockers": [hop(b) for b in self.blockers],
            "hops": [hop(h) for h in self.hops],
            "notes": self.notes,
            "client_sees": self.client_sees(self.symptom, first.alternatives if first else [])
            if self.symptom
            else None,
            "caveats": self.caveats,
        }

    def client_sees(self, symptom: str, alternatives: list[str]) -> dict:
        """The symptom in the words this trace's client prints (``words`` empty: only the portable word)."""
        return {
            "client": self.client,
            "symptom": symptom,
            "words": client_words(symptom, self.client),
            "alternatives": [{"symptom": a, "words": client_words(a, self.client)} for a in alternatives],
        }


def reject_symptom(reject_with: str | None, family: int) -> str:
    """What connect()/recv() reports for a reject, as the kernel maps ICMP errors to errno
    (net/ipv4/icmp.c icmp_err_convert, net/ipv6/icmp.c tab_unreach)."""
    r = (reject_with or "").lower()
    if "tcp-reset" in r or "tcp reset" in r or "port-unreach" in r or "port-unreachable" in r:
        return REFUSED
    if family == 6 or "icmp6" in r or "icmpv6" in r:
        if "adm" in r or "admin" in r or "policy" in r or "reject-route" in r:
            return PERMISSION_DENIED
        if "no-route" in r or "noroute" in r or "net" in r:
            return NET_UNREACHABLE
        return NO_ROUTE
    if "net-unreach" in r or "net-prohib" in r or "no-route" in r:
        return NET_UNREACHABLE
    if "proto-unreach" in r:
        return PROTOCOL_UNAVAILABLE
    return NO_ROUTE  # host-unreachable, host-prohibited, admin-prohibited
