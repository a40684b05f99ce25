"""The one rule for showing text other people control.

wsltui runs as root in the user's terminal and shows strings anyone can choose: process names of
every local user, rule names and comments, adapter names, whole snapshots from strangers. A
terminal obeys escape sequences wherever they appear (OSC 0 sets the window title, OSC 52 writes
the clipboard, CSI 8m hides the rest, C1 0x9b is a one-byte CSI), and bidi overrides make text
read differently from what it is. So every string that reaches an output passes ``shown``, which
makes those characters visible as escapes (ESC is shown as ``\\x1b``, U+202E as ``\\u202e``).

Where it is applied (at the output boundaries; facts and the journal keep the true data):

- text on a terminal: every Rich console comes from ``views.console.make_console``, which runs
  ``safe_rich.safe_renderable`` over everything printed;
- Markdown: ``shown(document, multiline=True)`` over the finished document;
- JSON: ``json_text`` (C0 is escaped by ``json`` itself; C1, bidi and lone surrogates here);
- the app: ``safe_rich.safe_renderable`` on every Static, table cell and tree label (``tui.safe_static``,
  ``tui.panels.tables``), and notifications without markup; ``shown`` on the commands copied to
  the clipboard. The SVG screenshot is the app's rendering, so it is clean too;
- messages on stderr: ``shown``.

Backslashes are left alone (Windows paths are full of them), so ``\\x1b`` in the data and an
escaped ESC look the same: the point is that nothing reaches the terminal that it would obey.

Rich objects are handled in ``views.safe_rich`` (the CLI core imports this module, never Rich).
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
    if text.isprintable():  # the common case, checked at C speed (all that is escaped is unprintable)
        return text
    return unsafe_pattern(multiline).sub(_escape, text)


def json_text(doc, indent: int | None = 1) -> str:
    """``doc`` as JSON for output: non-ASCII text stays readable, but C1 controls, bidi controls
    and lone surrogates are ``\\u`` escapes (the same data for a JSON reader, inert on a screen)."""
    return inert_json(json.dumps(doc, indent=indent, ensure_ascii=False, default=str))


def inert_json(text: str) -> str:
    """JSON text (``ensure_ascii=False``) with C1, bidi controls and lone surrogates ``\\u``-escaped."""
    if text.isascii():  # the common case, checked at C speed
        return text
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def unsafe_pattern(multiline: bool = False) -> re.Pattern:
    """What ``shown`` escapes, for code that must find it (``safe_rich`` keeps styles around it)."""
    return _UNSAFE_MULTILINE if multiline else _UNSAFE
