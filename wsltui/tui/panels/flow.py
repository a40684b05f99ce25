"""Flow: the hop chain of one connection, drawn top to bottom, each hop coloured by its verdict
(and labelled, for NO_COLOR); the first blocker is highlighted and focused, with its rule, owner,
explanation, symptom, fix commands and undo; every other blocker is listed below."""

from __future__ import annotations

import dataclasses
from functools import partial

from rich.console import Group
from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

from wsltui.simulation.trace import ANY_OS, client_lines
from wsltui.tui.commands import CommandBox, command_line
from wsltui.tui.safe_static import SafeStatic
from wsltui.views.scenarios import FLOW_SCENARIOS, SHORT, scenario_text
from wsltui.tui.panels.base import Panel, VimScroll
from wsltui.tui.render import VERDICT_CLASS, VERDICT_MARK, tone, verdict_style
from wsltui.vocabulary import plural


class FlowBox(CommandBox):
    """A box in the hop chain; j/k (or the arrows) select its next/previous command, then move
    to the next/previous box."""

    BINDINGS = [
        Binding("j,down", "step(1)", "Next hop", show=False),
        Binding("k,up", "step(-1)", "Previous hop", show=False),
    ]

    def action_step(self, delta: int) -> None:
        if self.move(delta):
            return
        boxes = list(self.parent.query(FlowBox)) if self.parent else []
        if self in boxes:
            i = boxes.index(self) + delta
            if 0 <= i < len(boxes):
                boxes[i].focus()
                if delta < 0:
                    boxes[i].enter_from_below()


class HopBox(FlowBox):
    """One hop: its explanation, rule, symptom and fixes, with a border titled by its verdict."""

    def __init__(self, hop, index: int, first: bool, client: str = ANY_OS) -> None:
        super().__init__(partial(render_hop, hop, first, client), hop_commands(hop))
        self._describe(hop, index, first)

    def set_hop(self, hop, index: int, first: bool, client: str = ANY_OS) -> None:
        """Show ``hop`` in this box (a redraw in place: no new widget, no jump)."""
        self.set_content(partial(render_hop, hop, first, client), hop_commands(hop))
        self._describe(hop, index, first)

    def _describe(self, hop, index: int, first: bool) -> None:
        self.hop = hop
        self.set_classes(f"hop {VERDICT_CLASS.get(hop.verdict, '')}" + (" -first" if first else ""))
        mark = VERDICT_MARK.get(hop.verdict, hop.verdict)
        self.border_title = f"{index}. {hop.layer}  {mark}" + ("  ◀ first blocker" if first else "")
        self.base_title = self.border_title  # (mark_observed adds to it)


class OthersBox(FlowBox):
    """The blockers after the first, with their fixes."""

    def __init__(self, others) -> None:
        super().__init__(partial(render_others, others), others_commands(others), classes="others")

    def set_others(self, others) -> None:
        self.set_content(partial(render_others, others), others_commands(others))


def fix_commands(fix) -> list[str]:
    """A fix's commands, then its undo commands: each one selectable (j/k) and copied alone (c)."""
    return [*fix.commands, *fix.undo]


def hop_commands(hop) -> list[str]:
    return [c for fix in hop.fixes for c in fix_commands(fix)] if hop.blocks else []


def others_commands(others) -> list[str]:
    return [c for b in others for fix in b.fixes for c in fix_commands(fix)]


def render_hop(hop, first: bool, client: str = ANY_OS, selected: int | None = None) -> Group:
    lines: list = [Text(hop.explanation)]

    def field(name: str, value: str | None, style: str = "") -> None:
        if value:
            t = Text(f"{name:<8}", style="dim")
            t.append(value, style=style)
            lines.append(t)

    if hop.assumes_fix:
        field("after", f"fix: {hop.assumes_fix} (traced as if it were done: not the current state)", tone("note"))
    field("packet", hop.packet)
    if hop.verdict != "allow":
        field("rule", hop.rule, "bold")
        field("where", hop.location)
    field("owner", hop.owner)
    field("edit", hop.edit)
    field("assumed", hop.assumption, tone("assumed"))
    if hop.reason:
        field("why", hop.reason, tone("unknown"))  # the reason says "unknown: …" itself (as in check)
    if hop.blocks:
        field(
            "symptom",
            hop.symptom + (f" (or {', '.join(hop.alternatives)})" if hop.alternatives else "") if hop.symptom else None,
            tone("blocked", bold=True),
        )
        for symptom in (hop.symptom, *hop.alternatives) if hop.symptom else ():
            words = client_lines(symptom, client)
            if words:
                field("client", (f"{symptom}: " if hop.alternatives else "") + " · ".join(words))
        start = 0
        for fix in hop.fixes:
            lines.extend(render_fix(fix, start=start, selected=selected))
            start += len(fix_commands(fix))
    return Group(*lines)


