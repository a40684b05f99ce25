"""``wsltui report``: one document a person attaches to a ticket — text for the terminal,
Markdown for a GitHub issue, JSON for tools. (The SVG of the status screen is the app's own
rendering: ``wsltui.tui.report``.)

Headless: no Textual; Rich only inside the text renderers it reuses (``views.trace_text``,
``views.facts_text``), imported when text is rendered. Like every view it only renders Facts and
Traces: the questions asked are the Status screen's (every listening port x the status scenarios,
``wsltui.analysis.targets``), the answers are the simulator's.

``--redact`` runs over the finished document (``wsltui.redact`` says why there and not earlier).
"""

from __future__ import annotations

import io
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path

from wsltui import __version__, json_stream, safe_files
from wsltui.facts import Facts, build_facts, jsonable_one_level
from wsltui.facts.base import Unknown
from wsltui.facts.windows import HyperV
from wsltui.facts.wsl import WslConfig
from wsltui.simulation.reconcile import Reconciliation, StoredTest, observed_json, stored_tests
from wsltui.simulation.simulate import SCENARIOS, Scenario, World, simulate
from wsltui.simulation.trace import CLIENT_NAMES, Hop, Trace, client_lines
from wsltui.snapshot import Snapshot
from wsltui.analysis import Target, targets  # pure: the Status screen's list of ports (no Textual)
from wsltui.views.scenarios import SHORT, STATUS_SCENARIOS
from wsltui.views.safe_text import json_text, shown
from wsltui.vocabulary import NOT_APPLICABLE, plural, verdict_word

SCHEMA_VERSION = 1
FORMATS = ("text", "md", "json")
MARK = {True: "✅", False: "❌", None: "❔"}


@dataclass
class Row:
    """One port: who listens on it, and a trace per scenario."""

    proto: str
    port: int
    listeners: list[Target]
    traces: dict[str, Trace]

    @property
    def label(self) -> str:
        return f"{self.proto}/{self.port}"


@dataclass
class Blocker:
    """One blocking hop, once, however many traces it stops."""

    hop: Hop  # the first; the others differ only in port (and so in their fixes)
    where: list[tuple[Row, str]] = field(default_factory=list)  # (row, scenario) it stops
    hops: list[Hop] = field(default_factory=list)

    @property
    def fixes(self) -> list:
        """The first fix of every hop, once each (one per port for a rule that stops several)."""
        out: dict[tuple, object] = {}
        for h in self.hops:
            if h.fixes:
                f = h.fixes[0]
                out.setdefault((f.title, tuple(f.commands)), f)
        return list(out.values())


@dataclass
class Report:
    snapshot: Snapshot
    facts: Facts
    world: World
    rows: list[Row]
    scenarios: tuple[str, ...]
    ports: tuple[int, ...] = ()  # what was asked (empty: every listener)
    listeners_unknown: Unknown | None = None
    errors: list[str] = field(default_factory=list)
    live: list[StoredTest] = field(default_factory=list)  # the live tests stored in the snapshot

    def live_of(self, trace: Trace) -> StoredTest | None:
        """The stored live test of this very trace (the newest of its flow), if any."""
        return next((t for t in self.live if t.trace is trace), None)

    @property
    def live_elsewhere(self) -> list[StoredTest]:
        """Live tests of flows the report's table does not hold (another port or scenario, a
        custom flow, an unreadable record): shown on their own, each beside its trace."""
        traces = {id(t) for t in self.traces}
        return [t for t in self.live if t.trace is None or id(t.trace) not in traces]

    @property
    def traces(self) -> list[Trace]:
        return [t for r in self.rows for t in r.traces.values()]

    @cached_property
    def blockers(self) -> list[Blocker]:
        # Cached: the Markdown form asks three times, and a report is not changed once built.
        found: dict[tuple, Blocker] = {}
        for row in self.rows:
            port = re.compile(rf"\b{row.port}\b")  # once per row: thousands of ports overflow re's cache
            for sc, t in row.traces.items():
                for hop in t.blockers:

                    def generic(
                        text: str | None, port=port
                    ) -> str:  # the same rule for another port is the same blocker
                        return port.sub("PORT", text or "")

                    key = (hop.layer, hop.verdict, generic(hop.rule), generic(hop.location), generic(hop.explanation))
                    b = found.setdefault(key, Blocker(hop))
                    b.where.append((row, sc))
                    b.hops.append(hop)
        return list(found.values())


