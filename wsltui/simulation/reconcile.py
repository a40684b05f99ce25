"""A live observation read in the trace's words, and set beside the model's trace.

``reconcile(trace, obs)`` says whether the model and the real connection agree and, when they
do not, which kind of disagreement it is and what it means. It never claims more than was
observed: a side that was not watched stays ``None``, and a test that sent nothing (or failed)
is no evidence either way.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from wsltui.facts.base import Unknown
from wsltui.facts.live import (
    CLOSED_AFTER_WAIT,
    CLOSED_AT_ONCE,
    CONNECTED,
    DATA,
    DENIED,
    ERROR,
    HOST_UNREACHABLE,
    NET_UNREACHABLE_OUTCOME,
    NOT_SENT,
    OPEN_SILENT,
    OUTCOME_REFUSED,
    OUTCOME_TIMEOUT,
    ClientOutcome,
    Observation,
    from_snapshot,
    record_name,
)
from wsltui.simulation.trace import (
    CONNECTS,
    EMPTY_REPLY,
    HANGS_THEN_CLOSED,
    NET_UNREACHABLE,
    NO_ROUTE,
    PERMISSION_DENIED,
    REFUSED,
    TIMEOUT,
    WINDOWS,
    WRONG_PROGRAM,
    Hop,
    Trace,
)
from wsltui.snapshot import Snapshot
from wsltui.vocabulary import Verdict

if TYPE_CHECKING:  # (simulate is imported where it is used: it imports much of the simulation)
    from wsltui.simulation.simulate import Scenario, World

_SYMPTOM_OF_OUTCOME = {
    OUTCOME_REFUSED: REFUSED,
    OUTCOME_TIMEOUT: TIMEOUT,
    HOST_UNREACHABLE: NO_ROUTE,
    NET_UNREACHABLE_OUTCOME: NET_UNREACHABLE,
    DENIED: PERMISSION_DENIED,
}
_SYMPTOM_AFTER_CONNECT = {
    DATA: CONNECTS,
    OPEN_SILENT: CONNECTS,
    CLOSED_AT_ONCE: EMPTY_REPLY,
    CLOSED_AFTER_WAIT: HANGS_THEN_CLOSED,
}

# The disagreement classes (``Reconciliation.disagreement``; None: model and reality agree).
NEVER_REACHED_LINUX = "never-reached-linux"  # every hop before Linux allowed it, yet it never arrived
WINDOWS_HOP_DIFFERS = "windows-hop-differs"  # the model stops it before Linux, yet it arrived
DIFFERENT_RULE = "different-rule"  # it reached Linux and the kernel decided otherwise than the model
CLIENT_DIFFERS = "client-differs"  # the client saw another outcome than the model predicted
NO_EVIDENCE = "no-evidence"  # nothing was sent, or the test itself failed
DISAGREEMENTS = (NEVER_REACHED_LINUX, WINDOWS_HOP_DIFFERS, DIFFERENT_RULE, CLIENT_DIFFERS, NO_EVIDENCE)

# Layers on the Linux side of the path; every other layer is on the Windows (client's) side.
LINUX_LAYERS = frozenset({"netfilter", "socket"})
_UNSETTLED = frozenset({"assumed", "unknown"})
_KERNEL_VERDICT = {"accept": "allow", "drop": "drop", "reject": "reject"}
# What a watch on the client's side of a drop cannot see, by the client's OS.
UNSEEN_WINDOWS = (
    "a VPN client (or its split-tunnel / kill-switch rules), a third-party firewall or an endpoint "
    "security agent: their filters live in the Windows Filtering Platform, which `netsh wfp show "
    "state` lists (run it in an elevated prompt; it writes wfpstate.xml)"
)
UNSEEN_OTHER = "a filter on the client's own host or network namespace, or a router between it and Linux"
TICKET = (
    "a model bug: attach the snapshot with this live record (`wsltui report -o ticket.md`, or the app's `w`) "
    "to a wsltui issue"
)


def observed_symptom(client: ClientOutcome) -> str | None:
    """What the client saw, in the trace's symptom vocabulary; None when the test said nothing
    about the path (it failed, or nothing was sent)."""
    if client.outcome == CONNECTED:
        return _SYMPTOM_AFTER_CONNECT.get(client.after_connect or OPEN_SILENT)
    return _SYMPTOM_OF_OUTCOME.get(client.outcome)


@dataclass(frozen=True)
class Settled:
    """A hop the model left ``assumed``/``unknown`` (or got wrong) that the observation decides."""

    index: int  # 1-based, as the trace prints its hops
    layer: str
    model: str  # the model's verdict
    observed: str  # "allowed", or the kernel's verdict ("drop", "reject")
    because: str  # what was seen that decides it

    @property
    def label(self) -> str:
        return f"observed: {self.observed}"

    def to_json(self) -> dict:
        return {
            "hop": self.index,
            "layer": self.layer,
            "model": self.model,
            "observed": self.observed,
            "because": self.because,
        }


@dataclass(frozen=True)
class Reconciliation:
    trace: Trace
    obs: Observation
    symptom: str | None  # what the client saw (trace vocabulary); None: no evidence
    reachable: bool | None  # did the client reach the service; None: no evidence
    reached_linux: bool | None  # None: Linux was not watched (or nothing was sent)
    deciding_rule: dict | None  # the rule the kernel used, in first_blocker's form
    agrees: bool | None  # None: nothing was observed to agree or disagree with
    disagreement: str | None  # one of DISAGREEMENTS; None when they agree
    meaning: str  # one or two sentences a person reads
    model_symptom: str | None  # what the model predicted for this very test
    settled: tuple[Settled, ...] = field(default=())

    def settled_hop(self, index: int) -> Settled | None:
        return next((s for s in self.settled if s.index == index), None)

    def to_json(self) -> dict:
        """The ``observed`` object of ``check --live --json`` (README: "The observed object")."""
        c, linux = self.obs.client, self.obs.linux
        return {
            "symptom": self.symptom,
            "reachable": self.reachable,
            "reached_linux": self.reached_linux,
            "deciding_rule": self.deciding_rule,
            "agrees": self.agrees,
            "elapsed_ms": c.elapsed_ms,
            "disagreement": self.disagreement,
            "meaning": self.meaning,
            "model_symptom": self.model_symptom,
            "settled": [s.to_json() for s in self.settled],
            "sent_from": c.sent_from,
            "method": linux.method,
            "started": self.obs.started,
            "outcome": c.outcome,
            "code": c.code,
            "after_connect": c.after_connect,
            "detail": c.detail,
            "reply": linux.reply,
            "listener": self.obs.listener,
            "skipped": [*self.obs.skipped, *([f"Linux watch: {linux.skipped}"] if linux.skipped else [])],
        }


def reconcile(trace: Trace, obs: Observation) -> Reconciliation:
    """The model's ``trace`` beside what ``obs`` saw of the same flow."""
    symptom = observed_symptom(obs.client)
    expected, blocker = _expected(trace, obs)
    rule = deciding_rule(trace, obs)
    if symptom is None or obs.client.outcome in (ERROR, NOT_SENT):
        why = obs.client.detail or obs.client.outcome
        return Reconciliation(
            trace,
            obs,
            None,
            None,
            None,
            rule,
            None,
            NO_EVIDENCE,
            f"Nothing was observed ({why}): this test says nothing about the path either way.",
            expected,
        )
    reachable = symptom == CONNECTS
    reached = obs.linux.reached_linux
    settled = _settled(trace, obs, symptom)
    judged = _linux_side(trace, obs, blocker) or _client_side(trace, obs, symptom, expected, blocker)
    if judged is None:
        kind, meaning = None, "Model and reality agree" + _settled_words(settled) + "."
    else:
        kind, meaning = judged
    return Reconciliation(
        trace, obs, symptom, reachable, reached, rule, kind is None, kind, meaning, expected, tuple(settled)
    )