def render_fix(fix, indent: str = "", start: int = 0, selected: int | None = None) -> list:
    """A fix: its title, each command and each undo command on its own logical line (``start``:
    the index of its first command among the box's; ``selected``: the selected one), its note."""
    out: list = [Text.assemble((f"{indent}fix: ", tone("key", bold=True)), fix.title)]
    for i, cmd in enumerate(fix_commands(fix), start):
        undo = i - start >= len(fix.commands)
        out.append(
            command_line(
                f"{indent}  undo: " if undo else f"{indent}  $ ", cmd, selected == i, style="dim" if undo else "bold"
            )
        )
    if fix.note:
        out.append(Text(f"{indent}  {fix.note}", style="dim"))
    return out


def default_target(a, scenario: str = FLOW_SCENARIOS[0]) -> tuple[str, int, str]:
    """(scenario, port, proto) the Flow panel starts with, the most instructive: the first
    blocked cell of the status table, else the first listener (else port 8080)."""
    blocked = a.blockers
    # A blocker with a rule (a firewall) teaches more than a missing relay.
    blocked.sort(key=lambda b: b[2].first_blocker.rule is None)
    if blocked:
        target, sc, _ = blocked[0]
        return sc, target.port, target.proto
    if a.rows:
        return scenario, a.rows[0].target.port, a.rows[0].target.proto
    return scenario, 8080, "tcp"


