"""Topology: Windows host → vEthernet (WSL) / mirrored interfaces → eth0 / loopback0 → listeners,
the effective vs requested mode, and the interop / systemd / firewalld / ufw state."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel as RichPanel
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from wsltui.tui.panels.base import Panel, VimScroll
from wsltui.tui.render import bool_word, is_unknown, or_unknown, unknown_text
from wsltui.tui.safe_static import SafeStatic

WINDOWS_COMMAND = "powershell.exe Get-NetConnectionProfile; Get-NetIPAddress"
ARROW = Text("        │\n        ▼", style="dim")


class TopologyPanel(Panel):
    def compose_body(self):
        with VimScroll(id="topology-scroll"):
            yield SafeStatic(id="topology-body")

    def main_widget(self):
        return self.query_one("#topology-scroll")

    def show(self, a) -> None:
        self.query_one("#topology-body", Static).update(render_topology(a))


def render_topology(a) -> Group:
    f = a.facts
    mode = a.world.mode
    net = f.network
    gw = getattr(net, "default_gateway_v4", None)
    mirrored = mode in ("mirrored", "consomme")

    win = getattr(f, "windows", None)
    win_body = Text()
    if win is None:
        win_body.append_text(unknown_text(f"unknown: no Windows data (run: {WINDOWS_COMMAND})", "adapters: "))
    else:
        win_body.append("Windows facts captured: see the Windows panel (8)")
    parts: list = [RichPanel(win_body, title="Windows host", title_align="left", border_style="blue", expand=False)]

    parts.append(ARROW)
    if mirrored:
        link = Text(f"{mode} networking: WSL mirrors the Windows interfaces; Windows 127.0.0.1 arrives on loopback0")
    elif mode in ("nat", "unknown"):
        link = Text(f"vEthernet (WSL) {gw or '?'}  ─ NAT virtual switch ─  WSL eth0")
        if mode == "unknown":
            link.append("  (mode unknown: NAT assumed)", style="yellow")
    else:
        link = Text(f"{mode} networking")
    parts.append(RichPanel(link, title="link", title_align="left", border_style="magenta", expand=False))

    parts.append(ARROW)
    parts.append(RichPanel(_vm(a), title="WSL2 VM", title_align="left", border_style="green", expand=False))
    parts.append(ARROW)
    parts.append(RichPanel(_listeners(a), title="listeners", title_align="left", border_style="cyan", expand=False))
    parts.append(Text())
    parts.append(_state(a))
    return Group(*parts)


def _vm(a) -> Table:
    f = a.facts
    net = f.network
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column()
    ifaces = getattr(net, "interfaces", None)
    if ifaces is None or is_unknown(ifaces):
        t.add_row("interfaces", or_unknown(ifaces))
        return t
    for i in ifaces:
        addrs = " ".join(f"{x.address}/{x.prefix}" for x in i.addresses) or "-"
        state = "up" if i.up else "down"
        t.add_row(i.name, Text.assemble(addrs, (f"  {state}", "green" if i.up else "dim")))
    return t


def _listeners(a) -> Text:
    if a.listeners_unknown is not None:
        return unknown_text(a.listeners_unknown)
    if not a.rows:
        return Text("none", style="dim")
    return Text("\n".join(f"{r.target.endpoint}  {r.target.process or '-'}  ({r.target.bind})" for r in a.rows))


def _state(a) -> Table:
    f = a.facts
    wsl = f.wsl
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column()
    if wsl is None:
        t.add_row("WSL", Text("unknown: the WSL facts could not be read", style="yellow"))
    else:
        t.add_row("kind", or_unknown(wsl.kind))
        t.add_row("effective mode", Text(a.world.mode, style="bold"))
        req = wsl.wslconfig
        if is_unknown(req):
            t.add_row("requested mode", unknown_text(req))
        else:
            t.add_row("requested mode", Text(f"{req.networking_mode} ({req.networking_mode_source}"
                                             f"{', .wslconfig present' if req.present else ', no .wslconfig'})"))
            t.add_row("localhost fwd", bool_word(req.localhost_forwarding, "on", "off"))
            t.add_row("Hyper-V firewall", bool_word(req.firewall, "on", "off"))
        if wsl.mode_mismatch:
            t.add_row("mismatch", Text(wsl.mode_mismatch, style="bold yellow"))
        conf = wsl.wsl_conf
        if is_unknown(conf):
            t.add_row("wsl.conf", unknown_text(conf))
        else:
            t.add_row("systemd", bool_word(conf.systemd, "on", "off"))
            t.add_row("interop", bool_word(conf.interop_enabled, "on", "off"))
    interop = a.snapshot.meta.get("interop")
    if interop:
        t.add_row("interop (probe)", Text(str(interop)))
    fw = f.firewalld
    t.add_row("firewalld", or_unknown(fw.unknown) if fw is None or fw.unknown else
              Text.assemble(bool_word(fw.running, "running", "not running"),
                            f"  default zone {fw.default_zone}" if fw.default_zone else ""))
    u = f.ufw
    t.add_row("ufw", or_unknown(u.unknown) if u is None or u.unknown else bool_word(u.active, "active", "inactive"))
    return t
