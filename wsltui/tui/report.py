"""Render the status screen to an SVG with no terminal: the app runs headless, waits for its
sources and analysis, saves a screenshot and exits."""

from __future__ import annotations

import asyncio
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


def render_status(sources, output: str, *, size=(100, 30), ports=(), demo=None, label="", panel="status") -> str | None:
    """Write the ``panel`` screen of the app over ``sources`` to ``output`` (SVG). Returns an
    error message, or None."""
    from wsltui.tui.app import make_app

    app = make_app(sources, demo=demo, ports=ports, label=label)
    result: dict[str, str] = {}

    async def auto_pilot(pilot) -> None:
        try:
            await wait_until_ready(pilot)
            app.action_panel(panel)
            await pilot.pause()
            svg = app.export_screenshot(title=f"wsltui {panel}")
            safe_files.replace(output, svg)  # the unredacted screen: 0600; never through a link
        except OSError as e:
            result["error"] = f"{output}: {e.strerror}"
        finally:
            app.exit()

    app.run(headless=True, size=size, auto_pilot=auto_pilot)
    if "error" not in result and not os.path.exists(output):
        result["error"] = "the report could not be rendered"
    return result.get("error")
