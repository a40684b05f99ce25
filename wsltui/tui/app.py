"""``WslTuiApp``: the panels, the keys, and the workers that feed them.

Data flow: each *source* (a callable returning a Snapshot: the Linux probes, the Windows probes,
a demo or a file) runs in its own thread worker and posts ``SourceLoaded``. The app merges the
snapshots loaded so far and runs ``analyze`` (facts + traces) in another thread worker, which
posts ``Analyzed``; only then do the panels render. The sources start once the first frame is
on screen (their threads would otherwise compete with it for the interpreter), and Linux facts
never wait for Windows.

Periodic refresh: live mode re-runs the Linux probes every ``refresh`` seconds (default
``LIVE_REFRESH``; 0 disables), each run armed only when the previous one finished, skipped
while a dialog is open, and paused while some probe needs root (each run would log sudo's
refusal; the sudo dialog, key ``R``, resumes it). The Windows probes start ``powershell.exe``
and ``reg.exe`` through interop and take seconds, so they run again only on ``r``. A refresh
that read the same records changes nothing on screen; otherwise panels keep their cursor and
scroll position.

``make_app(source)`` is the factory tests and the CLI use; nothing here touches the system
unless the source does.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import partial

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.timer import Timer
from textual.widgets import Footer, Static, TabbedContent, TabPane, Tabs
from textual.worker import Worker, WorkerState, get_current_worker

from wsltui.tui.messages import Analyzed, Copied, LiveTested, OpenFlow, PlanBuilt, SourceLoaded, Written
from wsltui.tui.panels import PANEL_INFO, PanelInfo
from wsltui.tui.panels.base import Panel
from wsltui.tui.panels.status import StatusPanel
from wsltui.tui.render import record_outputs, state_style, tone
from wsltui.tui.safe_static import SafeStatic
from wsltui.views.scenarios import FLOW_SCENARIOS, SHORT
from wsltui.views.safe_text import shown
from wsltui.vocabulary import plural

Source = Callable[[], object]  # returns a wsltui.snapshot.Snapshot
FIRST_PAINT_ENV = "WSLTUI_FIRST_PAINT_FILE"  # bench: write time.time() and CPU seconds at the first frame
SCREENSHOT_DIR_ENV = "WSLTUI_SCREENSHOT_DIR"
LIVE_REFRESH = 10.0  # seconds between two runs of the Linux probes in live mode


def probing(fn: Source, *, periodic: bool) -> Source:
    """Mark ``fn`` as probing the live system: its probes may need root (the sudo password
    dialog is offered), and a ``periodic`` one runs again every ``refresh`` seconds."""
    fn.live = True  # type: ignore[attr-defined]
    fn.periodic = periodic  # type: ignore[attr-defined]
    return fn


def live_sources() -> dict[str, Source]:
    """The live system: Linux probes and Windows (interop) probes, as separate sources."""

    def linux():
        from wsltui.probes.capture import capture
        from wsltui.records import LINUX_PROBES

        return capture(LINUX_PROBES)

    def windows():
        from wsltui.probes.capture import capture
        from wsltui.records import INTEROP_PROBES

        return capture(INTEROP_PROBES)

    return {"linux": probing(linux, periodic=True), "windows": probing(windows, periodic=False)}


def demo_source(name: str | None) -> dict[str, Source]:
    def load():
        from wsltui import demos

        return demos.load(name)

    return {"demo": load}


def file_source(path: str) -> dict[str, Source]:
    def load():
        from wsltui import snapshot

        return snapshot.load(path)

    return {"file": load}


def run_live_test(world, scenario, trace, read_only: bool):
    """The real live test (``wsltui.live``; at most its stated budget, in a worker thread), kept in
    the state directory like ``check --live`` keeps it, so the next capture and reports hold it."""
    from wsltui.live import LiveOptions, run_live
    from wsltui.probes import live_records

    result = run_live(world, scenario, trace, LiveOptions(read_only=read_only))
    try:
        live_records.save(result.record)
    except OSError:
        pass  # the state directory is unusable: the app still shows and reports it this session
    return result


def make_app(
    source: Source | Mapping[str, Source],
    *,
    demo: str | None = None,
    ports: tuple[int, ...] = (),
    label: str = "",
    refresh: float | None = None,
    read_only: bool = False,
) -> WslTuiApp:
    """The app over ``source``: one callable returning a Snapshot, or ``{name: callable}`` for
    sources that load independently (live: linux + windows). ``demo`` names the bundled demo
    being shown (enables switching demos); ``ports`` adds ports nobody may listen on;
    ``refresh`` is the seconds between runs of the periodic sources (None: ``LIVE_REFRESH``;
    0: never)."""
    sources = dict(source) if isinstance(source, Mapping) else {"snapshot": source}
    return WslTuiApp(
        sources,
        demo=demo,
        ports=tuple(ports),
        label=label,
        refresh=LIVE_REFRESH if refresh is None else refresh,
        read_only=read_only,
    )


def __getattr__(name: str):
    if name == "PANELS":  # the panel classes (imports every panel)
        from wsltui.tui import panels

        return panels.PANELS
    raise AttributeError(name)


class PanelTabs(TabbedContent):
    """The panels' tabs. TabbedContent shows the pane that takes the focus, by a message its pane
    posts after the focus event; a number key handled in between has moved the focus away and
    chosen another panel, and must win (else, on a loaded machine, the key seemed to do nothing:
    a panel focusing its table after a refresh brought its own tab back)."""

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        focused = self.screen.focused
        if focused is None or event.tab_pane not in focused.ancestors:
            event.prevent_default()  # the focus has left that pane since: stay where the key went


class PanelSlot(Static):
    """Stands in for a panel until it is first shown: then its module is imported and the panel
    mounted in its place. (Textual's Lazy would mount every panel right after the first frame,
    while the sources load.)"""

    def __init__(self, info: PanelInfo) -> None:
        super().__init__(Text("loading…", style=tone("unknown")))
        self.info = info
        self._replaced = False

    async def replace(self) -> None:
        if self._replaced or self.parent is None:  # a second activation while the first mounts
            return
        self._replaced = True
        await self.parent.mount(self.info.load()(id=self.info.key), after=self)
        await self.remove()


class WslProvider(Provider):
    """Command palette: every action by the words a person types ("fix", "undo", "report",
    "screenshot"), every panel and each panel's keys, the Flow scenarios per listener, the demos."""

    def _commands(self) -> list[tuple[str, Callable, str]]:
        app: WslTuiApp = self.app  # type: ignore[assignment]
        cmds: list[tuple[str, Callable, str]] = []
        for i, info in enumerate(PANEL_INFO, 1):
            cmds.append((f"Panel: {info.title}", partial(app.action_panel, info.key), f"key {i}"))
        cmds += [
            ("Refresh: read the system again", app.action_refresh, "key r"),
            *(
                [("sudo: enter the password for the probes that need root", app.action_sudo, "key R")]
                if app.needs_root
                else []
            ),
            (
                "Fix the blocker: its plan (commands and undo)",
                partial(app.panel_action, "flow", "fix"),
                "key f in Flow",
            ),
            ("Undo the last change wsltui made: its plan", app.action_undo_last, "key u"),
            ("Screenshot (SVG) of this panel: content only", app.action_save_screenshot, "key f8 / ctrl+s"),
            (
                "Screenshot (SVG), redacted",
                partial(app.action_save_screenshot, redact=True),
                "addresses, MACs, names, e-mails, SIDs, GUIDs, Windows paths replaced",
            ),
            ("Screenshot (SVG) with the footer and tabs", partial(app.action_save_screenshot, chrome=True), ""),
            (
                "Write the report for a ticket (Markdown, redacted)",
                app.action_write_report,
                "key w: addresses, MACs, names, e-mails, SIDs, GUIDs, Windows paths replaced",
            ),
            (
                "Write the raw report and snapshot (unredacted: for you, not a ticket)",
                partial(app.action_write_report, False),
                "the snapshot replays with `wsltui report --from`",
            ),
            (
                "Live test: send the real connection of the Flow port and scenario",
                app.action_live_test,
                "key l (Flow, Status): compare the trace with what really happens",
            ),
            ("Help: every key", app.action_help, "key ?"),
            ("Search / filter this panel's list", partial(app.action_filter), "key /"),
            ("Quit", app.action_quit, "key q"),
        ]
        cmds += panel_key_commands(app)
        a = app.analysis
        ports = [(r.target.proto, r.target.port) for r in a.rows] if a is not None else []
        for proto, port in dict.fromkeys(ports):
            for sc in FLOW_SCENARIOS:
                cmds.append((f"Flow: {SHORT[sc]} {proto}/{port}", partial(app.open_flow, sc, port, proto), sc))
        if app.demo is not None:
            from wsltui import demos

            for name in demos.names():
                about = demos.describe(name).splitlines()
                cmds.append((f"Demo: {name}", partial(app.switch_demo, name), about[0] if about else ""))
        return cmds

    async def discover(self) -> Hits:
        for name, cb, help_ in self._commands():
            yield DiscoveryHit(name, cb, help=help_)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, cb, help_ in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), cb, help=help_)


