"""What the app and the reports show, computed off the UI thread: a snapshot's facts, the compiled world, and a
trace per listener and scenario. Pure: no Textual, no I/O. Every value here comes from the core
(``build_facts``, ``simulate``); this module only decides *which* questions to ask it.

An ``Analysis`` is never mutated after it is built: worker threads hand it to the UI in a
message, and the UI only reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wsltui.facts import Facts, build_facts
from wsltui.facts.base import Unknown
from wsltui.simulation.simulate import Scenario, World, simulate
from wsltui.simulation.trace import Trace
from wsltui.snapshot import Snapshot

from wsltui.views.scenarios import STATUS_SCENARIOS


@dataclass(frozen=True)
class Target:
    """A port somebody wants to reach: a listener, or a port nobody listens on (``--port``)."""

    proto: str
    port: int
    address: str = ""  # the listener's bind address ("" when nobody listens)
    process: str = ""
    bind: str = ""  # wildcard | loopback | specific
    family: str = ""  # ipv4 | ipv6
    dual_stack: bool = False

    @property
    def key(self) -> str:
        return f"{self.proto}/{self.address or '-'}/{self.port}"

    @property
    def endpoint(self) -> str:
        if not self.address:
            return f"{self.proto} *:{self.port} (nobody listens)"
        addr = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.proto} {addr}:{self.port}"


@dataclass(frozen=True)
class Row:
    target: Target
    traces: dict[str, Trace]  # scenario -> trace


@dataclass(frozen=True)
class Analysis:
    snapshot: Snapshot
    facts: Facts
    world: World
    rows: tuple[Row, ...]
    listeners_unknown: Unknown | None = None
    errors: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)  # source name -> its state line
    disabled: tuple = ()  # live only: rules disabled with wsltui (actions.DisabledRule), from the journal
    live: tuple = ()  # the live tests the snapshot holds (simulation.reconcile.StoredTest), one per flow

    def trace(self, scenario: str, port: int, proto: str = "tcp") -> Trace:
        """A trace for any scenario and port (cached for the status rows)."""
        for row in self.rows:
            if row.target.port == port and row.target.proto == proto and scenario in row.traces:
                return row.traces[scenario]
        return simulate(self.world, Scenario(scenario, port, proto))

    def live_test(self, scenario: str, port: int, proto: str = "tcp"):
        """The live test of this flow the snapshot holds (a StoredTest), or None."""
        from wsltui.facts.live import record_name

        name = record_name(proto, port, scenario)
        return next((t for t in self.live if t.name == name), None)

    def row(self, key: str) -> Row | None:
        return next((r for r in self.rows if r.target.key == key), None)

    @property
    def blockers(self) -> list[tuple[Target, str, Trace]]:
        """(target, scenario, trace) for every status cell that is blocked."""
        return [(r.target, sc, t) for r in self.rows for sc, t in r.traces.items() if t.reachable is False]


def targets(facts: Facts, ports: tuple[int, ...] = ()) -> tuple[list[Target], Unknown | None]:
    socks = facts.sockets
    listeners = socks.listeners if socks is not None else None
    unknown = listeners if isinstance(listeners, Unknown) else None
    if socks is None:
        unknown = facts.failures.get("sockets") or Unknown(
            "the listening sockets could not be read", "ss -H -l -n -t -u -p -e"
        )
    out: list[Target] = []
    for lst in listeners if isinstance(listeners, list) else []:
        procs = ",".join(dict.fromkeys(p.name or (f"pid {p.pid}" if p.pid else "?") for p in lst.processes))
        out.append(Target(lst.proto, lst.port, lst.address, procs, lst.bind, lst.family, lst.dual_stack))
    if ports:
        wanted = [t for t in out if t.port in ports]
        for p in ports:
            if not any(t.port == p for t in wanted):
                wanted.append(Target("tcp", p))
        out = wanted
    out.sort(key=lambda t: (t.port, t.proto, t.family, t.address))
    return out, unknown


def analyze(snap: Snapshot, ports: tuple[int, ...] = (), sources: dict[str, str] | None = None) -> Analysis:
    """Facts, world and one trace per (target, status scenario). Never raises for bad input:
    the core turns it into unknowns; a core bug becomes an error line."""
    facts = build_facts(snap)
    errors: list[str] = [f"{name}: {u}" for name, u in facts.failures.items()]
    world = World.from_facts(facts)
    found, unknown = targets(facts, ports)
    rows = []
    for t in found:
        traces: dict[str, Trace] = {}
        for sc in STATUS_SCENARIOS:
            try:
                traces[sc] = simulate(world, Scenario(sc, t.port, t.proto))
            except Exception as e:  # a simulator bug must not take the app down
                errors.append(f"simulate {sc} {t.proto}/{t.port}: {type(e).__name__}: {e}")
        rows.append(Row(t, traces))
    from wsltui.simulation.reconcile import stored_tests

    by_flow = {(r.target.proto, r.target.port, sc): t for r in rows for sc, t in r.traces.items()}
    return Analysis(
        snap,
        facts,
        world,
        tuple(rows),
        unknown,
        tuple(errors),
        dict(sources or {}),
        live=tuple(stored_tests(snap, world, by_flow)),
    )