def build(
    snap: Snapshot, ports: tuple[int, ...] = (), scenario: str | None = None, facts: Facts | None = None
) -> Report:
    """The traces the Status screen shows (every listener x the status scenarios), or only
    ``ports`` (even when nothing listens on them) and only ``scenario``."""
    facts = facts if facts is not None else build_facts(snap)
    world = World.from_facts(facts)
    scenarios = (scenario,) if scenario else STATUS_SCENARIOS
    found, unknown = targets(facts, tuple(ports))
    rows: dict[tuple[str, int], Row] = {}
    errors = [f"{name}: {u}" for name, u in facts.failures.items()]
    for t in found:
        key = (t.proto, t.port)
        if key not in rows:
            rows[key] = Row(t.proto, t.port, [], {})
            for sc in scenarios:
                try:
                    rows[key].traces[sc] = simulate(world, Scenario(sc, t.port, t.proto))
                except Exception as e:  # a simulator bug must not lose the rest of the report
                    errors.append(f"simulate {sc} {t.proto}/{t.port}: {type(e).__name__}: {e}")
        if t.address:
            rows[key].listeners.append(t)
    traces = {(r.proto, r.port, sc): t for r in rows.values() for sc, t in r.traces.items()}
    return Report(
        snap,
        facts,
        world,
        list(rows.values()),
        scenarios,
        tuple(ports),
        unknown,
        errors,
        stored_tests(snap, world, traces),
    )


