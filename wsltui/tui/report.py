"""Screenshots for a ticket: the content only (no toast, no footer or tabs unless ``chrome``),
redacted on request (every line of the screen goes through the snapshot's
``wsltui.redact.Redactor`` before it is drawn into the SVG). The app's f8 and the headless
``report --format svg`` (the app runs with no terminal, waits for its sources and analysis,
grows the screen until the panel's content fits, saves and exits) share this."""

from __future__ import annotations

import asyncio
import io

from wsltui import safe_files


async def wait_until_ready(pilot, timeout: float = 60.0) -> None:
    """Until every source finished and the analysis (if any) is on screen."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline and not app.settled:
        await pilot.pause(0.02)
    await pilot.pause()


MAX_ROWS = 2000  # a headless screenshot grows to its content, up to this many rows


def hide_chrome(app, chrome: bool = False) -> list:
    """Hide what is not content before a screenshot: the toasts (a screenshot once showed the
    previous toast over the panel) and, unless ``chrome``, the footer and the tabs. Returns the
    widgets to show again after it."""
    from textual.widgets import Footer, Tabs
    from textual.widgets._toast import ToastRack

    screen = app.main_screen
    hidden = [*screen.query(ToastRack), *(() if chrome else (*screen.query(Footer), *screen.query(Tabs)))]
    hidden = [w for w in hidden if w.display]
    for w in hidden:
        w.display = False
    return hidden


def screenshot_svg(app, title: str, redact: bool = False) -> str:
    """The screen as an SVG, redacted with ``redact`` (ValueError when nothing loaded to redact by)."""
    if not redact:
        return app.export_screenshot(title=title)
    if app.analysis is None:
        raise ValueError("nothing to redact: the data did not load")
    from wsltui.redact import Redactor

    return redacted_screenshot(app, Redactor.for_snapshot(app.analysis.snapshot), title)


async def grow_to_content(pilot, limit: int = MAX_ROWS) -> None:
    """Make the screen as tall as the active panel's content (a long blocker list is drawn whole,
    never cut), up to ``limit`` rows."""
    app = pilot.app
    for _ in range(8):  # nested scrolling areas may need a few rounds
        panel = app.panel(app.active_key)
        if panel is None:
            return
        extra = max((w.max_scroll_y for w in (panel, *panel.query("*")) if w.display), default=0)
        width, height = app.size
        if not extra or height >= limit:
            return
        await pilot.resize_terminal(width, min(limit, height + extra))
        await wait_until_ready(pilot)


def content_cut(app) -> bool:
    """The active panel's content is longer than the screen (something in it scrolls)."""
    panel = app.panel(app.active_key)
    return panel is not None and any(w.max_scroll_y > 0 for w in (panel, *panel.query("*")) if w.display)


def render_svg(
    sources,
    *,
    size=(120, 30),
    ports=(),
    demo=None,
    label="",
    panel="status",
    redact: bool = False,
    chrome: bool = False,
    flow: tuple | None = None,
    read_only: bool = False,
) -> str:
    """The ``panel`` screen of the app over ``sources`` as an SVG: the content only (with the
    footer and tabs when ``chrome``), ``size`` wide and as tall as it needs, redacted with
    ``redact``; ``flow``: the (scenario, port, proto) the Flow panel shows. Raises ValueError
    when there is nothing to draw."""
    from wsltui.tui.app import make_app

    app = make_app(sources, demo=demo, ports=ports, label=label, refresh=0, read_only=read_only)
    app.flow_request = flow
    result: dict[str, str] = {}

    async def auto_pilot(pilot) -> None:
        try:
            await wait_until_ready(pilot)
            app.action_panel(panel)
            await wait_until_ready(pilot)
            hide_chrome(app, chrome)
            await pilot.pause()
            await grow_to_content(pilot)
            result["svg"] = screenshot_svg(app, f"wsltui {panel}", redact)
        except ValueError as e:
            result["error"] = str(e)
        finally:
            app.exit()

    app.run(headless=True, size=size, auto_pilot=auto_pilot)
    if "svg" not in result:
        raise ValueError(result.get("error", "the screen could not be rendered"))
    return result["svg"]


def render_status(sources, output: str, *, redact: bool = False, **options) -> str | None:
    """Write :func:`render_svg` to ``output``. Returns an error message, or None."""
    try:
        svg = render_svg(sources, redact=redact, **options)
        # never through a link; 0600 unless the screen was redacted
        safe_files.replace(output, svg, mode=0o644 if redact else 0o600)
    except ValueError as e:
        return str(e)
    except OSError as e:
        return f"{output}: {e.strerror}"
    return None


def redacted_screenshot(app, redactor, title: str) -> str:
    """``App.export_screenshot`` of the current screen, each line redacted before it is drawn."""
    from rich.segment import Segment, Segments

    from wsltui.views.console import make_console

    width, height = app.size
    console = make_console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
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
