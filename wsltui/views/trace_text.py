"""`wsltui check` for people: one line per hop, like a packet tracer; the blocker stands out and
its fix is printed under it. Rich honours NO_COLOR and plain pipes."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from wsltui.simulation.simulate import SCENARIOS
from wsltui.views.console import make_console
from wsltui.simulation.trace import CLIENT_NAMES, Hop, Trace, client_lines
from wsltui.vocabulary import VERDICT_STYLES, plural, verdict_word


def print_trace(trace: Trace, console: Console | None = None) -> None:
    console = console or make_console()
    what = SCENARIOS.get(trace.scenario, trace.scenario).replace("PORT", str(trace.port))
    console.print(f"[bold]{trace.proto}/{trace.port}[/]  {escape(what)}  (networking mode: {trace.mode})")
    for note in trace.notes:
        console.print(f"  [yellow]note:[/] {escape(note)}")
    first = trace.first_blocker
    for i, hop in enumerate(trace.hops, 1):
        _hop(console, i, hop, hop is first)
    console.print()
    assumed = [h.layer for h in trace.hops if h.verdict == "assumed"]
    if trace.reachable is True and assumed:
        console.print(
            f"[bold cyan]Reachable if the assumptions hold[/] ({escape(', '.join(dict.fromkeys(assumed)))}): "
            "see 'assumed:' above."
        )
    elif trace.reachable is True:
        console.print("[bold green]Reachable[/]: every layer lets the connection through.")
    elif first is not None:  # a trace is blocked exactly when it has a blocker
        alternatives = f" (or {escape(' or '.join(first.alternatives))})" if first.alternatives else ""
        console.print(
            f"[bold red]Blocked[/] at [bold]{first.layer}[/]: the client sees [bold]{escape(str(first.symptom))}[/]"
            f"{alternatives}."
        )
        _client_words(console, trace, first)
        others = trace.blockers[1:]
        if others:
            console.print(f"Also in the way ({len(others)}):")
            for b in others:
                console.print(
                    f"  - {b.layer}: {escape(b.rule or b.explanation)}"
                    + (f"  [dim]({escape(b.location)})[/]" if b.location else "")
                )
                for fix in b.fixes:
                    _fix(console, fix, indent="      ")
    else:
        unknown = [h for h in trace.hops if h.verdict == "unknown"]
        console.print(
            f"[bold yellow]Unknown[/]: {plural(len(unknown), 'layer')} could not be decided; see the reasons above."
        )
    for caveat in trace.caveats:
        console.print(f"[magenta]caveat:[/] {escape(caveat)}")


def _client_words(console: Console, trace: Trace, first: Hop) -> None:
    """What this scenario's client prints, for the symptom and each alternative."""
    who = CLIENT_NAMES.get(trace.client)
    if who is None:
        return
    for symptom in (first.symptom, *first.alternatives):
        lines = client_lines(symptom, trace.client)
        if lines:
            console.print(f"  {who} ({escape(str(symptom))}): " + escape(" · ".join(lines)))


def _hop(console: Console, i: int, hop: Hop, first: bool) -> None:
    style = VERDICT_STYLES.get(hop.verdict, "")
    marker = ">>" if first else "  "
    console.print(
        f"{marker}{i:>2}. [{style}]{verdict_word(hop.verdict):<11}[/] [bold]{hop.layer:<17}[/] {escape(hop.explanation)}"
    )
    pad = " " * 18
    if hop.assumes_fix:
        console.print(
            f"{pad}[magenta]after fix:[/] {escape(hop.assumes_fix)} (traced as if it were done: not the current state)"
        )
    if hop.packet:
        console.print(f"{pad}[dim]packet:[/] {escape(hop.packet)}")
    if hop.rule and hop.verdict != "allow":
        console.print(f"{pad}[dim]rule:[/]   {escape(hop.rule)}")
    if hop.location and hop.verdict != "allow":
        console.print(
            f"{pad}[dim]where:[/]  {escape(hop.location)}" + (f"  [dim]edit:[/] {escape(hop.edit)}" if hop.edit else "")
        )
    if hop.assumption:
        console.print(f"{pad}[dim]assumed:[/] {escape(hop.assumption)}")
    if hop.reason:
        console.print(f"{pad}[dim]why:[/]    {escape(hop.reason)}")
    if hop.blocks:
        for fix in hop.fixes:
            _fix(console, fix, indent=pad)


def _fix(console: Console, fix, indent: str) -> None:
    console.print(f"{indent}[bold cyan]fix:[/] {escape(fix.title)}")
    for cmd in fix.commands:
        console.print(f"{indent}  $ {escape(cmd)}")
    if fix.undo:
        console.print(f"{indent}  [dim]undo:[/] " + escape(" ; ".join(fix.undo)))
    if fix.note:
        console.print(f"{indent}  [dim]{escape(fix.note)}[/]")
