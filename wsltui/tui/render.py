"""Rich building blocks shared by the panels: verdict marks, unknown markers, status cells.

Colour is never the only signal (NO_COLOR turns the app monochrome): every verdict also has a
word or a mark.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text

from wsltui.vocabulary import NOT_APPLICABLE
from wsltui.vocabulary import VERDICT_WORDS as VERDICT_MARK

VERDICT_CLASS = {
    "allow": "-allow",
    "drop": "-block",
    "reject": "-block",
    "no-listener": "-block",
    "unknown": "-unknown",
    "not-applicable": "-na",
    "assumed": "-assumed",
}


def is_unknown(value) -> bool:
    # Imported here: wsltui.facts is heavy, and the first frame must not wait for it.
    from wsltui.facts.base import Unknown

    return isinstance(value, Unknown)


def unknown_text(value, prefix: str = "") -> Text:
    """``unknown: reason (run: command)`` in the unknown style."""
    text = Text(prefix, style="bold") if prefix else Text()
    text.append(str(value), style=tone("unknown"))
    return text


def or_unknown(value, fmt=str) -> Text:
    if value is None:
        return Text("unknown", style=tone("unknown"))
    if is_unknown(value):
        return unknown_text(value)
    return Text(fmt(value))


def verdict_text(verdict: str) -> Text:
    return Text(VERDICT_MARK.get(verdict, verdict), style=verdict_style(verdict))


def cell(trace, width: int | None = None) -> Text:
    """One status cell: ✓ yes, ✓ assumed, ✗ symptom (layer), ? the first undecided layer.
    ``width``: at most that many cells, shortened by words (``fit_words``), never cut mid-word."""
    if trace is None:
        return Text(NOT_APPLICABLE, style="dim")
    if trace.reachable is True:
        if any(h.verdict == "assumed" for h in trace.hops):
            return Text("✓ assumed", style=tone("assumed", bold=True))  # passes only on an assumption the flow names
        return Text("✓ yes", style=tone("ok", bold=True))
    if trace.reachable is False:
        first = trace.first_blocker
        return Text(fit_words(f"✗ {first.symptom or first.verdict}", width), style=tone("blocked", bold=True))
    unknown = next((h for h in trace.hops if h.verdict == "unknown"), None)
    if unknown is None:  # undecided without an unknown layer: nothing on this path applies
        return Text(NOT_APPLICABLE, style="dim")
    return Text(fit_words(f"? {unknown.layer}", width), style=tone("unknown"))


# Shorter words for the symptoms and verdicts that do not fit a narrow column (the Flow panel
# and the legend say them in full).
SHORTER = {
    "no route to host": "no route",
    "network unreachable": "net unreach.",
    "permission denied": "denied",
    "protocol not available": "no protocol",
    "hangs, then closed": "hangs",
    "wrong program": "wrong prog.",
    "empty reply": "empty",
    "no-listener": "no listener",
}


def shorter(text: str) -> str:
    """``text`` with the shorter words of ``SHORTER``."""
    for long, short in SHORTER.items():
        text = text.replace(long, short)
    return text


def fit_words(text: str, width: int | None) -> str:
    """``text`` in ``width`` cells: as it is when it fits, else with its shorter words
    (``SHORTER``), else cut after the last whole word that fits (with …). Never mid-word."""
    if width is None or cell_len(text) <= width:
        return text
    text = shorter(text)
    if cell_len(text) <= width:
        return text
    words = text.split(" ")
    while len(words) > 1 and cell_len(" ".join(words) + "…") > width:
        words.pop()
    return " ".join(words) + "…" if len(words) > 1 else words[0]


def columns_width(table) -> int:
    """The width a table's columns may take (``fit_widths``' ``available``): the widget's width
    without its border and padding and without a vertical scrollbar, shown or not, so that the
    columns do not change when the rows start to scroll."""
    styles = table.styles
    return max(0, table.size.width - styles.gutter.width - styles.scrollbar_size_vertical)


def fit_widths(
    natural: list[int],
    preferred: list[int],
    minimum: list[int],
    priority: list[int],
    available: int,
    gap: int = 2,
    protect: int | None = None,
) -> list[int]:
    """Column widths for a table ``available`` cells wide (each column also takes ``gap``).

    Each column starts at its ``preferred`` width (its longest cell, capped). Free width goes to
    the capped columns, the most important first, up to their ``natural`` (uncapped) width. When
    they do not fit, the columns below ``protect`` (default: the highest priority) give way
    first, the least important (lowest ``priority``) first: they shrink to their ``minimum``, then
    go entirely (width 0). Only then do the protected ones shrink, and go (never the most
    important one). So the verdicts are the last to go."""
    widths = list(preferred)
    top = max(priority, default=0) if protect is None else protect
    order = sorted(range(len(widths)), key=lambda i: priority[i])  # least important first
    weak = [i for i in order if priority[i] < top]
    strong = [i for i in order if priority[i] >= top]

    def total() -> int:
        return sum(w + gap for w in widths if w)

    def grow(limit: list[int]) -> None:  # the most important first
        for i in reversed(order):
            free = available - total()
            if free <= 0:
                return
            if widths[i]:
                widths[i] += min(free, max(0, limit[i] - widths[i]))

    def give_way(columns: list[int], drop: bool) -> None:
        for i in columns:
            if total() <= available:
                return
            widths[i] = 0 if drop else max(minimum[i], widths[i] - (total() - available))

    grow(natural)
    give_way(weak, drop=False)
    give_way(weak, drop=True)
    give_way(strong, drop=False)
    give_way(strong[:-1], drop=True)
    grow(preferred)  # what the dropped columns left, back to the shrunk ones
    grow(natural)
    return widths


def bool_word(value, yes: str = "yes", no: str = "no") -> Text:
    if value is True:
        return Text(yes, style=tone("ok"))
    if value is False:
        return Text(no, style="dim")
    return or_unknown(value)


def state_style(state: str) -> str:
    if state.startswith("ok"):
        return tone("ok")
    if state.startswith("error"):
        return tone("blocked", bold=True)
    return tone("unknown")


def record_outputs(snapshot, prefix: str = "") -> dict:
    """What the records named ``prefix…`` said (not how long they took): two snapshots with the
    same outputs give the same facts, so a refresh that read the same can leave a view alone."""
    return {
        n: (r.argv, r.stdout, r.stderr, r.exit_code, r.error)
        for n, r in snapshot.records.items()
        if n.startswith(prefix)
    }


# Colours come from the running app's theme ($success, $error, $warning, $accent, $secondary,
# $primary), so every theme draws verdicts in its own colours; outside an app (a Rich console in a
# test) the named colours stand in. The headless outputs (check, report) use vocabulary.VERDICT_STYLES.
TONES = {
    "ok": "success",
    "blocked": "error",
    "unknown": "warning",
    "assumed": "accent",
    "key": "accent",  # a key or a label to act on ("fix:")
    "note": "secondary",  # caveats, firewalld
    "tag": "primary",
}
NAMED = {
    "success": "green",
    "error": "red",
    "warning": "yellow",
    "accent": "cyan",
    "secondary": "magenta",
    "primary": "blue",
}
VERDICT_TONES = {
    "allow": "ok",
    "drop": "blocked",
    "reject": "blocked",
    "no-listener": "blocked",
    "unknown": "unknown",
    "assumed": "assumed",
}


def tone(name: str, bold: bool = False) -> str:
    """The Rich style of a tone (``TONES``) in the running app's theme."""
    from textual._context import active_app

    variable = TONES[name]
    try:
        color = active_app.get().theme_variables.get(variable) or NAMED[variable]
    except LookupError:
        color = NAMED[variable]
    return f"bold {color}" if bold else color


def verdict_style(verdict: str) -> str:
    """A verdict's style in the theme: blocking verdicts bold, not-applicable muted."""
    name = VERDICT_TONES.get(verdict)
    return tone(name, bold=name == "blocked") if name else "dim"
