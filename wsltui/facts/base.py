"""What every fact has in common: it may be unknown, and it may be partly not understood.

Parsers are pure functions ``text -> Facts`` that never raise. When a whole fact cannot be known
(the record is missing, the command failed, needs root) the fact carries an ``Unknown`` with the
reason and the command that would tell. When only parts of the input were not understood, the
fact lists them in ``problems`` and everything else is still used.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from wsltui.snapshot import Record


NOT_CAPTURED = "not captured in this snapshot"  # the reason of a record the snapshot does not hold


@dataclass(frozen=True)
class Unknown:
    reason: str
    command: str = ""  # the command that would tell

    def __str__(self) -> str:
        return f"unknown: {self.reason}" + (f" (run: {self.command})" if self.command else "")


def usable_record(
    record: Record | None, command: str, *, accept_exit_codes: tuple[int, ...] = (0,)
) -> Record | Unknown:
    """The record when it can be used, else why not. ``command`` is what a person would run to
    get the record by hand (used when the record was not captured at all)."""
    if record is None:
        return Unknown(NOT_CAPTURED, command)
    cmd = record.command or command
    if record.error:
        return Unknown(record.error, cmd)
    if record.exit_code not in accept_exit_codes:
        detail = first_line(record.stderr) or first_line(record.stdout)
        return Unknown(f"exit code {record.exit_code}" + (f": {detail}" if detail else ""), cmd)
    return record


def lines(text: str) -> list[str]:
    """The lines of a tool's output: split at line feeds only (a trailing CR dropped).
    ``str.splitlines`` also splits at U+001C-U+001E, U+0085 and U+2028/U+2029, which a process
    name or a rule comment may hold: its line would be cut in two and its owner lost."""
    return [l[:-1] if l.endswith("\r") else l for l in text.split("\n")]


def first_line(text: str, limit: int = 200) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line[:limit]
    return ""


@contextmanager
def building_many_objects() -> Iterator[None]:
    """Pause the cyclic garbage collector while a parser or compiler builds a big tree of
    (acyclic) objects, then move them out of its reach with ``gc.freeze()``. Without this, the
    collector rescans the growing tree again and again: 100k rules took 3x as long. Reference
    counting still frees these objects when they are dropped."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
