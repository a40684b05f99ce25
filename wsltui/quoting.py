"""Quoting for commands a person reads, copies or pastes, built like commands a machine runs.

One place for the quoting rules of the two shells wsltui prints commands for:

- POSIX shells: ``shlex.quote`` per argument (``posix``).
- PowerShell: a single-quoted literal in which every character PowerShell treats as a single
  quote (``'`` and the typographic U+2018, U+2019, U+201A, U+201B) is doubled (``ps_quote``).
  Control characters are refused: a newline would end the statement, and no quoting makes a
  console paste of one safe.

"Control characters" (``has_controls``) are C0, DEL and C1, and also the characters that make
a command read differently from what runs: the line and paragraph separators U+2028/U+2029
(line breaks to many editors and to Python's ``splitlines``) and the bidirectional controls
(U+200E/U+200F, U+202A-U+202E, U+2066-U+2069: "Trojan Source", CVE-2021-42574).

Pure: no I/O, no Textual.
"""

from __future__ import annotations

import re
import shlex

PS_QUOTES = "'\u2018\u2019\u201a\u201b"
_PS_QUOTE = re.compile(f"[{PS_QUOTES}]")


class UnsafeValue(ValueError):
    """A value that cannot be put into a command safely (control characters)."""


_INVISIBLE = "\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069"
# One regular expression, not a loop per character: every command of every fix is checked.
_CONTROLS = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}]")


def has_controls(value: str) -> bool:
    return _CONTROLS.search(value) is not None


def ps_quote(value: str) -> str:
    """A PowerShell single-quoted literal for ``value``. Raises UnsafeValue on control characters."""
    if has_controls(value):
        raise UnsafeValue(f"refusing a value with control characters for PowerShell: {value!r}")
    return "'" + _PS_QUOTE.sub(lambda m: m.group(0) * 2, value) + "'"


def posix(argv: list[str]) -> str:
    """An argv list as one POSIX shell command line (``shlex.split`` gives ``argv`` back)."""
    return " ".join(shlex.quote(a) for a in argv)
