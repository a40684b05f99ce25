"""Commands a person copies: a box whose commands can be selected one at a time (j/k) and
copied alone (``c``), and the copy itself.

A command is drawn on one logical line: when it is longer than the box, the terminal shows it
wrapped under its own start (never back at column 1), and ``c`` copies exactly the command, as
one line. The copy goes to the Windows clipboard through ``clip.exe`` (interop, through the
runner) when there is one, else to the terminal's clipboard (OSC 52, ``App.copy_to_clipboard``;
Windows Terminal and most terminals accept it).
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.geometry import Region

from wsltui.tui.messages import Copied
from wsltui.tui.safe_static import SafeStatic
from wsltui.views.safe_text import shown

SELECTED_STYLE = "bold reverse"
MARK = "▶"  # before the selected command


def command_line(prefix: str, command: str, selected: bool = False, style: str = "bold") -> Table:
    """``prefix`` then ``command``; a long command wraps under its own first character."""
    grid = Table.grid(padding=0)
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1)
    mark = MARK if selected else " "
    grid.add_row(
        Text(mark + prefix[1:] if prefix.startswith(" ") else prefix),
        Text(command, style=SELECTED_STYLE if selected else style),
    )
    return grid


COMMAND_PREFIXES = ("     run:  ", "     undo: ", "    $ ")  # the command lines of Plan.describe()


def command_lines(described: str) -> tuple[Callable[[int | None], RenderableType], list[str]]:
    """A plan as ``Plan.describe()`` words it: (draw, its commands), for a ``CommandBox``."""
    lines = described.splitlines()
    commands: list[str] = []
    where: dict[int, tuple[str, int]] = {}  # line -> (prefix, command index)
    for n, line in enumerate(lines):
        prefix = next((p for p in COMMAND_PREFIXES if line.startswith(p)), None)
        if prefix is not None:
            where[n] = (prefix, len(commands))
            commands.append(line[len(prefix) :])

    def draw(selected: int | None) -> Group:
        return Group(
            *(
                command_line(where[n][0], commands[where[n][1]], selected == where[n][1], style="")
                if n in where
                else Text(line)
                for n, line in enumerate(lines)
            )
        )

    return draw, commands


class CommandBox(SafeStatic, can_focus=True):
    """A focusable box drawn by ``draw(selected)`` (the index of the selected command among
    ``commands``, or None), so that the selection is drawn where the command is."""

    BINDINGS = [
        Binding(
            "c", "copy", "Copy", id="copy-command", tooltip="Copy the selected command (j/k select one) as one line"
        )
    ]

    def __init__(self, draw: Callable[[int | None], RenderableType], commands: list[str], **kwargs) -> None:
        super().__init__(draw(None), **kwargs)
        self._draw = draw
        self.commands = commands
        self.cursor: int | None = None

    def set_content(self, draw: Callable[[int | None], RenderableType], commands: list[str]) -> None:
        """New content in place (a refresh): the selection stays on the same command if it is still there."""
        kept = self.commands[self.cursor] if self.cursor is not None and self.cursor < len(self.commands) else None
        self._draw, self.commands = draw, commands
        self.cursor = commands.index(kept) if kept in commands else None
        self.update(draw(self.cursor))

    def move(self, delta: int) -> bool:
        """Select the next (previous) command; False at the end (start): the caller moves on."""
        if not self.commands:
            return False
        if self.cursor is None:
            if delta < 0:
                return False
            i = 0
        else:
            i = self.cursor + delta
        if i >= len(self.commands):
            return False
        self.cursor = None if i < 0 else i
        self.update(self._draw(self.cursor))
        self.call_after_refresh(self._show_selected)
        return True

    def _show_selected(self) -> None:
        """Scroll the box's container so that the selected command is in view (a box may be
        taller than the screen)."""
        container = self.parent
        if self.cursor is None or not isinstance(container, ScrollableContainer):
            return
        console = self.app.console
        options = console.options.update_width(self.content_size.width)
        plain, selected = (console.render_lines(self._draw(c), options, pad=False) for c in (None, self.cursor))
        rows = [n for n, (a, b) in enumerate(zip(plain, selected)) if a != b]  # the selected command's lines
        if rows:
            top = self.virtual_region.y + self.styles.gutter.top + rows[0]
            container.scroll_to_region(Region(0, top, 1, rows[-1] - rows[0] + 1), animate=False)

    def enter_from_below(self) -> None:
        """Focused by k from the box below: select its last command."""
        self.cursor = len(self.commands) - 1 if self.commands else None
        self.update(self._draw(self.cursor))
        self.call_after_refresh(self._show_selected)

    def on_blur(self) -> None:
        if self.cursor is not None:
            self.cursor = None
            self.update(self._draw(None))

    def selected_command(self) -> str | None:
        if self.cursor is not None:
            return self.commands[self.cursor]
        return None

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "copy":
            return bool(self.commands)
        return True

    def action_copy(self) -> None:
        if not self.commands:
            return
        if self.cursor is None:  # the box itself: its first command, selected so that it is seen
            self.move(1)
        copy_command(self.app, self.commands[self.cursor])


def copy_command(app, command: str, multiline: bool = False) -> None:
    """Copy ``command`` (one line, unless ``multiline``: a whole plan): clip.exe in a worker (it
    starts a Windows process), else OSC 52 on the UI thread (``Copied`` carries the outcome back)."""
    text = shown(command, multiline=multiline)  # pasted into a shell: no control character it would obey

    def job() -> None:
        from wsltui.actions import copy_to_clipboard

        record = copy_to_clipboard(text)
        app.post_message(Copied(text, record.ok, record.error or (record.stderr or "").strip()))

    app.run_worker(job, name="copy", group="copy", thread=True, exclusive=True, exit_on_error=False)


def finish_copy(app, msg: Copied) -> None:
    """On the UI thread: where clip.exe did not take it, the terminal's clipboard does."""
    what = msg.text if "\n" not in msg.text.rstrip("\n") else f"{msg.text.count(chr(10))} lines"
    if msg.ok:
        app.notify(f"copied to the Windows clipboard: {what}", title="Copy", timeout=4)
        return
    app.copy_to_clipboard(msg.text)
    app.notify(
        f"copied through the terminal (OSC 52; clip.exe: {msg.why or 'not available'}): {what}", title="Copy", timeout=6
    )
