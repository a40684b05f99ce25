"""``views.safe_text.json_text(value)`` -- ``json.dumps(value, indent=1, ensure_ascii=False)`` with
C1 and bidi controls ``\\u``-escaped -- character for character, at a bounded cost.

The standard library writes indented JSON with its pure-Python encoder (the C one has no indent
before Python 3.14): every piece of text is passed up through one generator per nesting level,
and ``dumps`` keeps all of them in a list until the final join. A report of 5,000 listeners
(20,000 traces, 80 MB of JSON) spent about half its time there, and most of its 650 MB peak
was that list of small strings. Here one recursive function writes the pieces into a
``StringIO`` (no per-level generators, no list of millions of strings).

Only the plain JSON types take the fast path (``dict`` with ``str`` keys, ``list``, ``tuple``,
``str``, ``int``, ``float``, ``bool``, ``None``, exactly those types); anything else, a
subclass or a dict with other keys, is written by ``json.dumps`` itself and re-indented, so the
text is always the standard library's (made inert the same way).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any
from json.encoder import encode_basestring  # the C function json.dumps uses with ensure_ascii=False

from wsltui.views.safe_text import inert_json

_INFINITY = float("inf")


def dumps(value, convert: Callable[[Any], Any] | None = None) -> str:
    """The text ``json_text(value)`` returns (``json.dumps(value, indent=1, ensure_ascii=False)``, inert). ``convert``: what a
    value of any other type stands for, one level deep (``facts.jsonable_one_level``), applied
    as the writing goes, so the converted tree never exists as a whole."""
    out = io.StringIO()
    _write(value, 0, out.write, convert)
    return out.getvalue()


def dump(value, fp, convert: Callable[[Any], Any] | None = None) -> None:
    """``dumps`` written to the text file ``fp`` as it goes (no copy of the whole text in memory),
    in joined batches: a file's ``write`` per piece costs several times a list's ``append``."""
    batch: list[str] = []
    append = batch.append

    def write(piece: str) -> None:
        append(piece)
        if len(batch) >= 16384:
            fp.write("".join(batch))
            batch.clear()

    _write(value, 0, write, convert)
    fp.write("".join(batch))


def _float(f: float) -> str:
    if f != f:
        return "NaN"
    if f == _INFINITY:
        return "Infinity"
    if f == -_INFINITY:
        return "-Infinity"
    return float.__repr__(f)


def _write(o, level: int, write, convert) -> None:
    t = type(o)
    if t is str:
        write(inert_json(encode_basestring(o)))
    elif o is None:
        write("null")
    elif o is True:
        write("true")
    elif o is False:
        write("false")
    elif t is int:
        write(int.__repr__(o))
    elif t is float:
        write(_float(o))
    elif t is dict and all(type(k) is str for k in o):
        if not o:
            write("{}")
            return
        inner = "\n" + " " * (level + 1)
        opening = "{" + inner
        between = "," + inner
        for k, v in o.items():
            write(opening + inert_json(encode_basestring(k)) + ": ")
            opening = between
            _write(v, level + 1, write, convert)
        write("\n" + " " * level + "}")
    elif t is list or t is tuple:
        if not o:
            write("[]")
            return
        inner = "\n" + " " * (level + 1)
        opening = "[" + inner
        between = "," + inner
        for v in o:
            write(opening)
            opening = between
            _write(v, level + 1, write, convert)
        write("\n" + " " * level + "]")
    elif convert is not None and (converted := convert(o)) is not o:
        _write(converted, level, write, convert)
    else:  # anything unusual: the standard library's own text, indented to this level
        write(inert_json(json.dumps(o, indent=1, ensure_ascii=False)).replace("\n", "\n" + " " * level))
