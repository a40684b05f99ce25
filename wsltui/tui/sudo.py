"""The sudo password dialog: some probes need root and ``sudo -n`` refused to prompt. The
password is asked once and handed to ``sudo -S -v`` on its stdin (``runner.sudo_validate``),
which refreshes sudo's timestamp; the probes' own ``sudo -n`` calls then run without a prompt.

The password is never stored, logged or shown: the input is cleared as soon as it is read, the
worker passes it straight to the runner and drops it, and no message or notification carries
it. (A Python string cannot be wiped from memory; it is garbage once the call returns.)
"""

from __future__ import annotations

from wsltui.tui.render import tone

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from wsltui.tui.safe_static import SafeStatic


class SudoScreen(ModalScreen[bool]):
    """Dismissed with True once sudo accepted the password, False when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    @dataclass
    class Checked(Message):
        """What ``sudo -S -v`` said (never the password)."""

        ok: bool
        why: str

    def __init__(self, probes: list[str]) -> None:
        super().__init__()
        self.probes = probes

    def compose(self):
        with Vertical(id="sudo-box"):
            yield SafeStatic(
                Text.assemble(
                    ("sudo password\n\n", "bold"),
                    f"These probes need root and sudo would ask for a password: {', '.join(self.probes)}.\n",
                    ("wsltui gives it to `sudo -S -v` once, to refresh sudo's timestamp, and does not keep it.", "dim"),
                )
            )
            yield Input(password=True, placeholder="password (enter: send, esc: cancel)", id="sudo-password")
            yield SafeStatic(id="sudo-status")

    def on_mount(self) -> None:
        self.query_one("#sudo-password", Input).focus()

    @on(Input.Submitted, "#sudo-password")
    def _submitted(self, event: Input.Submitted) -> None:
        box = event.input
        if not box.value:
            return
        password = box.value.encode()
        box.value = ""  # the only copy left is the one on its way to sudo
        box.disabled = True
        self.query_one("#sudo-status", Static).update(Text("asking sudo…", style=tone("unknown")))
        self._validate(password)

    def _validate(self, password: bytes) -> None:
        handed = [password]  # emptied by the worker: the finished worker keeps no copy

        def job() -> None:
            from wsltui.probes.runner import sudo_validate

            record = sudo_validate(handed.pop())
            if get_current_worker().is_cancelled:
                return
            why = record.error or (record.stderr.strip().splitlines() or [f"sudo exited {record.exit_code}"])[-1]
            self.post_message(self.Checked(record.ok, why))

        self.run_worker(job, name="sudo", group="sudo", thread=True, exclusive=True, exit_on_error=False)

    @on(Checked)
    def _checked(self, msg: Checked) -> None:
        if msg.ok:
            self.dismiss(True)
            return
        box = self.query_one("#sudo-password", Input)
        box.disabled = False
        box.focus()
        self.query_one("#sudo-status", Static).update(Text(f"sudo said: {msg.why}", style=tone("blocked", bold=True)))

    def action_cancel(self) -> None:
        self.dismiss(False)