def deciding_rule(trace: Trace, obs: Observation) -> dict | None:
    """The rule the kernel used as the trace's JSON shows a hop (the model's own hop when it names
    the same place; else the kernel's rule alone, in the same form); None when none was seen."""
    where = obs.linux.rule
    if not where:
        return None
    doc = trace.to_json()
    for hop in (*doc["blockers"], *doc["hops"]):
        if hop.get("location") == where:
            return hop
    # (a verdict the model has no word for, from a hand-edited snapshot: unknown)
    verdict = Verdict(_KERNEL_VERDICT.get(obs.linux.verdict or "", "unknown"))
    alone = Hop(
        "netfilter",
        verdict,
        f"the kernel's trace names this rule ({obs.linux.chain or 'chain not named'}); "
        "the model's trace does not reach it",
        location=where,
    )
    return trace.hop_json(alone)


# --- what the model predicts for this test ---------------------------------------------------------


def _expected(trace: Trace, obs: Observation) -> tuple[str | None, Hop | None]:
    """(symptom, blocking hop) the model predicts. A temporary listener stands in for the user's
    service, so a missing listener in the socket hop is not part of this test's prediction."""
    blockers = [b for b in trace.blockers if not (obs.listener == "temporary" and b.layer == "socket")]
    if blockers:
        return blockers[0].symptom, blockers[0]
    if trace.reachable is None and not _stands_in(trace, obs):
        return None, None
    return CONNECTS, None


