"""``SafeStatic``: the app's Static for anything that may hold data. Its content passes
``views.safe_rich.safe_renderable`` (control characters and bidi overrides as visible escapes,
strings as literal text, never Textual or Rich markup), so a process named ``[/]`` or with an
OSC 52 sequence is shown as what it is. Tables and trees do the same (``panels.tables``), and
the app's notifications carry no markup (``WslTuiApp.notify``)."""

from __future__ import annotations

from textual.widgets import Static

from wsltui.views.safe_rich import safe_renderable


class SafeStatic(Static):
    def __init__(self, content="", **kwargs) -> None:
        super().__init__(safe_renderable(content), markup=False, **kwargs)

    def update(self, content="", *, layout: bool = True) -> None:
        super().update(safe_renderable(content), layout=layout)
