#!/usr/bin/env python3
"""Regenerate screenshots/<panel>.svg and .png for every panel on the default demo.

The app renders itself headlessly (no terminal needed); PNGs go through rsvg-convert with the
installed Fira Code font. ``xml:space="preserve"`` is added for the PNG only: rsvg-convert 2.54
otherwise drops the spaces at the start of each text run (cell padding, aligned columns).

    python scripts/screenshots.py [--demo NAME] [--size 120x30] [--out screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wsltui import demos  # noqa: E402
from wsltui.tui.app import PANELS, demo_source, make_app  # noqa: E402
from wsltui.tui.report import wait_until_ready  # noqa: E402


async def shoot(demo: str, size: tuple[int, int], out: Path) -> list[Path]:
    app = make_app(demo_source(demo), demo=demo)
    written = []
    async with app.run_test(size=size) as pilot:
        await wait_until_ready(pilot)
        for panel in PANELS:
            app.action_panel(panel.KEY)
            await pilot.pause()
            await wait_until_ready(pilot)
            await pilot.pause()
            path = out / f"{panel.KEY}.svg"
            path.write_text(app.export_screenshot(title=f"wsltui — {panel.TITLE}"), encoding="utf-8")
            written.append(path)
    return written


def to_png(svg: Path, width: int = 1400) -> Path | None:
    if shutil.which("rsvg-convert") is None:
        print("rsvg-convert not found (apt install librsvg2-bin): SVG only", file=sys.stderr)
        return None
    png = svg.with_suffix(".png")
    text = svg.read_text(encoding="utf-8").replace("<svg ", '<svg xml:space="preserve" ', 1)
    subprocess.run(["rsvg-convert", "-w", str(width), "-o", str(png)], input=text.encode(), check=True)
    return png


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--demo", default=demos.DEFAULT)
    p.add_argument("--size", default="120x30")  # Windows Terminal's default: the design size
    p.add_argument("--out", default=str(ROOT / "screenshots"))
    args = p.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for svg in asyncio.run(shoot(args.demo, (cols, rows), out)):
        png = to_png(svg)
        print(f"{svg}" + (f"  {png}" if png else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
