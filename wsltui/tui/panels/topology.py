"""Topology: the map of the effective networking mode (``views.topology_map``) with the Flow
panel's connection on it — its path, each gate's mark, the first blocker — then the effective vs
requested mode and the interop / systemd / firewalld / ufw state."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from wsltui.tui.panels.base import Panel, VimScroll
from wsltui.tui.render import bool_word, is_unknown, or_unknown, tone, unknown_text
from wsltui.tui.safe_static import SafeStatic
from wsltui.views.scenarios import FLOW_SCENARIOS
from wsltui.views.topology_map import MapView, build_map


class TopologyPanel(Panel):
    # The same keys as in Flow, for the same connection: the map and Flow always show one target.
    BINDINGS = [
        Binding("s", "scenario(1)", "Next scenario", show=False),
        Binding("S", "scenario(-1)", "Prev scenario", show=False),
        Binding("t", "toggle_proto", "tcp/udp", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.target: tuple[str, int, str] | None = None  # the Flow target the map shows

    def compose_body(self):
        with VimScroll(id="topology-scroll"):
            yield SafeStatic(id="topology-map")
            yield SafeStatic(id="topology-body")

    def main_widget(self):
        return self.query_one("#topology-scroll")

    def show(self, a) -> None:
        self.target = self.app.flow_target()
        self.query_one("#topology-map", Static).update(render_map(a, self.target))
        self.query_one("#topology-body", Static).update(Group(Text(), _state(a)))

    def on_show(self) -> None:
        """The Flow target may have changed while another panel was shown: follow it."""
        if self.analysis is not None and self.app.flow_target() != self.target:
            self.show(self.analysis)

    def action_scenario(self, delta: int) -> None:
        if self.target is not None:
            scenario, port, proto = self.target
            self._retarget(FLOW_SCENARIOS[(FLOW_SCENARIOS.index(scenario) + delta) % len(FLOW_SCENARIOS)], port, proto)

    def action_toggle_proto(self) -> None:
        if self.target is not None:
            scenario, port, proto = self.target
            self._retarget(scenario, port, "udp" if proto == "tcp" else "tcp")

    def _retarget(self, scenario: str, port: int, proto: str) -> None:
        """Change the connection Flow traces (Flow follows when it is shown next), and redraw."""
        flow = self.app.panel("flow")
        if flow is None:  # not shown yet: it takes the request when it mounts
            self.app.flow_request = (scenario, port, proto)
        else:
            flow.select(scenario=scenario, port=port, proto=proto)  # type: ignore[attr-defined]
        if self.analysis is not None:
            self.show(self.analysis)


def render_map(a, target: tuple[str, int, str] | None) -> MapView:
    """The map with the trace Flow shows for ``target`` (scenario, port, proto) on it."""
    trace = a.trace(*target) if target is not None else None
    return MapView(build_map(a.facts, a.world, trace))


def _state(a) -> Table:
    f = a.facts
    wsl = f.wsl
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column()
    if wsl is None:
        t.add_row("WSL", Text("unknown: the WSL facts could not be read", style=tone("unknown")))
    else:
        t.add_row("kind", or_unknown(wsl.kind))
        t.add_row("effective mode", Text(a.world.mode, style="bold"))
        req = wsl.wslconfig
        if is_unknown(req):
            t.add_row("requested mode", unknown_text(req))
        else:
            t.add_row(
                "requested mode",
                Text(
                    f"{req.networking_mode} ({req.networking_mode_source}"
                    f"{', .wslconfig present' if req.present else ', no .wslconfig'})"
                ),
            )
            t.add_row("localhost fwd", bool_word(req.localhost_forwarding, "on", "off"))
            t.add_row("Hyper-V firewall", bool_word(req.firewall, "on", "off"))
        if wsl.mode_mismatch:
            t.add_row("mismatch", Text(wsl.mode_mismatch, style=tone("unknown", bold=True)))
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
    t.add_row(
        "firewalld",
        or_unknown(fw.unknown)
        if fw is None or fw.unknown
        else Text.assemble(
            bool_word(fw.running, "running", "not running"),
            f"  default zone {fw.default_zone}" if fw.default_zone else "",
        ),
    )
    u = f.ufw
    t.add_row("ufw", or_unknown(u.unknown) if u is None or u.unknown else bool_word(u.active, "active", "inactive"))
    return t