def _stands_in(trace: Trace, obs: Observation) -> bool:
    """Is the only thing the model could not decide the socket the temporary listener replaces?"""
    undecided = [
        h for h in trace.hops if h.verdict == "unknown" or (h.layer == "path" and h.verdict == "not-applicable")
    ]
    return obs.listener == "temporary" and bool(undecided) and all(h.layer == "socket" for h in undecided)


def _before_linux(trace: Trace) -> list[tuple[int, Hop]]:
    """(1-based index, hop) of the hops a packet crosses before it reaches Linux."""
    out = []
    for i, h in enumerate(trace.hops, 1):
        if h.layer in LINUX_LAYERS:
            break
        out.append((i, h))
    return out


def _netfilter(trace: Trace) -> tuple[int, Hop] | None:
    return next(((i, h) for i, h in enumerate(trace.hops, 1) if h.layer == "netfilter"), None)


def _compatible(symptom: str, expected: str, blocker: Hop | None, client: ClientOutcome) -> bool:
    """Does what the client saw fit the prediction? A connection that stayed open and silent fits a
    relay that would close it later (the client stopped waiting first); a client cannot tell the
    program it meant from another that answers."""
    if symptom == expected or (blocker is not None and symptom in blocker.alternatives):
        return True
    if symptom == CONNECTS and expected == WRONG_PROGRAM:
        return True
    return symptom == CONNECTS and client.after_connect == OPEN_SILENT and expected == HANGS_THEN_CLOSED


# --- the classes -------------------------------------------------------------------------------------


def _linux_side(trace: Trace, obs: Observation, blocker: Hop | None) -> tuple[str, str] | None:
    """A disagreement the Linux watch shows, or None (agrees, or Linux was not watched)."""
    reached = obs.linux.reached_linux
    before = _before_linux(trace)
    stopped_before = next((h for _, h in before if h.blocks), None)
    if reached is False:
        if stopped_before is not None or blocker is not None and blocker.layer not in LINUX_LAYERS:
            return None  # the model stops it before Linux too
        unsure = [h.layer for _, h in before if h.verdict in _UNSETTLED]
        unseen = UNSEEN_WINDOWS if trace.client == WINDOWS else UNSEEN_OTHER
        if unsure:
            return NEVER_REACHED_LINUX, (
                f"The packet never reached Linux. The model could not decide {_and(unsure)}, so that layer may have "
                f"stopped it; otherwise something wsltui cannot see stopped it on the client's side: {unseen}."
            )
        return NEVER_REACHED_LINUX, (
            "The packet never reached Linux although every layer before Linux was predicted to let it through: "
            f"something wsltui cannot see stopped it on the client's side. Check {unseen}."
        )
    if reached is True and stopped_before is not None:
        return WINDOWS_HOP_DIFFERS, (
            f"The model says {stopped_before.layer} stops it before Linux, but it reached Linux: the Windows side "
            f"may have changed since the snapshot (refresh it), or the model is wrong: {TICKET}."
        )
    # A verdict without "reached": a connection Linux sends (wsl-to-windows) passes its chains too.
    return _kernel_differs(trace, obs) if reached is True or obs.linux.verdict else None