def panel_key_commands(app) -> list[tuple[str, Callable, str]]:
    """Each panel's own keys as palette commands ("Windows: Sort  key o"): running one shows
    the panel and runs the key's action there."""
    from wsltui.tui.help import key_name
    from wsltui.tui.panels import PANELS

    out = []
    for panel in PANELS:
        for b in panel.BINDINGS:
            if isinstance(b, Binding) and b.description and b.key != "escape":
                out.append(
                    (
                        f"{panel.TITLE}: {b.description}",
                        partial(app.panel_action, panel.KEY, b.action),
                        f"key {key_name(b)} in {panel.TITLE}" + (f": {b.tooltip}" if b.tooltip else ""),
                    )
                )
    return out


class WslTuiApp(App):
    """wsltui: why can't Windows or the LAN reach my WSL2 service?"""

    CSS_PATH = "wsltui.tcss"
    TITLE = "wsltui"
    COMMANDS = App.COMMANDS | {WslProvider}
    BINDINGS = [
        *(
            Binding(str(i), f"panel('{p.key}')", p.title, show=False, id=f"panel-{p.key}")
            for i, p in enumerate(PANEL_INFO, 1)
        ),
        Binding("tab", "next_panel(1)", "Next panel", show=False, priority=True, id="next-panel"),
        Binding("shift+tab", "next_panel(-1)", "Prev panel", show=False, priority=True, id="prev-panel"),
        Binding("right_square_bracket", "next_panel(1)", "Next panel", show=False, key_display="]"),
        Binding("left_square_bracket", "next_panel(-1)", "Prev panel", show=False, key_display="["),
        Binding("question_mark,f1", "help", "Help", key_display="?", id="help"),
        Binding("slash", "filter", "Filter", key_display="/", id="filter"),
        # The footer shows a panel's own keys first, then only ?, / and q (plus R and u when they
        # apply): at 120 columns the rest would be cut. ? and the palette list every key.
        Binding("r", "refresh", "Refresh", show=False, id="refresh"),
        Binding("f8,ctrl+s", "save_screenshot", "Screenshot", key_display="f8", show=False, id="screenshot"),
        Binding(
            "w",
            "write_report",
            "Write report",
            show=False,
            id="write-report",
            tooltip="Write a redacted Markdown report for a support ticket (the raw one: command palette)",
        ),
        Binding(
            "R",
            "sudo",
            "sudo",
            id="sudo",
            tooltip="Some probes need root: give sudo your password once, then wsltui reads them",
        ),
        Binding(
            "u",
            "undo_last",
            "Undo",
            id="undo",
            tooltip="Undo the last change wsltui made (from here or `wsltui fix`): the plan first, y runs it",
        ),
        Binding("n", "next_demo", "Next demo", show=False, id="next-demo"),
        Binding("q,ctrl+q", "quit", "Quit", key_display="q", id="quit"),
    ]

    def __init__(
        self,
        sources: dict[str, Source],
        *,
        demo: str | None = None,
        ports: tuple[int, ...] = (),
        label: str = "",
        refresh: float = 0.0,
        read_only: bool = False,
    ) -> None:
        super().__init__()
        self.sources = sources
        self.read_only = read_only
        self.demo = demo
        self.ports = ports
        self.label = label
        self.refresh_every = refresh
        self.analysis = None
        self.states: dict[str, str] = {name: "loading" for name in sources}
        self.refreshing: set[str] = set()  # sources re-running in the background (periodic refresh)
        self.needs_root: dict[str, list[str]] = {}  # live source -> records sudo refused without a password
        self._told_needs_root = False
        self._loaded: dict[str, object] = {}
        self._source_generation: dict[str, int] = {}  # a source's result counts only if it is the latest run
        self._analysis_generation = 0  # the latest analysis asked for
        self._shown = 0  # the analysis generation the panels show
        self._refresh_timers: dict[str, Timer] = {}
        self._painted = False
        self.flow_request: tuple | None = None  # for the flow panel before it is first shown
        # Live tests (key l): records of the tests run in this session (merged into every analysis,
        # newest first), the flows being tested, and what a refused test would have done.
        self.live_records: dict[str, object] = {}
        self.live_testing: set[tuple] = set()
        self.live_notes: dict[tuple, str] = {}
        self.live_runner = run_live_test

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity="information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification (a widget's ``notify`` comes here too) is plain text with control
        characters escaped, whatever ``markup`` says: most quote data (an error, a path, a rule
        name) that Textual would otherwise parse as markup, and a terminal would obey."""
        super().notify(
            shown(message, multiline=True), title=shown(title), severity=severity, timeout=timeout, markup=False
        )

    # --- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield SafeStatic(self._topbar(), id="topbar")
        with PanelTabs(id="panels"):
            for i, info in enumerate(PANEL_INFO, 1):
                with TabPane(f"{i} {info.title}", id=f"tab-{info.key}"):
                    # The first frame builds Status only; the others are imported and mounted
                    # when first shown.
                    yield StatusPanel(id=info.key) if info.cls == StatusPanel.__name__ else PanelSlot(info)
        yield Footer(compact=True, show_command_palette=True)

    def on_mount(self) -> None:
        self.main_screen.query_one(Tabs).can_focus = False
        self._refresh_states()
        self.theme_changed_signal.subscribe(self, self._redraw_in_theme)

    def _redraw_in_theme(self, theme) -> None:
        """The verdict colours are the theme's (render.tone): the panels draw again in the new one."""
        for panel in self.main_screen.query(Panel):
            if panel.analysis is not None:
                panel.set_analysis(panel.analysis)

    def on_ready(self) -> None:
        """The first frame is on screen (the benchmark reads this): now start the sources."""
        path = os.environ.get(FIRST_PAINT_ENV)
        if path and not self._painted:
            with open(path, "w", encoding="utf-8") as f:
                f.write(f"{time.time():.6f} {time.process_time():.6f}\n")
        self._painted = True
        self.focus_active()
        self.start_sources()

    def _topbar(self) -> Text:
        t = Text()
        t.append(" wsltui ", style="bold reverse")
        where = f"demo {self.demo or ''}".strip() if self.demo is not None else (self.label or "live")
        t.append(f" {where} ", style="bold")
        if self.change_refusal():  # say it before anyone presses a change key
            t.append(" read-only demo " if self.demo is not None else " read-only ", style="bold black on yellow")
        a = self.analysis
        if a is not None:
            t.append(f" mode {a.world.mode} ", style="bold")
        for name, state in self.states.items():
            mark = (
                "…"
                if state == "loading"
                else "↻"
                if name in self.refreshing
                else ("✓" if state.startswith("ok") else "✗")
            )
            t.append(f" {name} {mark}", style=state_style(state))  # (seconds: in the loading lines)
        if self.refresh_every and any(getattr(fn, "periodic", False) for fn in self.sources.values()):
            if any(getattr(self.sources.get(name), "periodic", False) for name in self.needs_root):
                t.append("  auto-refresh paused: probes need root (R)", style=tone("unknown"))
            else:
                t.append(f"  every {self.refresh_every:g}s", style="dim")
        return t

    def _refresh_states(self) -> None:
        if self.closing:
            return
        self.main_screen.query_one("#topbar", Static).update(self._topbar())
        for panel in self.main_screen.query(Panel):
            panel.show_loading(self.states)

    # --- sources and analysis (thread workers that only post messages) --------------------

    def start_sources(self, names: Iterable[str] | None = None, *, background: bool = False) -> None:
        """Run ``names`` (default: every source) again. A source shows "loading" until it is
        back, unless ``background`` (the periodic refresh): then its current data stays on
        screen meanwhile. The other sources' data stays as it is."""
        for name in list(self.sources) if names is None else names:
            self._source_generation[name] = self._source_generation.get(name, 0) + 1
            if background:
                self.refreshing.add(name)
            else:
                self.states[name] = "loading"
                self.refreshing.discard(name)
            self._run_source(name, self.sources[name], self._source_generation[name])
        self._refresh_states()
        self.refresh_bindings()

    def _run_source(self, name: str, fn: Source, generation: int) -> None:
        def job() -> None:
            started = time.monotonic()
            snap, error = None, None
            try:
                snap = fn()
            except Exception as e:  # a source never crashes the app: it becomes a notification
                error = f"{type(e).__name__}: {e}"
            if not get_current_worker().is_cancelled:
                self.post_message(SourceLoaded(name, generation, snap, error, time.monotonic() - started))

        self.run_worker(
            job, name=f"source:{name}", group=f"source:{name}", thread=True, exclusive=True, exit_on_error=False
        )

    @on(SourceLoaded)
    def _source_loaded(self, msg: SourceLoaded) -> None:
        if self.closing or msg.generation != self._source_generation.get(msg.name):
            return
        background = msg.name in self.refreshing
        self.refreshing.discard(msg.name)
        previous = self._loaded.get(msg.name)
        if msg.error is not None:
            self.states[msg.name] = f"error: {msg.error}"
            self._loaded.pop(msg.name, None)  # its old data would now be a lie
            self.notify(f"{msg.name}: {msg.error}", title="Could not load", severity="error", markup=False)
        else:
            self.states[msg.name] = f"ok {msg.seconds:.2f}s"
            self._loaded[msg.name] = msg.snapshot
            self._note_needs_root(msg.name, msg.snapshot)
            if msg.snapshot.notes:  # what loading a snapshot ignored (names repr()-quoted)
                self.notify(
                    "\n".join(msg.snapshot.notes[:5]), title=f"{msg.name}: ignored", severity="warning", markup=False
                )
        self._refresh_states()
        unchanged = (
            background
            and previous is not None
            and msg.snapshot is not None
            and record_outputs(previous) == record_outputs(msg.snapshot)
        )
        if self._loaded and not unchanged:
            self._analyze(dict(self._loaded), dict(self.states))
        self._arm_refresh(msg.name)
        self.refresh_bindings()

    def _arm_refresh(self, name: str) -> None:
        """Run a periodic source again ``refresh_every`` seconds after its last run finished.
        Not while some of its probes need root: each run would add sudo's "a password is
        required" to the system's auth log; the sudo dialog (key R) or ``r`` carries on."""
        if not self.refresh_every or not getattr(self.sources.get(name), "periodic", False):
            return
        if name in self.needs_root:
            return
        old = self._refresh_timers.pop(name, None)
        if old is not None:
            old.stop()
        self._refresh_timers[name] = self.set_timer(self.refresh_every, partial(self._periodic_refresh, name))

    def _periodic_refresh(self, name: str) -> None:
        self._refresh_timers.pop(name, None)
        if self.closing or name not in self.sources:  # the sources were switched meanwhile
            return
        if len(self.screen_stack) > 1:  # a dialog is open: do not change what is behind it now
            self._arm_refresh(name)
            return
        self.start_sources([name], background=True)

    def _note_needs_root(self, name: str, snap) -> None:
        """Live probes that sudo refused without a password: offer the password dialog (key R)."""
        if not getattr(self.sources.get(name), "live", False):
            return
        from wsltui.probes.runner import NEEDS_ROOT

        needing = sorted(r.name for r in snap.records.values() if r.error == NEEDS_ROOT)
        if needing:
            self.needs_root[name] = needing
        else:
            self.needs_root.pop(name, None)
        if needing and not self._told_needs_root:
            self._told_needs_root = True
            self.notify(
                f"{plural(len(needing), 'probe')} {'needs' if len(needing) == 1 else 'need'} root: "
                f"{', '.join(needing)}. Press R to give sudo your "
                "password once (wsltui does not keep it).",
                title="Needs root",
                timeout=10,
                markup=False,
            )

    def _analyze(self, loaded: dict, states: dict[str, str]) -> None:
        ports, live, tested = self.ports, self.live, dict(self.live_records)
        self._analysis_generation += 1
        generation = self._analysis_generation

        def job() -> None:
            from wsltui.snapshot import Snapshot
            from wsltui.analysis import analyze

            merged = Snapshot()
            for snap in loaded.values():  # source order: the first source's meta wins
                merged.records.update(snap.records)
                for k, v in snap.meta.items():
                    merged.meta.setdefault(k, v)
            merged.records.update(tested)  # this session's live tests are the newest of their flows
            try:
                result = analyze(merged, ports, states)
                if live:  # the journal is a file: read it here, not on the UI thread
                    from wsltui.actions import disabled_rules

                    result = dataclasses.replace(result, disabled=tuple(disabled_rules()))
            except Exception as e:  # a core bug: say so, keep running
                if not get_current_worker().is_cancelled:
                    self.post_message(Analyzed(generation, None, f"{type(e).__name__}: {e}"))
                return
            if not get_current_worker().is_cancelled:
                self.post_message(Analyzed(generation, result))

        self.run_worker(job, name="analyze", group="analyze", thread=True, exclusive=True, exit_on_error=False)

    @on(Analyzed)
    def _analyzed(self, msg: Analyzed) -> None:
        if self.closing or msg.generation != self._analysis_generation:
            return
        if msg.error is not None:
            self.notify(
                f"wsltui could not analyse this snapshot ({msg.error}); please report it",
                title="Analysis failed",
                severity="error",
                markup=False,
            )
            return
        self.analysis = msg.analysis
        self._shown = msg.generation
        for err in msg.analysis.errors:
            self.notify(err, title="Parser problem", severity="warning", markup=False)
        with self.batch_update():
            for panel in self.main_screen.query(Panel):
                try:
                    panel.set_analysis(msg.analysis)
                except Exception as e:  # a rendering bug in one panel must not take the others down
                    self.notify(
                        f"{panel.TITLE}: {type(e).__name__}: {e}",
                        title="Display problem",
                        severity="error",
                        markup=False,
                    )
        self._refresh_states()
        if self.focused is None and self.screen is self.main_screen:
            self.focus_active()
        self.refresh_bindings()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.notify(
                f"{event.worker.name}: {event.worker.error}", title="Worker failed", severity="error", markup=False
            )

    # --- panels --------------------------------------------------------------------------

    @property
    def settled(self) -> bool:
        """Every source finished, and the panel on screen (mounted when first shown) shows the
        latest analysis (tests, reports and screenshots wait for it)."""
        if self.refreshing or any(s == "loading" for s in self.states.values()):
            return False
        if self._analysis_generation and self._shown != self._analysis_generation:
            return False
        if self.analysis is not None:
            panel = self.panel(self.active_key)
            if panel is None or panel.analysis is not self.analysis or panel.busy:
                return False
        return not any(w.is_running for w in self.workers)

    @property
    def closing(self) -> bool:
        """The app is shutting down (its widgets go before its screens): late results and timers
        do nothing."""
        return not self.is_running or not self.screen_stack

    @property
    def main_screen(self):
        """The screen with the panels. ``App.query`` searches the screen on top, which is a dialog
        while one is open (help, sudo, rule details); the data keeps arriving meanwhile."""
        return self.screen_stack[0]

    @property
    def active_key(self) -> str:
        return (self.main_screen.query_one("#panels", TabbedContent).active or "tab-status").removeprefix("tab-")

    def panel(self, key: str) -> Panel | None:
        """The panel, or None while it has not been shown yet (panels mount lazily)."""
        return next((w for w in self.main_screen.query(f"#{key}") if isinstance(w, Panel)), None)

    def focus_active(self) -> None:
        panel = self.panel(self.active_key)
        if panel is not None:
            panel.focus_main()

    def action_panel(self, key: str) -> None:
        # The focus leaves the panel being hidden first: Textual blurs a focused widget when it
        # is hidden and hands the focus to a sibling of it, in the hidden tab, which TabbedContent
        # then shows again (a number key seemed to do nothing, now and then, on a loaded machine).
        # The new panel takes the focus once it is shown (focus_active).
        self.main_screen.set_focus(None)
        self.main_screen.query_one("#panels", TabbedContent).active = f"tab-{key}"
        self.call_after_refresh(self.focus_active)
        self.refresh_bindings()

    def panel_action(self, key: str, action: str) -> None:
        """Show panel ``key`` and run ``action`` there (the palette's panel keys)."""
        self.action_panel(key)

        async def run(tries: int = 50) -> None:
            panel = self.panel(key)
            if panel is None or panel.analysis is None:  # mounted when first shown; data after that
                if tries and not self.closing:
                    self.set_timer(0.05, partial(run, tries - 1))
                return
            await panel.run_action(action)

        self.call_after_refresh(run)

    def action_next_panel(self, delta: int) -> None:
        keys = [p.key for p in PANEL_INFO]
        i = (keys.index(self.active_key) + delta) % len(keys)
        self.action_panel(keys[i])

    @on(TabbedContent.TabActivated)
    async def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        focused = self.main_screen.focused
        if focused is not None and event.pane not in focused.ancestors:  # a tab clicked: as in action_panel
            self.main_screen.set_focus(None)
        slots = list(event.pane.query(PanelSlot))
        for slot in slots:
            await slot.replace()
        if slots or focused is not None and self.main_screen.focused is None:
            # a panel shown for the first time (action_panel's focus found only its slot), or a tab clicked
            self.call_after_refresh(self.focus_active)
        self.refresh_bindings()

    def flow_target(self) -> tuple[str, int, str] | None:
        """(scenario, port, proto) the Flow panel traces, or will trace when first shown."""
        flow = self.panel("flow")
        if flow is not None and flow.port:  # type: ignore[attr-defined]
            return flow.scenario, flow.port, flow.proto  # type: ignore[attr-defined]
        if self.flow_request is not None:
            scenario, port, proto = self.flow_request[:3]
            return scenario or FLOW_SCENARIOS[0], port, proto
        if self.analysis is None:
            return None
        from wsltui.tui.panels.flow import default_target

        return default_target(self.analysis)

    def open_flow(self, scenario: str | None, port: int, proto: str, hop: int | None = None) -> None:
        """Flow on ``scenario`` x ``proto``/``port``, with hop number ``hop`` (0-based) selected
        (None: the first blocker)."""
        flow = self.panel("flow")
        if flow is None:  # not mounted yet: it picks the request up when it mounts
            self.flow_request = (scenario, port, proto, hop)
        else:
            flow.select(scenario=scenario, port=port, proto=proto, hop=hop)  # type: ignore[attr-defined]
        self.action_panel("flow")

    # --- changes (wsltui/tui/changes.py): a plan in a dialog, nothing runs without y ----------

    @property
    def live(self) -> bool:
        return any(getattr(src, "live", False) for src in self.sources.values())

    def change_refusal(self) -> str | None:
        """Why no change can be applied from this app (None: it can), as the plan dialog says it."""
        from wsltui.actions import read_only

        if self.demo is not None:
            return "demo: read-only — nothing will run"
        if not self.live:
            return f"snapshot {self.label or 'file'}: read-only — nothing will run (not the live system)"
        if self.read_only or read_only():
            return "read-only (--read-only or WSLTUI_READ_ONLY) — nothing will run"
        return None

    def propose(self, build, what: str, *, reads_live: bool = True, preview=None) -> None:
        """Show the plan ``build()`` returns. ``reads_live``: building it reads the live rules,
        which a demo or a snapshot file is not about: there ``preview()`` is shown instead (what
        the key does, from the snapshot alone). --read-only on the live system builds the real
        plan (reading changes nothing) and shows it marked read-only."""
        from wsltui.tui.changes import Preview, build_plan_worker

        if reads_live and not self.live:
            build = preview or (
                lambda: Preview(what, [f"builds its plan from the live rules: {self.change_refusal()}"])
            )
        build_plan_worker(self, build, what)

    def action_undo_last(self) -> None:
        from wsltui.actions import undo_preview
        from wsltui.tui.changes import undo_preview_here

        self.propose(undo_preview, "undo the last change", preview=lambda: undo_preview_here(self.change_refusal()))

    @on(PlanBuilt)
    def _plan_built(self, msg: PlanBuilt) -> None:
        from wsltui.tui.changes import PlanScreen

        if msg.plan is None:
            self.notify(msg.error, severity="warning", timeout=8)
            return
        self.push_screen(PlanScreen(msg.plan, self.change_refusal(), what=msg.what), self._plan_done)

    def _plan_done(self, applied: bool | None) -> None:
        if applied:
            self.start_sources()

    # --- live tests (key l): the real connection, in a worker; the observation is a record ------

    def run_live(self, scenario: str, port: int, proto: str) -> None:
        """Send the real connection of scenario × port (at most the test's stated budget, never on
        the UI thread). A demo or a snapshot says what the test would do and runs nothing."""
        from wsltui.simulation.simulate import Scenario

        a, key = self.analysis, (scenario, port, proto)
        if a is None or key in self.live_testing:
            return
        self.live_notes.pop(key, None)
        if not self.live:
            self.live_notes[key] = live_refusal(self.demo, self.label, scenario, port, proto)
            self.notify(self.live_notes[key], title="Live test", severity="warning", timeout=8)
            self._live_changed()
            return
        from wsltui.actions import read_only

        world, trace, runner, quiet = (
            a.world,
            a.trace(scenario, port, proto),
            self.live_runner,
            self.read_only or read_only(),
        )

        def job() -> None:
            try:
                result = runner(world, Scenario(scenario, port, proto), trace, quiet)
                self.post_message(LiveTested(key, result.observation, result.record))
            except Exception as e:  # a bug in the test must not take the app down
                self.post_message(LiveTested(key, error=f"{type(e).__name__}: {e}"))

        self.live_testing.add(key)
        self._live_changed()
        self.run_worker(job, name="live test", group="live", thread=True, exit_on_error=False)

    @on(LiveTested)
    def _live_tested(self, msg: LiveTested) -> None:
        self.live_testing.discard(msg.key)
        if self.closing:
            return
        if msg.error:
            self.live_notes[msg.key] = f"the live test failed: {msg.error}"
            self.notify(self.live_notes[msg.key], title="Live test", severity="error", markup=False)
            self._live_changed()
            return
        self.live_records[msg.record.name] = msg.record
        if self._loaded:
            self._analyze(dict(self._loaded), dict(self.states))  # the panels show it with the analysis

    def _live_changed(self) -> None:
        for key in ("flow", "status"):
            panel = self.panel(key)
            if panel is not None and panel.analysis is not None and hasattr(panel, "show_live"):
                panel.show_live()

    @on(Copied)
    def _copied(self, msg: Copied) -> None:
        from wsltui.tui.commands import finish_copy

        finish_copy(self, msg)

    @on(OpenFlow)
    def _open_flow_for_socket(self, msg: OpenFlow) -> None:
        a = self.analysis
        row = a.row(msg.key) if a is not None else None
        if row is None:
            return
        # Start where it hurts: the first scenario that is blocked, else the first.
        blocked = [sc for sc, t in row.traces.items() if t.reachable is False]
        self.open_flow(blocked[0] if blocked else FLOW_SCENARIOS[0], row.target.port, row.target.proto)

    # --- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "filter":  # hidden where there is nothing to search (known before the panel mounts)
            info = next((i for i in PANEL_INFO if i.key == self.active_key), None)
            return info is not None and info.load().HAS_FILTER
        if action == "next_demo":
            return self.demo is not None
        if action == "sudo":
            return bool(self.needs_root)
        if action == "refresh":
            return None if any(s == "loading" for s in self.states.values()) else True
        return True

    def action_live_test(self) -> None:
        target = self.flow_target()
        if target is not None:
            self.run_live(*target)

    def action_filter(self) -> None:
        panel = self.panel(self.active_key)
        if panel is not None and panel.HAS_FILTER:
            panel.start_filter()

    def action_refresh(self) -> None:
        self.start_sources()
        self.notify("Refreshing: " + ", ".join(self.sources), timeout=2)

    def action_sudo(self) -> None:
        from wsltui.tui.sudo import SudoScreen

        if self.needs_root and not isinstance(self.screen, SudoScreen):
            probes = [p for names in self.needs_root.values() for p in names]
            self.push_screen(SudoScreen(probes), self._sudo_done)

    def _sudo_done(self, validated: bool | None) -> None:
        if validated:
            self.notify("sudo accepted the password; reading the probes that need root again", title="sudo", timeout=4)
            self.start_sources(list(self.needs_root))

    def action_help(self) -> None:
        from wsltui.tui.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_save_screenshot(self, chrome: bool = False, redact: bool = False) -> None:
        """An SVG of the panel for a ticket: the content only (no toast; the footer and tabs only
        with ``chrome``), redacted with ``redact``. What the screen shows, saved once it is redrawn
        without them; a panel longer than the screen is drawn whole instead, from the same data."""
        from wsltui.tui.report import content_cut, hide_chrome

        if self.screen is not self.main_screen:  # a dialog is open: nothing of it belongs in the image
            return
        if self.analysis is not None and content_cut(self):
            self._save_whole_panel(chrome, redact)
            return
        self.call_after_refresh(self._save_screenshot, hide_chrome(self, chrome), redact)

    def _save_screenshot(self, hidden: list, redact: bool) -> None:
        from wsltui.tui.report import screenshot_svg

        try:
            svg = screenshot_svg(self, f"wsltui {self.active_key}", redact)
        except ValueError as e:
            self.notify(str(e), title="Screenshot", severity="warning")
            return
        finally:
            for w in hidden:
                w.display = True
        self._write_screenshot(svg, redact)

    def _save_whole_panel(self, chrome: bool, redact: bool) -> None:
        """The active panel drawn whole by a headless copy of this app over the same snapshot
        (as wide as the screen, as tall as the panel), in a worker."""
        snap, panel, width = self.analysis.snapshot, self.active_key, self.size.width

        def same_data():
            return snap

        same_data.live = self.live  # the copy says what this app says (live or not, read-only or not)
        options = dict(
            size=(width, self.size.height),
            ports=self.ports,
            demo=self.demo,
            label=self.label,
            panel=panel,
            redact=redact,
            chrome=chrome,
            flow=self.flow_target(),
            read_only=self.read_only,
        )

        def job() -> None:
            from wsltui.tui.report import render_svg

            try:
                svg = render_svg({"snapshot": same_data}, **options)
            except ValueError as e:
                self.call_from_thread(self.notify, str(e), title="Screenshot", severity="warning")
                return
            self.call_from_thread(self._write_screenshot, svg, redact)

        self.notify("The panel is longer than the screen: drawing all of it…", title="Screenshot", timeout=3)
        self.run_worker(job, name="screenshot", group="screenshot", thread=True, exit_on_error=False)

    def _write_screenshot(self, svg: str, redact: bool) -> None:
        from wsltui import safe_files

        where = os.environ.get(SCREENSHOT_DIR_ENV) or os.getcwd()
        stem = f"wsltui-{self.active_key}-{datetime.now().strftime('%Y%m%d-%H%M%S')}{'-redacted' if redact else ''}"
        try:  # a new name (never over a file or through a link planted there); 0600 unless redacted
            path = safe_files.create_unique(
                where, stem, ".svg", svg, safe_files.SHARED if redact else safe_files.PRIVATE
            )
        except OSError as e:
            self.notify(f"Could not save the screenshot in {where}: {e.strerror}", severity="error", markup=False)
            return
        self.notify(f"Screenshot saved to {path}", title="Screenshot", markup=False)

    def action_write_report(self, redact: bool = True) -> None:
        """A Markdown report of what the app shows (plus the Flow port), in the screenshot
        directory; written in a worker. Redacted by default (it goes into tickets); unredacted
        (``redact=False``, the palette's explicit entry) the raw snapshot is written beside it."""
        a = self.analysis
        if a is None:
            self.notify("Nothing to write yet: the data is still loading", severity="warning")
            return
        where = os.environ.get(SCREENSHOT_DIR_ENV) or os.getcwd()
        target = self.flow_target()
        listened = {r.target.port for r in a.rows}
        ports = tuple(sorted(listened | {target[1]})) if target and target[1] not in listened else ()

        def job() -> None:
            from wsltui.report import write_ticket

            try:
                self.post_message(Written(write_ticket(a.snapshot, a.facts, where, ports=ports, redact=redact)))
            except OSError as e:
                self.post_message(Written([], f"could not write in {where}: {e.strerror or e}"))
            except Exception as e:  # a bug: say so, never a traceback on screen
                self.post_message(Written([], f"internal error {type(e).__name__}: {e}"))

        self.run_worker(job, name="write", group="write", thread=True, exit_on_error=False)

    @on(Written)
    def _written(self, msg: Written) -> None:
        if msg.error:
            self.notify(msg.error, title="Report", severity="error", markup=False)
        else:
            self.notify("Wrote " + " and ".join(msg.paths), title="Report", timeout=8, markup=False)

    def action_next_demo(self) -> None:
        from wsltui import demos

        names = demos.names()
        current = self.demo or demos.DEFAULT
        i = (names.index(current) + 1) % len(names) if current in names else 0
        self.switch_demo(names[i])

    def switch_demo(self, name: str) -> None:
        self.demo = name
        self.sources = demo_source(name)
        self.states = {n: "loading" for n in self.sources}
        self._loaded = {}
        self.live_notes.clear()
        self._analysis_generation += 1  # an analysis of the previous demo still on its way is dropped
        self.analysis = None
        for panel in self.main_screen.query(Panel):
            panel.analysis = None
        flow = self.panel("flow")
        if flow is not None:
            flow.chosen = False  # type: ignore[attr-defined]  # a new demo: its own most instructive target
        self.start_sources()
        self.notify(f"Demo: {name}", timeout=2)


def live_refusal(demo: str | None, label: str, scenario: str, port: int, proto: str) -> str:
    """What a live test would do, on a demo or a snapshot where nothing may run."""
    from wsltui.simulation.trace import CLIENT_OF, LINUX, WINDOWS
    from wsltui.views.scenarios import scenario_text

    where = (
        "demo: read-only — nothing will run"
        if demo is not None
        else f"snapshot {label or ''}: read-only — nothing will run (it is not the live system)".replace("  ", " ")
    )
    client = CLIENT_OF.get(scenario)
    sender = {WINDOWS: "from Windows (one powershell.exe)", LINUX: "from WSL"}.get(
        client, "— it starts on another machine, so only what can be sent from here"
    )
    return (
        f"{where}. On the live system, l sends the real connection ({scenario_text(scenario, port)}, {proto}) "
        f"{sender}, watches Linux with a temporary nft trace table (as root) and sets the result beside this trace. "
        "Skipped here: the connection, the trace table, any temporary listener."
    )
