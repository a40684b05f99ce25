"""Messages that worker threads post to the UI. Their payloads are never mutated afterwards."""

from __future__ import annotations

from textual.message import Message


class SourceLoaded(Message):
    """One source (a demo, a file, the Linux probes, the Windows probes) finished."""

    def __init__(self, name: str, generation: int, snapshot=None, error: str | None = None, seconds: float = 0.0):
        super().__init__()
        self.name = name
        self.generation = generation
        self.snapshot = snapshot
        self.error = error
        self.seconds = seconds


class Analyzed(Message):
    """Facts and traces for the snapshots loaded so far."""

    def __init__(self, generation: int, analysis=None, error: str | None = None):
        super().__init__()
        self.generation = generation
        self.analysis = analysis
        self.error = error


class OpenFlow(Message):
    """A listener was chosen (enter on the sockets table): trace it in the Flow panel."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


class PlanBuilt(Message):
    """A change plan to show (wsltui/tui/changes.py), or why none could be made (``error``)."""

    def __init__(self, plan=None, error: str = "", what: str = "") -> None:
        super().__init__()
        self.plan = plan
        self.error = error
        self.what = what  # the action, for the dialog's title


class Written(Message):
    """Files the app wrote for a support ticket (`w`), or why it could not."""

    def __init__(self, paths: list[str], error: str = "") -> None:
        super().__init__()
        self.paths = paths
        self.error = error


class LiveTested(Message):
    """A live test finished (``wsltui.live.run_live`` in a worker): its observation and record, or
    why it could not run (``error``). ``key``: (scenario, port, proto)."""

    def __init__(self, key: tuple, observation=None, record=None, error: str = "") -> None:
        super().__init__()
        self.key = key
        self.observation = observation
        self.record = record
        self.error = error


class Copied(Message):
    """A command was given to clip.exe (``ok``), or could not be (``why``): then OSC 52 takes it."""

    def __init__(self, text: str, ok: bool, why: str = "") -> None:
        super().__init__()
        self.text = text
        self.ok = ok
        self.why = why
