"""The one Rich console every text view prints through."""

from __future__ import annotations

import os

from rich.console import Console, RenderHook

from wsltui.views.safe_rich import safe_renderable


class _Shown(RenderHook):
    """Everything printed passes ``safe_rich.safe_renderable``: no control character or bidi
    override from the data reaches the terminal (Rich's own styles are added after this). The
    views print one line per call, so a line feed in the data is shown as ``\\x0a`` too: a
    process name cannot add a line that looks like wsltui's own."""

    def process_renderables(self, renderables):
        return [safe_renderable(r, multiline=False) for r in renderables]


def make_console(**options) -> Console:
    """Rich's NO_COLOR drops colours but keeps bold/dim escapes; no-color.org asks for none, so
    NO_COLOR turns styling off entirely. Piped output is plain without it (Rich sees no tty).
    ``options`` are Console's (a report renders into a buffer). Emoji codes such as ``:x:`` in
    the data stay text."""
    plain = os.environ.get("NO_COLOR", "") != ""
    settings = {"highlight": False, "soft_wrap": True, "emoji": False, **({"color_system": None} if plain else {})}
    console = Console(**{**settings, **options})
    console.push_render_hook(_Shown())
    return console
