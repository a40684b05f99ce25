"""Ticket-ready output: the headless SVG (``report --format svg``) is the content only, grows
until the whole content fits, and is redacted on request; Markdown puts each command in the
fence of its shell."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from wsltui.tui.app import demo_source
from wsltui.tui.report import render_status

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from bench_large_inputs import listeners_snapshot  # noqa: E402


def svg_text(path: Path) -> str:
    import html

    return html.unescape("".join(re.findall(r">([^<]*)</text>", path.read_text()))).replace("\xa0", " ")


def svg_ports(path: Path) -> set[int]:
    """The TCP ports the image names: as a blocker's or an answer's tcp/PORT, or a listener's
    tcp ADDRESS:PORT."""
    return {int(p) for p in re.findall(r"tcp(?:/| \S*:)(\d+)", svg_text(path))}


def svg_rows(path: Path) -> int:
    """The number of terminal rows drawn (Rich writes one clip path per row)."""
    return len(re.findall(r'<clipPath id="[^"]*-line-\d+"', path.read_text()))


def test_headless_svg_is_the_content_only_and_chrome_on_request(tmp_path):
    plain, chrome = tmp_path / "plain.svg", tmp_path / "chrome.svg"
    assert (
        render_status(demo_source("nat-firewalld-reject"), str(plain), size=(120, 30), demo="nat-firewalld-reject")
        is None
    )
    assert (
        render_status(
            demo_source("nat-firewalld-reject"), str(chrome), size=(120, 30), demo="nat-firewalld-reject", chrome=True
        )
        is None
    )
    text, with_chrome = svg_text(plain), svg_text(chrome)
    assert "demo nat-firewalld-reject" in text and "demo nat-firewalld-reject" in with_chrome
    for chrome_only in ("Topology", "Help", "Quit"):  # the tabs and the footer
        assert chrome_only not in text and chrome_only in with_chrome, chrome_only


def test_headless_svg_grows_instead_of_cutting_a_long_list(tmp_path):
    snap = listeners_snapshot(tmp_path, 60)
    out = tmp_path / "many.svg"
    assert render_status(lambda: snap, str(out), size=(120, 30), label="many") is None
    ports = sorted(svg_ports(out))
    assert svg_rows(out) > 30
    from wsltui.facts import build_facts

    wanted = sorted({l.port for l in build_facts(snap).sockets.listeners if l.proto == "tcp"})
    assert wanted and set(wanted) <= set(ports), sorted(set(wanted) - set(ports))[:5]


def _fenced(md: str) -> list[tuple[str, list[str]]]:
    """(language, lines) of every fenced block of ``md``."""
    return [(lang, body.splitlines()) for lang, body in re.findall(r"^```(\w*)\n(.*?)\n```$", md, re.M | re.S)]


def test_markdown_puts_powershell_netsh_and_posix_commands_in_their_own_fences():
    from wsltui import demos, report
    from wsltui.report import shell_of

    seen = set()
    for name in demos.names():
        md = report.render(report.build(demos.load(name)), "md")
        for lang, lines in _fenced(md):
            if lang not in ("sh", "bat", "powershell"):  # the rules verbatim, the facts, the meta
                continue
            for line in lines:
                first = line.split(" ", 1)[0]
                if first.startswith(("New-Net", "Remove-Net", "Set-Net", "Enable-Net", "Disable-Net", "Get-Net")):
                    assert lang == "powershell", (name, line)
                elif first in ("netsh", "net"):
                    assert lang == "bat", (name, line)
                elif first in ("firewall-cmd", "ufw", "nft", "iptables", "iptables-nft", "iptables-legacy", "sudo"):
                    assert lang == "sh", (name, line)
            seen.add(lang)
    assert {"powershell", "bat", "sh"} <= seen
    assert shell_of("netsh interface portproxy show all", "windows") == "bat"
    assert shell_of("Get-NetFirewallRule", "windows") == "powershell"
    assert shell_of("nft list ruleset", "nft") == "sh"


def test_f8_on_a_panel_longer_than_the_screen_draws_all_of_it(tmp_path, monkeypatch):
    import asyncio

    from wsltui.facts import build_facts
    from wsltui.tui.app import make_app
    from wsltui.tui.report import content_cut, wait_until_ready

    monkeypatch.setenv("WSLTUI_SCREENSHOT_DIR", str(tmp_path))
    snap = listeners_snapshot(tmp_path, 60)
    app = make_app(lambda: snap, label="many")

    async def main():
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_until_ready(pilot)
            assert content_cut(app)  # 60 listeners do not fit in 30 rows
            await pilot.press("f8")
            for _ in range(500):
                await pilot.pause(0.02)
                if list(tmp_path.glob("wsltui-status-*.svg")):
                    break

    asyncio.run(main())
    (svg,) = tmp_path.glob("wsltui-status-*.svg")
    wanted = {l.port for l in build_facts(snap).sockets.listeners if l.proto == "tcp"}
    assert svg_rows(svg) > 30 and wanted <= svg_ports(svg)
    assert "Topology" not in svg_text(svg) and "many" in svg_text(svg)  # content only, the same source label
