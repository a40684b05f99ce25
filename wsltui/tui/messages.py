"""Messages that worker threads post to the UI: dataclasses with typed fields (Textual calls a
Message's ``__post_init__`` from the generated ``__init__``). Their payloads are never mutated
afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # (the UI's first frame does not wait for the core)
    from wsltui.actions import Plan, UndoPreview
    from wsltui.analysis import Analysis
    from wsltui.facts.live import Observation
    from wsltui.snapshot import Record, Snapshot
    from wsltui.tui.changes import Preview


@dataclass
class SourceLoaded(Message):
    """One source (a demo, a file, the Linux probes, the Windows probes) finished."""

    name: str
    generation: int
    snapshot: Snapshot | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class Analyzed(Message):
    """Facts and traces for the snapshots loaded so far."""

    generation: int
    analysis: Analysis | None = None
    error: str | None = None


@dataclass
class OpenFlow(Message):
    """A listener was chosen (enter on the sockets table): trace it in the Flow panel."""

    key: str


@dataclass
class PlanBuilt(Message):
    """A change plan to show (wsltui/tui/changes.py), or why none could be made (``error``)."""

    plan: Plan | UndoPreview | Preview | None = None
    error: str = ""
    what: str = ""  # the action, for the dialog's title


@dataclass
class Written(Message):
    """Files the app wrote for a support ticket (`w`), or why it could not."""

    paths: list[str]
    error: str = ""


@dataclass
class LiveTested(Message):
    """A live test finished (``wsltui.live.run_live`` in a worker): its observation and record, or
    why it could not run (``error``)."""

    key: tuple[str, int, str]  # (scenario, port, proto)
    observation: Observation | None = None
    record: Record | None = None
    error: str = ""


@dataclass
class Copied(Message):
    """A command was given to clip.exe (``ok``), or could not be (``why``): then OSC 52 takes it."""

    text: str
    ok: bool
    why: str = ""
