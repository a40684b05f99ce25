"""Status: one compact screen for a support ticket (fits 100x30) — mode, addresses, every
listener and whether each scenario reaches it, and the blockers with a one-line fix."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from wsltui.tui.safe_static import SafeStatic
from wsltui.tui.scenarios import SHORT, STATUS_SCENARIOS
from wsltui.tui.panels.base import Panel, VimScroll
from wsltui.tui.render import bool_word, cell, is_unknown, or_unknown, unknown_text


class StatusPanel(Panel):
    BINDINGS = [
        Binding("l", "live_test", "Live test", id="status-live",
                tooltip="Send the real connection of the selected port and scenario and compare with the trace"),
    ]

    def compose_body(self):
        with VimScroll(id="status-scroll"):
            yield SafeStatic(id="status-body")

    def main_widget(self):
        return self.query_one("#status-scroll")

    def show(self, a) -> None:
        self.query_one("#status-body", Static).update(Group(render_status(a), *observed_lines(a, self.app)))

    def show_live(self) -> None:
        self.show(self.analysis)

    def live_target(self) -> tuple[str, int, str] | None:
        """The cell a live test is for: the Flow panel's port × scenario."""
        return self.app.flow_target()

    def action_live_test(self) -> None:
        target = self.live_target()
        if target is not None:
            self.app.run_live(*target)


def render_status(a) -> Group:
    f = a.facts
    parts: list = [_overview(a), Text()]
    if a.listeners_unknown is not None:
        parts.append(unknown_text(a.listeners_unknown, "listeners: "))
    elif not a.rows:
        parts.append(Text("No TCP or UDP listener: nothing in WSL waits for a connection.", style="yellow"))
    else:
        parts.append(_table(a))
    blockers = _blockers(a)
    parts.append(Text())
    if blockers:
        parts.append(Text("Blockers", style="bold"))
        parts.extend(blockers)
    elif a.rows:
        parts.append(Text("No blocker found on the Linux side.", style="green"))
    for caveat in dict.fromkeys(c for row in a.rows for t in row.traces.values() for c in t.caveats):
        # One line each: the screen fits 100x30; the Flow panel and the reports say it in full.
        parts.append(Text(f"caveat: {caveat}", style="magenta", no_wrap=True, overflow="ellipsis"))
    parts.append(Text("✓ reachable  ✗ blocked: what the client sees  ? undecided: the first layer without data",
                      style="dim"))
    if any(h.verdict == "assumed" for r in a.rows for t in r.traces.values() for h in t.hops):
        parts.append(Text("✓ assumed: reachable if an assumption holds (the flow view names it)", style="dim"))
    for err in a.errors:
        parts.append(Text(f"error: {err}", style="bold red"))
    if f.ufw_trap:
        parts.append(Text(f"ufw: {f.ufw_trap}", style="bold yellow"))
    return Group(*parts)


def _overview(a) -> Table:
    f = a.facts
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    wsl = f.wsl
    mode = Text(a.world.mode, style="bold")
    if wsl is not None:
        req = wsl.wslconfig
        if is_unknown(req):
            mode.append("  requested: ", style="dim").append_text(unknown_text(req))
        else:
            mode.append(f"  requested: {req.networking_mode} ({req.networking_mode_source})", style="dim")
        if wsl.mode_mismatch:
            mode.append(f"  {wsl.mode_mismatch}", style="bold yellow")
        version = or_unknown(wsl.version)
        mode.append("  WSL ").append_text(version)
    elif a.world.mode_reason:
        mode.append(f"  ({a.world.mode_reason})", style="yellow")
    grid.add_row("mode", mode)
    net = f.network
    if net is None or is_unknown(getattr(net, "interfaces", None)):
        grid.add_row("addresses", or_unknown(getattr(net, "interfaces", None)))
    else:
        addr = Text(f"{net.primary_interface or '?'} {net.primary_address or '-'}")
        if net.primary_address6:
            addr.append(f"  {net.primary_address6}")
        addr.append(f"   Windows (gateway) {net.default_gateway_v4 or '-'}")
        grid.add_row("WSL", addr)
    grid.add_row("firewall", _firewall_line(f))
    return grid