class FlowPanel(Panel):
    BINDINGS = [
        Binding("s", "scenario(1)", "Scenario", id="flow-next-scenario"),
        Binding("S", "scenario(-1)", "Prev scenario", show=False, id="flow-prev-scenario"),
        Binding("t", "toggle_proto", "tcp/udp", id="flow-proto"),
        Binding("p", "edit_port", "Port", id="flow-port"),
        Binding(
            "f",
            "fix",
            "Fix",
            id="flow-fix",
            tooltip="The plan for the selected blocker (or the first): its commands and undo; y applies it",
        ),
        Binding(
            "l",
            "live_test",
            "Live test",
            id="flow-live",
            tooltip="Send the real connection of this port and scenario, watch Linux, and compare with the trace",
        ),
    ]

    @dataclasses.dataclass
    class Changed(Message):
        """The flow target changed (for the footer and tests)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.scenario = FLOW_SCENARIOS[0]
        self.port: int | None = None
        self.proto = "tcp"
        self.trace = None
        self.chosen = False  # the user picked the target; until then it follows each new analysis
        self.wanted_hop: int | None = None  # the hop to select (from Status), else the first blocker
        self._drawing = 0  # draws whose hops are not mounted and placed yet
        self._first_pending = False  # a draw will focus and scroll to its first blocker after the layout
        self._draw_requested = False  # a draw is scheduled for the next refresh (keys coalesce until then)

    def compose_body(self):
        with Horizontal(id="flow-form"):
            yield Label("scenario ")
            yield Select(
                [(SHORT[s], s) for s in FLOW_SCENARIOS],
                value=self.scenario,
                allow_blank=False,
                id="flow-scenario",
                compact=True,
            )
            yield Label(" port ")
            yield Input(placeholder="8080", id="flow-port", restrict=r"[0-9]*", max_length=5, compact=True)
            yield Label(" proto ")
            yield Select(
                [("tcp", "tcp"), ("udp", "udp")], value="tcp", allow_blank=False, id="flow-proto", compact=True
            )
        yield SafeStatic(id="flow-summary")
        yield VimScroll(id="flow-hops")

    def main_widget(self):
        boxes = self.query(HopBox)
        if self.wanted_hop is not None and boxes:
            return list(boxes)[min(self.wanted_hop, len(boxes) - 1)]
        first = self.query(".hop.-first")
        if first:
            return first.first()
        hops = self.query(HopBox)
        return hops.first() if hops else self.query_one("#flow-hops")

    def show(self, a) -> None:
        request = getattr(self.app, "flow_request", None)
        if request is not None:
            self.app.flow_request = None
            self.scenario, self.port, self.proto = request[0] or self.scenario, request[1], request[2]
            self.wanted_hop = request[3] if len(request) > 3 else None
            self.chosen = True
        if not self.chosen:
            # The most instructive target may change as sources arrive (Windows data later).
            self._pick_default(a)
        self._sync_form()
        self.draw()

    def _pick_default(self, a) -> None:
        self.scenario, self.port, self.proto = default_target(a, self.scenario)

    def select(
        self, scenario: str | None = None, port: int | None = None, proto: str | None = None, hop: int | None = None
    ) -> None:
        self.chosen = True
        self.wanted_hop = hop
        if scenario:
            self.scenario = scenario
        if port:
            self.port = port
        if proto:
            self.proto = proto
        if self.analysis is not None:
            self._request_draw()

    def _request_draw(self) -> None:
        """One draw for a burst of keys (a key held down on a loaded machine): the target changes
        at once, the draw waits for the next refresh and shows the target then."""
        if not self._draw_requested:
            self._draw_requested = True
            self.call_after_refresh(self._requested_draw)

    def _requested_draw(self) -> None:
        self._draw_requested = False
        if self.analysis is not None:
            self._sync_form()
            self.draw()

    def _sync_form(self) -> None:
        with self.prevent(Select.Changed, Input.Changed):
            self.query_one("#flow-scenario", Select).value = self.scenario
            self.query_one("#flow-proto", Select).value = self.proto
            self.query_one("#flow-port", Input).value = str(self.port or "")

    def draw(self) -> None:
        a = self.analysis
        if a is None or not self.port:
            return
        trace = a.trace(self.scenario, self.port, self.proto)
        previous, self.trace = self.trace, trace
        hops = self.query_one("#flow-hops", VimScroll)
        if trace == previous and hops.children:  # a refresh that changed nothing on this path
            self.show_live()  # (a live test may have settled it meanwhile)
            return
        # A refresh of the same question keeps the focused hop and the scroll; a new question
        # starts at its first blocker.
        # (Not while the previous draw still has to scroll to its first blocker: its scroll
        # position is not the one to keep.)
        same_question = (
            previous is not None
            and (previous.scenario, previous.proto, previous.port) == (trace.scenario, trace.proto, trace.port)
            and not self._first_pending
        )
        boxes = list(hops.query(FlowBox))
        focused = self.app.focused
        keep_index = boxes.index(focused) if same_question and focused in boxes else None
        scroll_y = hops.scroll_y
        self.query_one("#flow-summary", Static).update(render_summary(trace))
        mounted = self._place(hops, trace)
        self._drawing += 1
        self.call_later(self._after_draw, mounted, same_question, keep_index, scroll_y)
        self.post_message(self.Changed())

    def _place(self, hops: VimScroll, trace):
        """Show ``trace`` in ``hops`` in place: the boxes already there take the new content,
        only missing ones are mounted and surplus ones removed, so no frame is drawn empty and
        the scroll position does not jump. Returns the mount to await (or None)."""
        wanted: list[tuple[str, tuple]] = []  # (kind, what it shows)
        first = trace.first_blocker
        for i, hop in enumerate(trace.hops, 1):
            if wanted:
                wanted.append(("arrow", ()))
            wanted.append(("hop", (hop, i, hop is first, trace.client)))
        if trace.blockers[1:]:
            wanted.append(("others", (trace.blockers[1:],)))
        if trace.notes:
            wanted.append(("notes", (Text("\n".join(f"note: {n}" for n in trace.notes), style=tone("unknown")),)))
        if trace.caveats:
            wanted.append(("caveats", (Text("\n".join(f"caveat: {c}" for c in trace.caveats), style=tone("note")),)))
        observed = self.observed()
        wanted.append(("live", (self._live_text(observed),)))
        present = list(hops.children)
        kept = 0
        for widget, (kind, args) in zip(present, wanted):
            if getattr(widget, "flow_kind", None) != kind:
                break
            if kind == "hop":
                widget.set_hop(*args)
            elif kind == "others":
                widget.set_others(*args)
            elif kind != "arrow":
                widget.update(*args)
                widget.display = kind != "live" or bool(args[0])
            kept += 1
        for widget in present[kept:]:
            widget.remove()
        new = [_flow_widget(kind, args) for kind, args in wanted[kept:]]
        for widget, (kind, args) in zip([*present[:kept], *new], wanted):
            if kind == "hop":
                mark_observed(widget, args[1], observed)
        return hops.mount_all(new) if new else None

    @property
    def busy(self) -> bool:
        return self._drawing > 0 or self._draw_requested

    async def _after_draw(self, mounted, same_question: bool, index: int | None, scroll_y: float) -> None:
        """Once the new hops are mounted: the same question keeps its focused hop and scroll; a
        new one focuses (and scrolls to) its first blocker, if the focus is in this panel."""
        if mounted is not None:
            await mounted
        hops = self.query_one("#flow-hops", VimScroll)
        focused = self.app.focused
        if same_question:
            boxes = list(hops.query(FlowBox))
            if index is not None and boxes:
                self.focus_widget(boxes[min(index, len(boxes) - 1)], scroll_visible=False)
            hops.scroll_to(y=scroll_y, animate=False)
        elif self.display and (
            focused is None or self in focused.ancestors_with_self or self.app.active_key == self.KEY
        ):
            # (the focus may still be in the panel shown before this one, when this one mounted)
            self._first_pending = True
            self.call_after_refresh(self._show_first_blocker)  # after the layout: it knows where the hops are
            return
        self._drawing -= 1

    def _show_first_blocker(self, tries: int = 10) -> None:
        box = self.main_widget()
        if isinstance(box, HopBox) and not box.virtual_region.height and tries:
            # Not laid out yet (a loaded machine): where to scroll is known only after a refresh.
            self.call_after_refresh(self._show_first_blocker, tries - 1)
            return
        self._first_pending = False
        self.focus_widget(box, scroll_visible=False)  # (if shown later, focus_main focuses it then)
        if isinstance(box, HopBox):
            self.query_one("#flow-hops", VimScroll).scroll_to_widget(box, top=True, animate=False)
        self._drawing -= 1

    # --- the live test (key l): "testing…", then the observation under the trace ----------------

    def observed(self):
        """The reconciliation of this trace with its newest live test, or None."""
        from wsltui.simulation.reconcile import Reconciliation, reconcile

        a, trace = self.analysis, self.trace
        test = a.live_test(trace.scenario, trace.port, trace.proto) if a is not None and trace is not None else None
        if test is None or not isinstance(test.result, Reconciliation):
            return test  # None, or a StoredTest whose record could not be read
        return reconcile(trace, test.result.obs)  # beside the very trace shown (equal to the stored one's)

    def _live_text(self, observed):
        trace = self.trace
        key = (trace.scenario, trace.port, trace.proto) if trace is not None else None
        if key in self.app.live_testing:
            return Text(
                "live test: testing… (the real connection is being sent; a few seconds at most)",
                style=tone("unknown", bold=True),
            )
        note = self.app.live_notes.get(key)
        if note:
            return Text(f"live test: {note}", style=tone("unknown"))
        return render_live(observed) if observed is not None else ""

    def show_live(self) -> None:
        """The live test's state in place (the trace itself did not change)."""
        observed = self.observed()
        for i, box in enumerate(self.query(HopBox), 1):
            mark_observed(box, i, observed)
        boxes = self.query(".live")
        if boxes:
            box = boxes.last()
            text = self._live_text(observed)
            box.update(text)
            box.display = bool(text)

    def action_live_test(self) -> None:
        if self.trace is not None:
            self.app.run_live(self.trace.scenario, self.trace.port, self.trace.proto)

    # --- keys and form -------------------------------------------------------------------

    def action_scenario(self, delta: int) -> None:
        i = (FLOW_SCENARIOS.index(self.scenario) + delta) % len(FLOW_SCENARIOS)
        self.select(scenario=FLOW_SCENARIOS[i])

    def action_toggle_proto(self) -> None:
        self.select(proto="udp" if self.proto == "tcp" else "tcp")

    def selected_blocker(self):
        """The focused hop when it blocks, else the first blocker (None: nothing blocks)."""
        focused = self.app.focused
        if isinstance(focused, HopBox) and focused.hop.blocks:
            return focused.hop
        return self.trace.first_blocker if self.trace is not None else None

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "fix":
            return None if self.trace is None or not self.trace.blockers else True
        return super().check_action(action, parameters)

    def action_fix(self) -> None:
        hop = self.selected_blocker()
        if hop is None:
            self.notify("nothing blocks this path", timeout=3)
            return
        propose_fix(self.app, self.trace, hop)

    def action_edit_port(self) -> None:
        self.query_one("#flow-port", Input).focus()

    @on(Select.Changed, "#flow-scenario")
    def _scenario_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.scenario:
            self.select(scenario=event.value)

    @on(Select.Changed, "#flow-proto")
    def _proto_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.proto:
            self.select(proto=event.value)

    @on(Input.Submitted, "#flow-port")
    def _port_submitted(self, event: Input.Submitted) -> None:
        try:
            port = int(event.value)
        except ValueError:
            port = 0
        if not 1 <= port <= 65535:
            self.notify(f"{event.value!r} is not a port number (1-65535)", severity="warning")
            return
        self.select(port=port)
        self.focus_main()


