"""firewalld: state, default and active zones, and per zone its target, interfaces, sources,
services, ports, protocols, forward ports and rich rules (active and default zones first)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from wsltui.tui.changes import allow_binding, propose_allow
from wsltui.tui.panels.base import Panel, VimScroll
from wsltui.tui.render import bool_word, unknown_text


class FirewalldPanel(Panel):
    BINDINGS = [allow_binding("firewalld")]

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        return (None if self.app.change_refusal() else True) if action == "add_allow" else True

    def action_add_allow(self) -> None:
        propose_allow(self, "firewalld")

    def compose_body(self):
        with VimScroll(id="firewalld-scroll"):
            yield Static(id="firewalld-body")

    def main_widget(self):
        return self.query_one("#firewalld-scroll")

    def show(self, a) -> None:
        self.query_one("#firewalld-body", Static).update(render_firewalld(a.facts.firewalld))


def render_firewalld(fw) -> Group:
    if fw is None:
        return Group(Text("unknown: the firewalld facts could not be parsed", style="yellow"))
    parts: list = []
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold", no_wrap=True)
    head.add_column()
    state = unknown_text(fw.unknown) if fw.unknown else bool_word(fw.running, "running", "not running")
    if fw.reason:
        state.append(f"  ({fw.reason})", style="dim")
    head.add_row("state", state)
    head.add_row("default zone", unknown_text(fw.default_zone_unknown) if fw.default_zone_unknown
                 else Text(fw.default_zone or "-"))
    if fw.active_unknown:
        head.add_row("active zones", unknown_text(fw.active_unknown))
    else:
        head.add_row("active zones", Text("; ".join(
            f"{z.name}: " + ", ".join([*(f"interface {i}" for i in z.interfaces), *(f"source {s}" for s in z.sources)])
            for z in fw.active_zones) or "none"))
    parts.append(head)
    for p in fw.problems:
        parts.append(Text(f"problem: {p}", style="yellow"))
    if fw.zones_unknown:
        parts.append(unknown_text(fw.zones_unknown, "zones: "))
        return Group(*parts)
    active_names = {z.name for z in fw.active_zones}
    zones = sorted(fw.zones, key=lambda z: (not (z.active or z.name in active_names or z.default
                                                 or z.name == fw.default_zone), z.name))
    quiet = []
    for z in zones:
        important = z.active or z.default or z.name in active_names or z.name == fw.default_zone
        if not important and not (z.ports or z.rich_rules or z.interfaces or z.sources):
            quiet.append(f"{z.name} ({z.target or 'default'})")
            continue
        parts.append(Text())
        parts.append(_zone(z, fw.default_zone))
    if quiet:
        parts.append(Text())
        parts.append(Text("other zones (no interfaces, sources, ports or rich rules): " + ", ".join(quiet), style="dim"))
    return Group(*parts)


def _zone(z, default_zone) -> Table:
    title = Text(f"zone {z.name}", style="bold magenta")
    flags = [f for f in ("default" if (z.default or z.name == default_zone) else "", "active" if z.active else "") if f]
    if flags:
        title.append(f"  ({', '.join(flags)})", style="bold")
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True, min_width=14)
    t.add_column()
    t.add_row(title, Text())
    target = Text(z.target or "default")
    if z.target in ("default", "%%REJECT%%", ""):
        target.append("  (anything not allowed below is rejected)", style="dim")
    t.add_row("  target", target)
    t.add_row("  interfaces", Text(" ".join(z.interfaces) or "-"))
    t.add_row("  sources", Text(" ".join(z.sources) or "-"))
    t.add_row("  services", Text(" ".join(z.services) or "-"))
    t.add_row("  ports", Text(" ".join(p.text for p in z.ports) or "-"))
    if z.protocols:
        t.add_row("  protocols", Text(" ".join(z.protocols)))
    if z.forward_ports:
        t.add_row("  forward ports", Text("\n".join(p.text for p in z.forward_ports)))
    if z.masquerade:
        t.add_row("  masquerade", Text("yes"))
    if z.icmp_blocks:
        t.add_row("  icmp blocks", Text(" ".join(z.icmp_blocks)))
    t.add_row("  rich rules", Text("\n".join(r.text for r in z.rich_rules) or "-"))
    return t
