"""``views.safe_text.shown`` applied to Rich objects: ``Text`` keeps its styles, a ``str`` is
never read as markup, tables, groups and panels are walked. Used by every console
(``views.console``) and by the app's widgets (``tui.safe_static``, ``tui.panels.tables``)."""

from __future__ import annotations

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from wsltui.views.safe_text import shown, unsafe_pattern


def shown_text(text: Text, multiline: bool = True) -> Text:
    """A ``rich.text.Text`` with ``shown`` applied, its styles kept (an escaped character keeps the
    style it had)."""
    pattern = unsafe_pattern(multiline)
    if pattern.search(text.plain) is None:
        return text
    offsets = sorted({o for m in pattern.finditer(text.plain) for o in (m.start(), m.end())})
    out = text.blank_copy()
    for piece in text.divide(offsets):
        if pattern.fullmatch(piece.plain):
            escaped = piece.blank_copy(shown(piece.plain))
            for span in piece.spans:
                escaped.stylize(span.style, 0, len(escaped))
            piece = escaped
        out.append_text(piece)
    return out


def safe_renderable(renderable, multiline: bool = True):
    """``renderable`` with every piece of text in it passed through ``shown``, and never read as
    markup (so ``[/]`` in a process name is text, not a crash): a ``str`` becomes a literal
    ``Text``, ``Text`` keeps its styles, tables, groups and panels are walked (a ``str`` inside
    them stays a ``str`` with its markup escaped, so Rich lays it out and styles it as before,
    and its line feeds escaped).
    Other renderables are returned as they are: they carry no text of their own.
    ``multiline=False`` for a one-line cell or label: line feeds are escaped too."""
    if isinstance(renderable, str):
        return Text(shown(renderable, multiline))
    return _walk(renderable, multiline)


def _walk(renderable, multiline: bool):
    def inner(part):  # a str in a table cell, title or group is one line: no data line can fake a row
        return escape(shown(part)) if isinstance(part, str) else _walk(part, multiline)

    if isinstance(renderable, Text):
        return shown_text(renderable, multiline)
    if isinstance(renderable, Group):
        return Group(*map(inner, renderable.renderables), fit=renderable.fit)
    if isinstance(renderable, Table):
        for column in renderable.columns:
            column.header, column.footer = inner(column.header), inner(column.footer)
            column._cells[:] = map(inner, column._cells)  # (Rich has no public way to replace cells)
        renderable.title, renderable.caption = inner(renderable.title), inner(renderable.caption)
        return renderable
    if isinstance(renderable, Panel):
        renderable.renderable = inner(renderable.renderable)
        renderable.title, renderable.subtitle = inner(renderable.title), inner(renderable.subtitle)
        return renderable
    return renderable
