"""Render the status screen to an SVG with no terminal: the app runs headless, waits for its
sources and analysis, saves a screenshot and exits. Redacted, every line of the screen goes
through the snapshot's ``wsltui.redact.Redactor`` before it is drawn into the SVG."""

from __future__ import annotations

import asyncio
import io
import os

from wsltui import safe_files


async def wait_until_ready(pilot, timeout: float = 60.0) -> None:
    """Until every source finished and the analysis (if any) is on screen."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline and not app.settled:
        await pilot.pause(0.02)
    await pilot.pause()


def render_status(sources, output: str, *, size=(100, 30), ports=(), demo=None, label="", panel="status",
                  redact: bool = False) -> str | None:
    """Write the ``panel`` screen of the app over ``sources`` to ``output`` (SVG), redacted with
    ``redact``. Returns an error message, or None."""
    from wsltui.tui.app import make_app

    app = make_app(sources, demo=demo, ports=ports, label=label)
    result: dict[str, str] = {}

    async def auto_pilot(pilot) -> None:
        try:
            await wait_until_ready(pilot)
            app.action_panel(panel)
            await pilot.pause()
            if redact:
                if app.analysis is None:
                    result["error"] = "nothing to redact: the data did not load"
                    return
                from wsltui.redact import Redactor

                svg = redacted_screenshot(app, Redactor.for_snapshot(app.analysis.snapshot), f"wsltui {panel}")
            else:
                svg = app.export_screenshot(title=f"wsltui {panel}")
            # never through a link; 0600 unless the screen was redacted
            safe_files.replace(output, svg, mode=0o644 if redact else 0o600)
        except OSError as e:
            result["error"] = f"{output}: {e.strerror}"
        finally:
            app.exit()

    app.run(headless=True, size=size, auto_pilot=auto_pilot)
    if "error" not in result and not os.path.exists(output):
        result["error"] = "the report could not be rendered"
    return result.get("error")


def redacted_screenshot(app, redactor, title: str) -> str:
    """``App.export_screenshot`` of the current screen, each line redacted before it is drawn."""
    from rich.segment import Segment, Segments

    from wsltui.views.console import make_console

    width, height = app.size
    console = make_console(width=width, height=height, file=io.StringIO(), force_terminal=True, color_system="truecolor",
                           record=True, legacy_windows=False, safe_box=False)
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    segments: list = []
    for n, line in enumerate(update.strips):
        if n:
            segments.append(Segment.line())
        segments += redact_line([seg for strip in line for seg in strip], redactor)
    console.print(Segments(segments))
    return console.export_svg(title=title)


def redact_line(segments: list, redactor) -> list:
    """One screen line's segments, redacted: span by span (keeping the styles) when that gives
    the same text as redacting the whole line, else the whole line as one span (a value split
    across styles, such as a highlighted part of a name, must not survive in pieces)."""
    from rich.segment import Segment

    shown = "".join(s.text for s in segments if not s.control)
    whole = redactor.text(shown)
    if whole == shown:
        return segments
    each = [s if s.control else Segment(redactor.text(s.text), s.style) for s in segments]
    if "".join(s.text for s in each if not s.control) == whole:
        return each
    return [Segment(whole, next((s.style for s in segments if not s.control), None))]