def propose_fix(app, trace, hop=None) -> None:
    """The plan dialog for ``hop``'s fixes (each blocker's fixes are its own, behind ones
    included), or for every blocker of ``trace`` when ``hop`` is None."""
    from wsltui.actions import plan_for_trace

    only = trace if hop is None else dataclasses.replace(trace, blockers=[hop])
    live = app.change_refusal() is None
    app.propose(
        lambda: plan_for_trace(only, {"name": only.scenario}, elevate=live),
        f"fix {hop.layer}" if hop is not None else f"fix {trace.proto}/{trace.port}",
        reads_live=False,
    )


def _flow_widget(kind: str, args: tuple):
    """A new widget of the hop chain (``FlowPanel._place``), tagged with its kind."""
    if kind == "hop":
        widget = HopBox(*args)
    elif kind == "others":
        widget = OthersBox(*args)
    elif kind == "arrow":
        widget = SafeStatic("  ▼", classes="arrow")
    elif kind == "live":
        widget = SafeStatic(*args, classes="live")
        widget.display = bool(args[0])
    else:
        widget = SafeStatic(*args, classes="notes")
    widget.flow_kind = kind
    return widget


def render_summary(trace) -> Text:
    t = Text()
    for i, hop in enumerate(trace.hops):
        if i:
            t.append(" → ", style="dim")
        t.append(hop.layer)
        t.append(f" {VERDICT_MARK.get(hop.verdict, hop.verdict)}", style=verdict_style(hop.verdict))
    t.append("\n")
    t.append(f"{trace.proto}/{trace.port}", style="bold")
    t.append(f"  {scenario_text(trace.scenario, trace.port)}  (mode {trace.mode})\n")
    assumed = [h.layer for h in trace.hops if h.verdict == "assumed"]
    if trace.reachable is True and assumed:
        t.append("REACHABLE IF ASSUMED", style=tone("assumed", bold=True))
        t.append(f": {', '.join(dict.fromkeys(assumed))} passes only on the assumption shown below.")
    elif trace.reachable is True:
        t.append("REACHABLE", style=tone("ok", bold=True))
        t.append(": every layer lets the connection through.")
    elif trace.reachable is False:
        first = trace.first_blocker
        t.append("BLOCKED", style=tone("blocked", bold=True))
        t.append(f" at {first.layer}: the client sees ")
        t.append(str(first.symptom), style="bold")
        if first.alternatives:
            t.append(f" (or {' or '.join(first.alternatives)})")
        if len(trace.blockers) > 1:
            t.append(f"  (+{plural(len(trace.blockers) - 1, 'more blocker')} below)")
    else:
        n = sum(1 for h in trace.hops if h.verdict == "unknown")
        t.append("UNDECIDED", style=tone("unknown", bold=True))
        t.append(f": {plural(n, 'layer')} could not be decided (no data); nothing known blocks it.")
    return t