def _kernel_differs(trace: Trace, obs: Observation) -> tuple[str, str] | None:
    found = _netfilter(trace)
    verdict = _KERNEL_VERDICT.get(obs.linux.verdict or "")
    if found is None or verdict is None:
        return None  # no netfilter hop to compare with, or the watch saw no verdict (a capture)
    _, hop = found
    if hop.verdict in _UNSETTLED:
        return None  # the observation settles it (``_settled``)
    model = "allow" if hop.verdict not in ("drop", "reject") else hop.verdict
    same_rule = not (obs.linux.rule and hop.location) or obs.linux.rule == hop.location
    if model == verdict and (model == "allow" or same_rule):
        return None
    linux = obs.linux
    kernel = (linux.verdict or "") + (
        f" by {linux.rule}" if linux.rule else f" in {linux.chain} (the rule is not known)" if linux.chain else ""
    )
    predicted = hop.verdict + (f" by {hop.location}" if hop.location and model != "allow" else "")
    return DIFFERENT_RULE, (
        f"It reached Linux and the kernel decided otherwise than the model: {kernel}, where the "
        f"model predicted {predicted}. This is {TICKET}."
    )


def _client_side(
    trace: Trace, obs: Observation, symptom: str, expected: str | None, blocker: Hop | None
) -> tuple[str, str] | None:
    if expected is None or _compatible(symptom, expected, blocker, obs.client):
        return None
    reached = obs.linux.reached_linux
    where = (
        "Linux's verdict agrees with the model, so the difference is past Linux"
        if reached is None and obs.linux.verdict
        else {
            True: "Linux saw the packet and agrees with the model, so the difference is on the client's side",
            False: "the packet never reached Linux",
            None: "Linux was not watched, so where it stopped is not known",
        }[reached]
    )
    why = ""
    if symptom in (EMPTY_REPLY, HANGS_THEN_CLOSED):
        why = (
            " A proxy in front (WSL's localhost relay, or portproxy) accepted the connection and then could not "
            "connect on."
        )
    elif expected in (EMPTY_REPLY, HANGS_THEN_CLOSED):
        why = (
            f" The model expected a proxy in front (WSL's localhost relay, or portproxy) to accept first; the "
            f"client saw '{symptom}' instead, so no such proxy answered the way the model expects."
        )
    return CLIENT_DIFFERS, f"The model predicted '{expected}', the client saw '{symptom}'; {where}.{why}"


# --- settled hops -----------------------------------------------------------------------------------


def _settled(trace: Trace, obs: Observation, symptom: str) -> list[Settled]:
    """Hops the model left assumed/unknown (or stopped wrongly before Linux) that this test decides."""
    linux = obs.linux
    through = symptom == CONNECTS and obs.client.after_connect == DATA  # data came back end to end
    out: list[Settled] = []
    if linux.reached_linux is True or through:
        because = "the packet reached Linux" if linux.reached_linux else "data came back end to end"
        out += [
            Settled(i, h.layer, h.verdict, "allowed", because)
            for i, h in _before_linux(trace)
            if h.verdict in _UNSETTLED or h.blocks
        ]
    found = _netfilter(trace)
    if found is not None and found[1].verdict in _UNSETTLED:
        i, hop = found
        verdict = _KERNEL_VERDICT.get(linux.verdict or "")
        if verdict is not None:
            out.append(
                Settled(
                    i,
                    hop.layer,
                    hop.verdict,
                    "allowed" if verdict == "allow" else verdict,
                    "the kernel's trace" + (f": {linux.rule}" if linux.rule else ""),
                )
            )
        elif linux.reply == "syn-ack" or through:
            out.append(
                Settled(
                    i,
                    hop.layer,
                    hop.verdict,
                    "allowed",
                    "a SYN-ACK left Linux" if linux.reply == "syn-ack" else "data came back end to end",
                )
            )
    socket = next(((i, h) for i, h in enumerate(trace.hops, 1) if h.layer == "socket"), None)
    if socket is not None and socket[1].verdict in _UNSETTLED and (linux.reply == "syn-ack" or through):
        out.append(Settled(socket[0], "socket", socket[1].verdict, "allowed", "a listener answered"))
    return out


def _settled_words(settled: list[Settled]) -> str:
    if not settled:
        return ""
    return "; the test settles " + ", ".join(f"{s.layer} ({s.model} → {s.label})" for s in settled)


def _and(words: list[str]) -> str:
    words = list(dict.fromkeys(words))
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


# --- observations stored in a snapshot ---------------------------------------------------------------

# An observation this much older than the snapshot's other records is said to be older: the
# machine may have changed between the test and the capture.
STALE_SECONDS = 60


