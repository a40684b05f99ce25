"""Rich building blocks shared by the panels: verdict marks, unknown markers, status cells.

Colour is never the only signal (NO_COLOR turns the app monochrome): every verdict also has a
word or a mark.
"""

from __future__ import annotations

from rich.text import Text

from wsltui.vocabulary import NOT_APPLICABLE
from wsltui.vocabulary import VERDICT_STYLES as VERDICT_STYLE
from wsltui.vocabulary import VERDICT_WORDS as VERDICT_MARK

VERDICT_CLASS = {"allow": "-allow", "drop": "-block", "reject": "-block", "no-listener": "-block",
                 "unknown": "-unknown", "not-applicable": "-na", "assumed": "-assumed"}


def is_unknown(value) -> bool:
    # Imported here: wsltui.facts is heavy, and the first frame must not wait for it.
    from wsltui.facts.base import Unknown

    return isinstance(value, Unknown)


def unknown_text(value, prefix: str = "") -> Text:
    """``unknown: reason (run: command)`` in the unknown style."""
    text = Text(prefix, style="bold") if prefix else Text()
    text.append(str(value), style="yellow")
    return text


def or_unknown(value, fmt=str) -> Text:
    if value is None:
        return Text("unknown", style="yellow")
    if is_unknown(value):
        return unknown_text(value)
    return Text(fmt(value))


def verdict_text(verdict: str) -> Text:
    return Text(VERDICT_MARK.get(verdict, verdict), style=VERDICT_STYLE.get(verdict, ""))


def cell(trace) -> Text:
    """One status cell: ✓ yes, ✓ assumed, ✗ symptom (layer), ? the first undecided layer, a muted
    dash where the scenario does not apply."""
    if trace is None:
        return Text(NOT_APPLICABLE, style="dim")
    if trace.reachable is True:
        if any(h.verdict == "assumed" for h in trace.hops):
            return Text("✓ assumed", style="bold cyan")  # passes only on an assumption the flow names
        return Text("✓ yes", style="bold green")
    if trace.reachable is False:
        first = trace.first_blocker
        return Text(f"✗ {first.symptom or first.verdict}", style="bold red")
    unknown = next((h for h in trace.hops if h.verdict == "unknown"), None)
    if unknown is None:  # undecided without an unknown layer: nothing on this path applies
        return Text(NOT_APPLICABLE, style="dim")
    return Text(f"? {unknown.layer}", style="yellow")


def bool_word(value, yes: str = "yes", no: str = "no") -> Text:
    if value is True:
        return Text(yes, style="green")
    if value is False:
        return Text(no, style="dim")
    return or_unknown(value)


def state_style(state: str) -> str:
    if state.startswith("ok"):
        return "green"
    if state.startswith("error"):
        return "bold red"
    return "yellow"


def record_outputs(snapshot, prefix: str = "") -> dict:
    """What the records named ``prefix…`` said (not how long they took): two snapshots with the
    same outputs give the same facts, so a refresh that read the same can leave a view alone."""
    return {n: (r.argv, r.stdout, r.stderr, r.exit_code, r.error)
            for n, r in snapshot.records.items() if n.startswith(prefix)}