def write_ticket(
    snap: Snapshot, facts: Facts, directory: str | Path, *, ports: tuple[int, ...] = (), redact: bool = False
) -> list[str]:
    """A support ticket's files in ``directory`` (the app's `w`): the Markdown report and the
    snapshot it came from, which ``wsltui report --from`` replays. Redacted, only the report: a
    snapshot is the raw outputs, which cannot be redacted. Returns the paths; raises OSError."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    text = render(build(snap, ports, facts=facts), "md", redact=redact)
    # New names only (a counter when one is taken), never through a link planted at the name;
    # unredacted files are the owner's alone, a redacted report is meant to be shared.
    report = safe_files.create_unique(
        directory,
        f"wsltui-report-{stamp}{'-redacted' if redact else ''}",
        ".md",
        text,
        safe_files.SHARED if redact else safe_files.PRIVATE,
    )
    if redact:
        return [str(report)]
    snapshot = safe_files.create_unique(directory, f"wsltui-snapshot-{stamp}", ".json", snap.dumps())
    return [str(report), str(snapshot)]


def render(report: Report, fmt: str, *, redact: bool = False, color: bool = False) -> str:
    """The report as ``fmt`` (text, md, json). ``redact`` replaces addresses, names and Windows
    paths in the finished document; ``color`` keeps ANSI styles in text (never when redacting)."""
    redactor = None
    if redact:
        from wsltui.redact import Redactor

        redactor = Redactor.for_snapshot(report.snapshot)
    if fmt == "json":
        if redactor is not None:
            return json_stream.dumps(redactor.document(to_json(report, redacted=True))) + "\n"
        # Facts and traces converted as they are written: the converted tree of a big ruleset or of
        # thousands of traces never exists as a whole.
        return json_stream.dumps(_document(report, False, report.facts, report.traces), convert=_jsonable) + "\n"
    if fmt == "md":
        out = to_markdown(report, redacted=redact)
    elif fmt == "text":
        out = to_text(report, color=color and not redact, redacted=redact)
    else:
        raise ValueError(f"unknown report format {fmt!r}")
    return redactor.text(out) if redactor is not None else out


# --- JSON --------------------------------------------------------------------------------------


def to_json(report: Report, redacted: bool = False) -> dict:
    return _document(report, redacted, report.facts.to_json(), [t.to_json() for t in report.traces])


def _jsonable(value):
    """What ``to_json`` makes of a value of the document, one level deep (for ``json_stream``)."""
    return value.to_json() if isinstance(value, Trace) else jsonable_one_level(value)


def _document(report: Report, redacted: bool, facts, traces: list) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "wsltui": __version__,
        "meta": dict(report.snapshot.meta),
        "redacted": redacted,
        "selection": {"ports": list(report.ports), "scenarios": list(report.scenarios)},
        "summary": [
            {
                "proto": r.proto,
                "port": r.port,
                "scenario": sc,
                "reachable": t.reachable,
                "symptom": t.symptom,
                "blocked_at": t.first_blocker.layer if t.first_blocker else None,
            }
            for r in report.rows
            for sc, t in r.traces.items()
        ],
        "errors": list(report.errors),
        "live": [
            {
                "proto": t.trace.proto if t.trace else None,
                "port": t.trace.port if t.trace else None,
                "scenario": t.trace.scenario if t.trace else None,
                "observed": observed_json(t),
                "observation": asdict(t.result.obs) if isinstance(t.result, Reconciliation) else None,
            }
            for t in report.live
        ],
        "facts": facts,
        "traces": traces,
    }


# --- what every format says first ----------------------------------------------------------------


def _source(report: Report) -> str:
    meta = report.snapshot.meta
    if meta.get("demo"):
        return f"bundled demo {meta['demo']}"
    parts = [
        f"taken {meta['taken']}" if meta.get("taken") else "",
        f"on {meta['host']}" if meta.get("host") else "",
        f"by wsltui {meta['wsltui']}" if meta.get("wsltui") else "",
        "as root" if meta.get("root") else "",
    ]
    return "snapshot " + " ".join(p for p in parts if p) if any(parts) else "snapshot"


def _mode(report: Report) -> str:
    mode = report.world.mode
    wsl = report.facts.wsl
    requested = wsl.wslconfig.networking_mode if wsl is not None and isinstance(wsl.wslconfig, WslConfig) else None
    text = mode + (f" (unknown: {report.world.mode_reason})" if mode == "unknown" and report.world.mode_reason else "")
    if isinstance(requested, str) and requested != mode:
        text += f"; .wslconfig requests {requested}"
    return text


def _addresses(report: Report) -> str:
    n = report.facts.network
    if n is None:
        return "unknown (the network facts could not be read)"
    bits = []
    primary = ", ".join(a for a in (n.primary_address, n.primary_address6) if a)
    if primary:
        bits.append(primary + (f" on {n.primary_interface}" if n.primary_interface else ""))
    gw = n.default_gateway_v4 or n.default_gateway_v6
    if gw:
        bits.append(f"gateway {gw}")
    return ", ".join(bits) or "no global address"


def _windows(report: Report) -> str:
    win = report.facts.windows
    if win is None or not win.captured:
        return "not captured (Windows layers are unknown)"
    return "captured" + (f", Windows build {win.build}" if win.build else "")


def _cell(t: Trace | None) -> tuple[str, str]:
    """(mark, words) for one port x scenario."""
    if t is None:
        return "", NOT_APPLICABLE
    if t.reachable is True:
        assumed = [h.layer for h in t.hops if h.verdict == "assumed"]
        return MARK[True], "connects" + (f" (assumed: {', '.join(dict.fromkeys(assumed))})" if assumed else "")
    blocker = t.first_blocker  # there is one exactly when the trace is not reachable
    if blocker is not None:
        return MARK[False], f"{t.symptom or 'blocked'} ({blocker.layer})"
    unknown = [h.layer for h in t.hops if h.verdict == "unknown"]
    return MARK[None], "unknown (" + ", ".join(dict.fromkeys(unknown)) + ")"


def _listener(t: Target) -> str:
    stack = "dual-stack" if t.dual_stack else ("IPv6" if t.family == "ipv6" else "IPv4")
    return f"{t.endpoint.split(' ', 1)[1]} {t.process or 'owner not visible'} ({t.bind}, {stack})"


def _listeners(row: Row) -> str:
    return "; ".join(_listener(t) for t in row.listeners) or "nobody listens"


def _fix_line(f) -> str:
    if f is None:
        return "no automatic fix: see the trace"
    more = f" (+{len(f.commands) - 1} more, in the trace below)" if len(f.commands) > 1 else ""
    return f.title + (f": {f.commands[0]}{more}" if f.commands else "")


def _caveats(report: Report) -> list[str]:
    """Every caveat of every trace, once (causes outside the five layers: beside the verdicts)."""
    return list(dict.fromkeys(c for t in report.traces for c in t.caveats))


def _what(trace: Trace) -> str:
    return SCENARIOS.get(trace.scenario, trace.scenario).replace("PORT", str(trace.port))


def _summary(report) -> list[tuple[str, str, str, bool]]:
    """(Markdown label, text label, value, is a warning) of the report's summary, shared by the
    text and Markdown forms."""
    rows = [
        ("Networking mode", "networking mode", _mode(report), False),
        ("WSL address", "WSL address", _addresses(report), False),
        ("Windows side", "Windows side", _windows(report), False),
        ("Result", "result", _counts(report), False),
    ]
    if report.live:
        rows.append(("Live tests", "live tests", _live_counts(report), False))
    if report.listeners_unknown is not None:
        rows.append(("Listening sockets", "listening sockets", str(report.listeners_unknown), True))
    rows += [("Error", "error", e, True) for e in report.errors]
    return rows


def _counts(report: Report) -> str:
    traces = report.traces
    blocked = sum(1 for t in traces if t.reachable is False)
    unknown = sum(1 for t in traces if t.reachable is None)
    return (
        f"{plural(len(report.rows), 'port')} x {plural(len(report.scenarios), 'scenario')}: "
        f"{len(traces) - blocked - unknown} reachable, {blocked} blocked, {unknown} unknown"
    )


def _live_counts(report: Report) -> str:
    results = [t.result for t in report.live]
    agree = sum(1 for r in results if isinstance(r, Reconciliation) and r.agrees is True)
    differ = sum(1 for r in results if isinstance(r, Reconciliation) and r.agrees is False)
    return (
        f"{len(results)} stored: {agree} agree with the model, {differ} disagree, "
        f"{len(results) - agree - differ} observed nothing or could not be read (each beside its trace below)"
    )


def _expanded(report: Report, t: Trace) -> bool:
    """Blocked traces are shown in full; with --port every asked trace is; so is every trace a
    live test observed (the observation is shown beside it)."""
    return t.reachable is False or bool(report.ports) or report.live_of(t) is not None


# --- text --------------------------------------------------------------------------------------


def to_text(report: Report, color: bool = False, redacted: bool = False) -> str:
    from rich.cells import cell_len
    from rich.markup import escape

    from wsltui.views.console import make_console
    from wsltui.views.facts_text import print_facts
    from wsltui.views.trace_text import print_trace

    buf = io.StringIO()
    console = make_console(file=buf, force_terminal=color, color_system="standard" if color else None, width=120)
    p = console.print
    p(f"[bold]wsltui report[/]  wsltui {__version__}, {escape(_source(report))}" + ("  (redacted)" if redacted else ""))
    for _, label, value, warn in _summary(report):
        if not warn:
            p(f"{label + ':':<17} {escape(value)}")
        elif label == "error":
            p(f"[yellow]{label}:[/] {escape(value)}")
        else:
            p(f"[yellow]{label}: {escape(value)}[/]")
    p()
    if not report.rows:
        p("Nothing listens, so there is nothing to trace: use --port PORT.")
    width = max([len(r.label) for r in report.rows] + [4]) + 2
    grid = [[" ".join(_cell(r.traces.get(sc))) for sc in report.scenarios] for r in report.rows]
    heads = [SHORT.get(sc, sc) for sc in report.scenarios]
    widths = [max(cell_len(x) for x in [h] + [g[i] for g in grid]) + 2 for i, h in enumerate(heads)]

    def pad(text: str, n: int) -> str:  # by terminal cells: the marks are two cells wide
        return text + " " * max(n - cell_len(text), 1)

    p("[bold]" + escape("port".ljust(width) + "".join(pad(h, n) for h, n in zip(heads, widths))).rstrip() + "[/]")
    for r, cells in zip(report.rows, grid):
        p(escape((r.label.ljust(width) + "".join(pad(c, n) for c, n in zip(cells, widths))).rstrip()))
        p(escape(" " * width + _listeners(r)), style="dim")
    blockers = report.blockers
    if blockers:
        p()
        p(f"[bold]Blockers[/] ({len(blockers)}):")
        for i, b in enumerate(blockers, 1):
            where = ", ".join(f"{row.label} {SHORT.get(sc, sc)}" for row, sc in b.where)
            p(
                f"  {i}. [bold]{escape(b.hop.layer)}[/]: {escape(b.hop.rule or b.hop.explanation)}  [dim]({escape(where)})[/]"
            )
            for f in b.fixes or [None]:
                p(f"     fix: {escape(_fix_line(f))}")
    caveats = _caveats(report)
    if caveats:
        p()
        p(f"[bold]Caveats[/] ({len(caveats)}):")
        for c in caveats:
            p(f"  - {escape(c)}")
    for r in report.rows:
        for t in r.traces.values():
            if _expanded(report, t):
                p()
                console.rule(style="dim")
                print_trace(t, console)
                _text_live(report.live_of(t), console)
    for test in report.live_elsewhere:
        p()
        console.rule(style="dim")
        if test.trace is not None:
            print_trace(test.trace, console)
        _text_live(test, console)
    p()
    console.rule("[bold]Facts[/]", style="dim")
    print_facts(report.facts, console)
    return buf.getvalue()


def _text_live(test: StoredTest | None, console) -> None:
    from wsltui.views.live_text import print_lines, stored_lines

    if test is not None:
        console.print()
        print_lines(stored_lines(test), console)


# --- Markdown ----------------------------------------------------------------------------------


def code(text: str) -> str:
    """An inline code span that survives backticks in the text: its fence is longer than the
    longest run of backticks inside (CommonMark), padded when the text starts or ends with one."""
    text = text.replace("\n", " ")
    if "`" not in text:
        return f"`{text}`"
    mark = "`" * (max(len(run) for run in re.findall("`+", text)) + 1)
    return f"{mark} {text} {mark}"


def cell(text: str) -> str:
    """Text for a table cell: pipes escaped, lines joined."""
    return text.replace("|", "\\|").replace("\n", "<br>")


def prose(text: str) -> str:
    """Plain text in Markdown: no accidental HTML, emphasis or links. Characters that can be part
    of an address, a name or a path (``_ . - : % \\ /``) are left alone, so redaction still
    recognises every value in the finished document. One line: a line feed in the data (a
    multi-line error) would start a heading, a list or an HTML block."""
    out = " ".join(text.splitlines()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ch in "*[]`":
        out = out.replace(ch, "\\" + ch)
    return out


def fence(text: str, lang: str = "") -> str:
    mark = "```"
    while mark in text:
        mark += "`"
    return f"{mark}{lang}\n{text.rstrip()}\n{mark}"


WINDOWS_FRONT_ENDS = ("windows", "wsl")  # fixes whose commands a person runs on Windows
CMD_PROGRAMS = ("netsh", "net", "wsl", "wsl.exe")  # cmd.exe programs, not PowerShell cmdlets


def shell_of(command: str, front_end: str) -> str:
    """The fence language of a fix's command: ``bat`` for a cmd.exe program (netsh, net, wsl),
    ``powershell`` for the other Windows commands, ``sh`` for Linux ones."""
    if front_end not in WINDOWS_FRONT_ENDS:
        return "sh"
    return "bat" if command.split(" ", 1)[0].lower() in CMD_PROGRAMS else "powershell"


def command_fences(commands: list[str], front_end: str) -> list[str]:
    """``commands`` in fences, one per run of commands of the same shell (in their order)."""
    out: list[str] = []
    run: list[str] = []
    for i, c in enumerate(commands):
        run.append(c)
        lang = shell_of(c, front_end)
        if i + 1 == len(commands) or shell_of(commands[i + 1], front_end) != lang:
            out.append(fence("\n".join(run), lang))
            run = []
    return out


def to_markdown(report: Report, redacted: bool = False) -> str:
    out: list[str] = []
    w = out.append
    blocked = [t for t in report.traces if t.reachable is False]
    title = (
        f"{len(blocked)} of {len(report.traces)} connections blocked"
        if blocked
        else "every traced connection connects"
        if report.traces and all(t.reachable for t in report.traces)
        else "nothing blocked, some layers unknown"
        if report.traces
        else "nothing to trace"
    )
    w(f"# wsltui report: {title}")
    w("")
    w(f"wsltui {__version__} · {prose(_source(report))}" + (" · **redacted**" if redacted else ""))
    w("")
    w("## Summary")
    w("")
    for label, _, value, _ in _summary(report):
        w(f"- **{label}:** {prose(value)}")
    w("")
    if report.rows:
        w("| port | listener | " + " | ".join(cell(SHORT.get(sc, sc)) for sc in report.scenarios) + " |")
        w("|---|---|" + "---|" * len(report.scenarios))
        for r in report.rows:
            cells = [" ".join(_cell(r.traces.get(sc))) for sc in report.scenarios]
            w(f"| **{r.label}** | {cell(prose(_listeners(r)))} | " + " | ".join(cell(prose(c)) for c in cells) + " |")
    else:
        w("Nothing listens, so there is nothing to trace: run `wsltui report --port PORT`.")
    w("")
    blockers = report.blockers
    if blockers:
        w("### Blockers")
        w("")
        for i, b in enumerate(blockers, 1):
            where = ", ".join(f"{row.label} {SHORT.get(sc, sc)}" for row, sc in b.where)
            symptom = f" — the client sees **{prose(b.hop.symptom)}**" if b.hop.symptom else ""
            w(f"{i}. **{prose(b.hop.layer)}** ({prose(where)}){symptom}: {prose(b.hop.explanation)}")
            for f in b.fixes:
                more = f" (+{len(f.commands) - 1} more, in the trace below)" if len(f.commands) > 1 else ""
                w(f"   - fix: {prose(f.title)}" + (f": {code(f.commands[0])}{more}" if f.commands else ""))
        w("")
    caveats = _caveats(report)
    if caveats:
        w("### Caveats")
        w("")
        for c in caveats:
            w(f"- {prose(c)}")
        w("")
    _md_traces(report, w)
    _md_deciding(report, w)
    _md_details(report, w)
    return shown("\n".join(out).rstrip(), multiline=True) + "\n"


def _md_trace(t: Trace, w) -> None:
    mark, words = _cell(t)
    w(f"### {t.proto}/{t.port}: {prose(_what(t))} {mark} {prose(words)}")
    w("")
    w(f"Networking mode {prose(t.mode)}.")
    for n in t.notes:
        w(f"> note: {prose(n)}")
    w("")
    w("| # | layer | verdict | what happens | packet | rule · where |")
    w("|---|---|---|---|---|---|")
    first = t.first_blocker
    for i, h in enumerate(t.hops, 1):
        verdict = f"**{verdict_word(h.verdict)}**" if h.blocks else verdict_word(h.verdict)
        what = prose(h.explanation)
        for label, value in (
            ("after fix", h.assumes_fix and f"{h.assumes_fix} (traced as if it were done: not the current state)"),
            ("assumed", h.assumption),
            ("why", h.reason),
        ):
            if value:
                what += f"<br>*{label}:* {prose(value)}"
        where = " · ".join(
            x
            for x in (
                code(h.rule) if h.rule else "",
                prose(h.location or ""),
                f"edit: {prose(h.edit)}" if h.edit else "",
            )
            if x
        )
        w(
            f"| {'**' + str(i) + '**' if h is first else i} | {h.layer} | {verdict} | {cell(what)} | "
            f"{cell(code(h.packet)) if h.packet else ''} | {cell(where)} |"
        )
    w("")
    if first is not None and first.symptom:
        alternatives = f" (or {prose(' or '.join(first.alternatives))})" if first.alternatives else ""
        w(f"The client sees **{prose(first.symptom)}**{alternatives}.")
        who = CLIENT_NAMES.get(t.client)
        for symptom in (first.symptom, *first.alternatives):
            lines = client_lines(symptom, t.client)
            if who and lines:
                w(f"- {who} ({prose(symptom)}): " + " · ".join(prose(line) for line in lines))
        w("")
    for c in t.caveats:
        w(f"> caveat: {prose(c)}")
    if t.caveats:
        w("")
    for b in t.blockers:
        for f in b.fixes:
            w(f"**Fix ({prose(b.layer)}):** {prose(f.title)}" + (f" — {prose(f.note)}" if f.note else ""))
            w("")
            for block in command_fences(f.commands, f.front_end):
                w(block)
                w("")
            if f.undo:
                w("Undo:")
                w("")
                for block in command_fences(f.undo, f.front_end):
                    w(block)
                    w("")


def _md_live(test: StoredTest | None, w) -> None:
    """A stored live test under its trace: the headline, then the model beside the observation."""
    from wsltui.views.live_text import stored_lines

    if test is None:
        return
    head, *rest = stored_lines(test)
    w(f"**{prose(head)}**")
    w("")
    for line in rest:
        label, _, value = line.strip().partition(" ")
        w(f"- *{prose(label)}* {prose(value.strip())}")
    w("")


def _md_traces(report: Report, w) -> None:
    shown = [t for t in report.traces if _expanded(report, t)]
    rest = [t for t in report.traces if not _expanded(report, t)]
    elsewhere = report.live_elsewhere
    if not report.traces and not elsewhere:
        return
    w("## Traces")
    w("")
    for t in shown:
        _md_trace(t, w)
        _md_live(report.live_of(t), w)
    for test in elsewhere:
        if test.trace is not None:
            _md_trace(test.trace, w)
        _md_live(test, w)
    if rest:
        w(f"<details><summary>Other traces ({len(rest)}: reachable or unknown)</summary>")
        w("")
        for t in rest:
            _md_trace(t, w)
        w("</details>")
        w("")


def _md_deciding(report: Report, w) -> None:
    w("## The facts that decided")
    w("")
    seen: dict[tuple, list[str]] = {}
    hops: dict[tuple, Hop] = {}
    for b in report.blockers:  # one section per deciding rule, with every port x scenario it stops
        h = b.hop
        key = (h.layer, h.verdict, h.rule or h.explanation, h.location or "", h.owner or "")
        hops.setdefault(key, h)
        seen.setdefault(key, []).extend(f"{row.label} {SHORT.get(sc, sc)}" for row, sc in b.where)
    for key, h in hops.items():
        w(f"### {prose(h.layer)}: {verdict_word(h.verdict)} ({prose(', '.join(dict.fromkeys(seen[key])))})")
        w("")
        if h.rule:
            w("Rule, verbatim:")
            w("")
            w(fence(h.rule))
            w("")
        else:
            w(prose(h.explanation))
            w("")
        items = [
            f"- {label}: {code(value) if label == 'packet' else prose(value)}"
            for label, value in (("where", h.location), ("owner", h.owner), ("edit", h.edit), ("packet", h.packet))
            if value
        ]
        if h.steps:
            items.append("- path through netfilter: " + "; ".join(prose(s) for s in h.steps))
        if items:
            out = "\n".join(items)
            w(out)
            w("")
    _md_zones(report, w)
    _md_windows(report, w)
    w("**Listeners**")
    w("")
    if report.listeners_unknown is not None:
        w(prose(str(report.listeners_unknown)))
    for r in report.rows:
        w(
            f"- {r.label}: " + "; ".join(code(_listener(t)) for t in r.listeners)
            if r.listeners
            else f"- {r.label}: nobody listens"
        )
    w("")


def _md_zones(report: Report, w) -> None:
    f = report.facts.firewalld
    if f is None or f.running is not True:
        return
    active = {az.name: az for az in f.active_zones}
    w(f"**firewalld zones** (default zone {code(str(f.default_zone))})")
    w("")
    w("| zone | bound to | target | services | ports | rich rules |")
    w("|---|---|---|---|---|---|")
    for z in f.zones:
        if not (z.name in active or z.name == f.default_zone or z.active or z.default):
            continue
        az = active.get(z.name)
        bound = " ".join((az.interfaces + az.sources) if az else z.interfaces + z.sources) or (
            "every interface (default zone)" if z.name == f.default_zone else "-"
        )
        rich = "<br>".join(code(r.text) for r in z.rich_rules) or "-"
        w(
            f"| {cell(prose(z.name))} | {cell(prose(bound))} | {cell(prose(z.target or '-'))} | "
            f"{cell(prose(' '.join(z.services) or '-'))} | {cell(prose(' '.join(p.text for p in z.ports) or '-'))} | "
            f"{cell(rich)} |"
        )
    w("")


def _md_windows(report: Report, w) -> None:
    win = report.facts.windows
    if win is None or not win.captured:
        return
    if not any(
        b.hop.layer in ("windows-firewall", "hyperv-firewall", "portproxy", "excluded-ports", "windows-listener")
        for b in report.blockers
    ):
        return
    w("**Windows**")
    w("")
    if not isinstance(win.connections, Unknown):
        w("- network profiles: " + ", ".join(f"{prose(c.alias)} = {prose(str(c.category))}" for c in win.connections))
    if not isinstance(win.profiles, Unknown):
        w(
            "- firewall profiles: "
            + ", ".join(
                f"{prose(name)} {'on' if p.enabled else 'off'}, inbound {prose(str(p.default_inbound))}"
                for name, p in win.profiles.items()
            )
        )
    hv = win.hyperv
    setting = hv.setting if isinstance(hv, HyperV) else None
    if isinstance(hv, HyperV) and hv.available and setting is not None and not isinstance(setting, Unknown):

        def on(v) -> str:
            return "not configured" if v is None else "on" if v else "off"

        w(
            f"- Hyper-V firewall for WSL: {on(setting.enabled)}, inbound {setting.default_inbound or 'not configured'}, "
            f"loopback {on(setting.loopback)}"
        )
    w("")


def _md_details(report: Report, w) -> None:
    from wsltui.views.console import make_console
    from wsltui.views.facts_text import print_facts

    w("## Details")
    w("")
    buf = io.StringIO()
    print_facts(report.facts, make_console(file=buf, color_system=None, width=200))
    w("<details><summary>Full facts summary</summary>")
    w("")
    w(fence(buf.getvalue(), "text"))
    w("")
    w("</details>")
    w("")
    w("<details><summary>Raw records: commands and exit codes</summary>")
    w("")
    w("| record | command | exit code | seconds | error |")
    w("|---|---|---|---|---|")
    for name in sorted(report.snapshot.records):
        r = report.snapshot.records[name]
        w(
            f"| {cell(prose(name))} | {cell(code(r.command)) if r.argv else '-'} | "
            f"{'-' if r.exit_code is None else r.exit_code} | {r.seconds:.2f} | {cell(prose(r.error or ''))} |"
        )
    w("")
    w("</details>")
    w("")
    w("<details><summary>wsltui version and snapshot meta</summary>")
    w("")
    w(fence(json_text({"wsltui": __version__, "schema_version": SCHEMA_VERSION, "meta": report.snapshot.meta}), "json"))
    w("")
    w("</details>")
