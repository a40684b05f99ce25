"""The one Rich console every text view prints through."""

from __future__ import annotations

import os

from rich.console import Console


def make_console() -> Console:
    """Rich's NO_COLOR drops colours but keeps bold/dim escapes; no-color.org asks for none, so
    NO_COLOR turns styling off entirely. Piped output is plain without it (Rich sees no tty)."""
    plain = os.environ.get("NO_COLOR", "") != ""
    return Console(highlight=False, soft_wrap=True, **({"color_system": None} if plain else {}))