def render_others(others, selected: int | None = None) -> Group:
    lines: list = [Text("Also in the way (fix these too):", style="bold")]
    start = 0
    for b in others:
        t = Text("✗ ", style=tone("blocked", bold=True))
        t.append(f"{b.layer} {VERDICT_MARK.get(b.verdict, b.verdict)}", style=verdict_style(b.verdict))
        t.append(f"  {b.rule or b.explanation}")
        if b.location:
            t.append(f"  ({b.location})", style="dim")
        lines.append(t)
        for fix in b.fixes:
            lines.extend(render_fix(fix, indent="    ", start=start, selected=selected))
            start += len(fix_commands(fix))
    return Group(*lines)


def mark_observed(box: HopBox, index: int, observed) -> HopBox:
    """A hop the live test settled says so in its title ("observed: allowed")."""
    base = box.base_title
    settled = observed.settled_hop(index) if hasattr(observed, "settled_hop") else None
    box.border_title = base + (f"  ● {settled.label}" if settled is not None else "")
    box.set_class(settled is not None, "-observed")
    return box


def render_live(observed) -> Group:
    """The reconciliation under the trace: the headline, then the model beside the observation."""
    from wsltui.facts.base import Unknown
    from wsltui.views.live_text import rows, stored_lines

    if isinstance(getattr(observed, "result", None), Unknown):
        return Group(Text(stored_lines(observed)[0], style=tone("unknown")))
    from wsltui.views.live_text import headline

    style = (
        tone("ok", bold=True)
        if observed.agrees
        else tone("unknown", bold=True)
        if observed.agrees is None
        else tone("blocked", bold=True)
    )
    lines: list = [Text.assemble(("live test: ", "bold"), (headline(observed), style))]
    for label, value in rows(observed):
        lines.append(Text.assemble((f"  {label:<9}", "dim"), value))
    return Group(*lines)
