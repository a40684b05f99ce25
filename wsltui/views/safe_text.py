"""The one rule for showing text other people control.

wsltui runs as root in the user's terminal and shows strings anyone can choose: process names of
every local user, rule names and comments, adapter names, whole snapshots from strangers. A
terminal obeys escape sequences wherever they appear (OSC 0 sets the window title, OSC 52 writes
the clipboard, CSI 8m hides the rest, C1 0x9b is a one-byte CSI), and bidi overrides make text
read differently from what it is. So every string that reaches an output passes ``shown``, which
makes those characters visible as escapes (ESC is shown as ``\\x1b``, U+202E as ``\\u202e``).

Where it is applied (at the output boundaries; facts and the journal keep the true data):

- text on a terminal: every Rich console comes from ``views.console.make_console``, which runs
  ``safe_renderable`` over everything printed;
- Markdown: ``shown(document, multiline=True)`` over the finished document;
- JSON: ``json_text`` (C0 is escaped by ``json`` itself; C1, bidi and lone surrogates here);
- the app: ``safe_renderable`` on every Static, table cell and tree label (``tui.safe_static``,
  ``tui.panels.tables``), and notifications without markup; ``shown`` on the commands copied to
  the clipboard. The SVG screenshot is the app's rendering, so it is clean too;
- messages on stderr: ``shown``.

Backslashes are left alone (Windows paths are full of them), so ``\\x1b`` in the data and an
escaped ESC look the same: the point is that nothing reaches the terminal that it would obey.

Rich is imported only by the functions that take Rich objects: the CLI core imports this module.
"""

from __future__ import annotations

import json
import re

# C0 controls, DEL and C1 controls; the Arabic letter mark, LRM/RLM, the line and paragraph
# separators, the bidi embeddings/overrides (U+202A-U+202E) and isolates (U+2066-U+2069); lone
# surrogates (undecodable bytes kept by surrogateescape) which cannot even be encoded to UTF-8.
_BIDI_AND_SURROGATES = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_AND_SURROGATES}]")
_UNSAFE_MULTILINE = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI_AND_SURROGATES}]")  # keeps \n
_UNSAFE_IN_JSON = re.compile(f"[\x7f-\x9f{_BIDI_AND_SURROGATES}]")  # json.dumps escapes C0 itself


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: str, multiline: bool = False) -> str:
    """``text`` with every character a terminal would obey (or that reorders what is read) made
    visible as ``\\xNN`` / ``\\uNNNN``. ``multiline`` keeps line feeds; tabs and carriage returns
    are always escaped (a carriage return lets a line overwrite itself)."""
    return (_UNSAFE_MULTILINE if multiline else _UNSAFE).sub(_escape, text)


def json_text(doc, indent: int | None = 1) -> str:
    """``doc`` as JSON for output: non-ASCII text stays readable, but C1 controls, bidi controls
    and lone surrogates are ``\\u`` escapes (the same data for a JSON reader, inert on a screen)."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}",
                               json.dumps(doc, indent=indent, ensure_ascii=False, default=str))


def shown_text(text, multiline: bool = True):
    """A ``rich.text.Text`` with ``shown`` applied, its styles kept (an escaped character keeps the
    style it had)."""
    pattern = _UNSAFE_MULTILINE if multiline else _UNSAFE
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
    them stays a ``str`` with its markup escaped, so Rich lays it out and styles it as before).
    Other renderables are returned as they are: they carry no text of their own.
    ``multiline=False`` for a one-line cell or label: line feeds are escaped too."""
    from rich.text import Text

    if isinstance(renderable, str):
        return Text(shown(renderable, multiline))
    return _walk(renderable, multiline)


def _walk(renderable, multiline: bool):
    from rich.console import Group
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    def inner(part):
        return escape(shown(part, multiline)) if isinstance(part, str) else _walk(part, multiline)

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