@dataclass(frozen=True)
class StoredTest:
    """One ``live.*`` record of a snapshot, read back beside the trace of the same flow."""

    name: str  # the record's name (live.<proto>-<port>-<scenario>)
    trace: Trace | None  # None when the record could not be read
    result: Reconciliation | Unknown
    older: str | None = None  # "observed 3 h 5 min before the snapshot was taken", when it is

    @property
    def flow(self) -> tuple[str, int, str] | None:
        return (self.trace.proto, self.trace.port, self.trace.scenario) if self.trace is not None else None


def stored_tests(
    snap: Snapshot, world: World, traces: dict[tuple[str, int, str], Trace] | None = None
) -> list[StoredTest]:
    """Every live test stored in ``snap`` (one per flow: a newer test replaced the older record),
    reconciled with its trace — taken from ``traces`` (proto, port, scenario) when the caller has
    it, else simulated in ``world``. A broken record is an ``Unknown`` with why, never an exception."""
    from wsltui.simulation.simulate import simulate

    out = []
    for name, obs in from_snapshot(snap).items():
        if isinstance(obs, Unknown):
            out.append(StoredTest(name, None, obs))
            continue
        scenario = _scenario_of(obs)
        if isinstance(scenario, Unknown):
            out.append(StoredTest(name, None, scenario))
            continue
        trace = (traces or {}).get((obs.proto, obs.port, obs.scenario)) if obs.scenario != "custom" else None
        try:
            trace = trace or simulate(world, scenario)
        except Exception as e:  # a simulator bug must not lose the report that shows it
            out.append(StoredTest(name, None, Unknown(f"simulate {obs.scenario}: {type(e).__name__}: {e}")))
            continue
        out.append(StoredTest(name, trace, reconcile(trace, obs), _older(obs.started, snap.meta.get("taken"))))
    return out


def _scenario_of(obs: Observation) -> Scenario | Unknown:
    from wsltui.simulation.simulate import SCENARIOS, Scenario

    if obs.scenario not in SCENARIOS:
        return Unknown(f"the live record names no known scenario ({str(obs.scenario)[:40]!r})")
    try:
        src, dst = (ipaddress.ip_address(a) if a else None for a in (obs.src, obs.dst))
    except ValueError as e:
        return Unknown(f"the live record's flow could not be read ({e})")
    if obs.in_iface is not None and not isinstance(obs.in_iface, str):
        return Unknown("the live record's interface is not a name")
    return Scenario(obs.scenario, obs.port, obs.proto, src, dst, obs.in_iface)


def _older(started: str, taken: object) -> str | None:
    try:
        age = (_when(taken) - _when(started)).total_seconds()
    except (TypeError, ValueError):
        return None  # a snapshot without its time (a demo): nothing to compare
    if age <= STALE_SECONDS:
        return None
    hours, rest = divmod(int(age) // 60, 60)
    return f"observed {f'{hours} h ' if hours else ''}{rest} min before the snapshot was taken: the machine may have changed since"


def _when(text: object) -> datetime:
    when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def stored_test_for(snap: Snapshot, world: World, scenario: Scenario, trace: Trace) -> StoredTest | None:
    """The live test ``snap`` holds of exactly this flow (``check --from``), or None."""
    name = record_name(scenario.proto, scenario.port, scenario.name)
    if name not in snap.records:
        return None
    test = next(
        t for t in stored_tests(snap, world, {(trace.proto, trace.port, trace.scenario): trace}) if t.name == name
    )
    if isinstance(test.result, Reconciliation) and scenario.name == "custom":
        obs = test.result.obs
        planned = tuple(str(x) if x is not None else None for x in (scenario.src, scenario.dst, scenario.in_iface))
        if (obs.src, obs.dst, obs.in_iface) != planned:
            return None  # a test of another custom flow on the same port
    return test


def observed_json(test: StoredTest) -> dict:
    """The ``observed`` object of a stored test; for an unreadable record the same keys, null,
    with ``unknown`` saying why."""
    if isinstance(test.result, Reconciliation):
        doc = test.result.to_json()
        return {**doc, "record": test.name, "older": test.older}
    return {
        "symptom": None,
        "reachable": None,
        "reached_linux": None,
        "deciding_rule": None,
        "agrees": None,
        "elapsed_ms": None,
        "disagreement": NO_EVIDENCE,
        "meaning": f"The live record could not be read: {test.result.reason}",
        "settled": [],
        "record": test.name,
        "unknown": test.result.reason,
    }