def _firewall_line(f) -> Text:
    t = Text()
    fw = f.firewalld
    if fw is None or fw.unknown is not None:
        t.append("firewalld ").append_text(or_unknown(fw.unknown if fw else None))
    else:
        t.append("firewalld ").append_text(bool_word(fw.running, "running", "not running"))
        if fw.running and fw.default_zone:
            t.append(f" (default zone {fw.default_zone})")
    t.append(" · ufw ")
    u = f.ufw
    if u is None or u.unknown is not None:
        t.append_text(or_unknown(u.unknown if u else None))
    else:
        t.append_text(bool_word(u.active, "active", "inactive"))
    ipt = f.iptables
    if ipt is not None:
        active = [rs.record.removeprefix("nf.") for rs in ipt.rulesets() if rs.unknown is None and rs.is_active()]
        t.append(" · iptables rules: " + (", ".join(active) if active else "none"))
    return t


def _table(a) -> Table:
    t = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
    width = max((len(r.target.endpoint) for r in a.rows), default=8)
    t.add_column("listener", no_wrap=True, min_width=min(width, 30))
    t.add_column("process", no_wrap=True, max_width=10, overflow="ellipsis")
    for sc in STATUS_SCENARIOS:
        t.add_column(SHORT[sc], no_wrap=True, overflow="ellipsis")
    for row in a.rows:
        t.add_row(row.target.endpoint, row.target.process or "-",
                  *(cell(row.traces.get(sc)) for sc in STATUS_SCENARIOS))
    return t


def _blockers(a) -> list[Text]:
    """One line per distinct first blocker: the scenarios it stops, what stops them, the fix."""
    seen: dict[tuple, list[str]] = {}
    hops: dict[tuple, tuple] = {}
    for target, sc, trace in a.blockers:
        hop = trace.first_blocker
        fix = hop.fixes[0] if hop.fixes else None
        key = (target.key, hop.layer, hop.verdict, hop.edit or hop.rule or hop.explanation, fix.title if fix else "")
        seen.setdefault(key, []).append(SHORT.get(sc, sc))
        hops[key] = (target, hop, fix)
    out = []
    for key, scenarios in seen.items():
        target, hop, fix = hops[key]
        line = Text("✗ ", style="bold red")
        line.append(f"{target.proto}/{target.port} ", style="bold")
        line.append(", ".join(scenarios), style="dim")
        line.append(f"  {hop.layer} ")
        line.append(hop.verdict.upper(), style="bold red")
        what = hop.edit or hop.rule
        if what:
            line.append(f" {what}")
        out.append(line)
        if fix is not None:
            cmd = fix.commands[0] if fix.commands else fix.title
            fl = Text("    fix: ", style="bold cyan")
            fl.append(cmd)
            out.append(fl)
    return out


def observed_lines(a, app=None) -> list[Text]:
    """The newest live test per cell, when there is one: "observed ✓ 12 ms" / "observed ✗ timeout",
    and whether the model agrees; the flows being tested say "testing…"."""
    from wsltui.facts.base import Unknown
    from wsltui.views.live_text import CLASS_WORDS, short

    testing = sorted(getattr(app, "live_testing", ()) or ())
    if not a.live and not testing:
        return []
    out = [Text(), Text("Live tests", style="bold")]
    for scenario, port, proto in testing:
        out.append(Text(f"… {proto}/{port} {SHORT.get(scenario, scenario)}  testing…", style="yellow"))
    for test in a.live:
        if isinstance(test.result, Unknown):
            out.append(Text(f"? {test.name}: unknown — {test.result.reason}", style="yellow", no_wrap=True,
                            overflow="ellipsis"))
            continue
        rec, obs = test.result, test.result.obs
        line = Text(f"{'✓' if rec.reachable else '✗' if rec.reachable is False else '?'} ",
                    style="green" if rec.reachable else "red" if rec.reachable is False else "yellow")
        line.append(f"{obs.proto}/{obs.port} {SHORT.get(obs.scenario, obs.scenario)}  ", style="bold")
        line.append(short(rec))
        verdict = ("model agrees" if rec.agrees else "nothing observed" if rec.agrees is None
                   else f"model disagrees: {CLASS_WORDS.get(rec.disagreement, rec.disagreement)}")
        line.append(f"  · {verdict}", style="green" if rec.agrees else "dim" if rec.agrees is None else "bold red")
        if test.older:
            line.append("  · older than the snapshot", style="dim")
        line.no_wrap, line.overflow = True, "ellipsis"
        out.append(line)
    return out
