"""``WslTuiApp``: the panels, the keys, and the workers that feed them.

Data flow: each *source* (a callable returning a Snapshot: the Linux probes, the Windows probes,
a demo or a file) runs in its own thread worker and posts ``SourceLoaded``. The app merges the
snapshots loaded so far and runs ``analyze`` (facts + traces) in another thread worker, which
posts ``Analyzed``; only then do the panels render. The first frame never waits for a probe,
and Linux facts never wait for Windows.

``make_app(source)`` is the factory tests and the CLI use; nothing here touches the system
unless the source does.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.lazy import Lazy
from textual.widgets import Footer, Static, TabbedContent, TabPane, Tabs
from textual.worker import Worker, WorkerState, get_current_worker

from wsltui.tui.messages import Analyzed, SourceLoaded
from wsltui.tui.panels import PANELS
from wsltui.tui.panels.base import Panel
from wsltui.tui.panels.flow import FlowPanel
from wsltui.tui.panels.sockets import SocketsPanel
from wsltui.tui.render import state_style
from wsltui.tui.scenarios import FLOW_SCENARIOS, SHORT

Source = Callable[[], object]  # returns a wsltui.snapshot.Snapshot
FIRST_PAINT_ENV = "WSLTUI_FIRST_PAINT_FILE"  # bench: write time.time() at the first painted frame
SCREENSHOT_DIR_ENV = "WSLTUI_SCREENSHOT_DIR"


def live_sources() -> dict[str, Source]:
    """The live system: Linux probes and Windows (interop) probes, as separate sources."""

    def linux():
        from wsltui.probes.capture import capture
        from wsltui.probes.records import LINUX_PROBES

        return capture(LINUX_PROBES)

    def windows():
        from wsltui.probes.capture import capture
        from wsltui.probes.records import INTEROP_PROBES

        return capture(INTEROP_PROBES)

    return {"linux": linux, "windows": windows}


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


def make_app(source: Source | Mapping[str, Source], *, demo: str | None = None, ports: tuple[int, ...] = (),
             label: str = "") -> WslTuiApp:
    """The app over ``source``: one callable returning a Snapshot, or ``{name: callable}`` for
    sources that load independently (live: linux + windows). ``demo`` names the bundled demo
    being shown (enables switching demos); ``ports`` adds ports nobody may listen on."""
    sources = dict(source) if isinstance(source, Mapping) else {"snapshot": source}
    return WslTuiApp(sources, demo=demo, ports=tuple(ports), label=label)


class WslProvider(Provider):
    """Command palette: every panel, action, scenario (per listener) and demo."""

    def _commands(self) -> list[tuple[str, Callable, str]]:
        app: WslTuiApp = self.app  # type: ignore[assignment]
        cmds: list[tuple[str, Callable, str]] = []
        for i, panel in enumerate(PANELS, 1):
            cmds.append((f"Panel: {panel.TITLE}", partial(app.action_panel, panel.KEY), f"key {i}"))
        cmds += [
            ("Refresh", app.action_refresh, "key r: run the sources again"),
            ("Save screenshot (SVG)", app.action_save_screenshot, "key f8 / ctrl+s"),
            ("Help: every key", app.action_help, "key ?"),
            ("Filter the sockets table", partial(app.action_filter), "key /"),
            ("Quit", app.action_quit, "key q"),
        ]
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


class WslTuiApp(App):
    """wsltui: why can't Windows or the LAN reach my WSL2 service?"""

    CSS_PATH = "wsltui.tcss"
    TITLE = "wsltui"
    COMMANDS = App.COMMANDS | {WslProvider}
    BINDINGS = [
        *(Binding(str(i), f"panel('{p.KEY}')", p.TITLE, show=False, id=f"panel-{p.KEY}")
          for i, p in enumerate(PANELS, 1)),
        Binding("tab", "next_panel(1)", "Next panel", show=False, priority=True, id="next-panel"),
        Binding("shift+tab", "next_panel(-1)", "Prev panel", show=False, priority=True, id="prev-panel"),
        Binding("right_square_bracket", "next_panel(1)", "Next panel", show=False, key_display="]"),
        Binding("left_square_bracket", "next_panel(-1)", "Prev panel", show=False, key_display="["),
        Binding("question_mark,f1", "help", "Help", key_display="?", id="help"),
        Binding("slash", "filter", "Filter", key_display="/", id="filter"),
        Binding("r", "refresh", "Refresh", id="refresh"),
        Binding("f8,ctrl+s", "save_screenshot", "Screenshot", key_display="f8", id="screenshot"),
        Binding("d", "next_demo", "Next demo", id="next-demo"),
        Binding("q,ctrl+q", "quit", "Quit", key_display="q", id="quit"),
    ]

    def __init__(self, sources: dict[str, Source], *, demo: str | None = None, ports: tuple[int, ...] = (),
                 label: str = "") -> None:
        super().__init__()
        self.sources = sources
        self.demo = demo
        self.ports = ports
        self.label = label
        self.analysis = None
        self.states: dict[str, str] = {name: "loading" for name in sources}
        self._loaded: dict[str, object] = {}
        self._generation = 0
        self._painted = False
        self._shown = 0  # the generation the panels show
        self.flow_request: tuple | None = None  # for the flow panel before it is first shown

    # --- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(self._topbar(), id="topbar")
        with TabbedContent(id="panels"):
            for i, panel in enumerate(PANELS, 1):
                with TabPane(f"{i} {panel.TITLE}", id=f"tab-{panel.KEY}"):
                    # Hidden panels mount when first shown: the first frame only builds Status.
                    yield panel(id=panel.KEY) if i == 1 else Lazy(panel(id=panel.KEY))
        yield Footer(compact=True, show_command_palette=True)

    def on_mount(self) -> None:
        self.query_one(Tabs).can_focus = False
        self._refresh_states()
        self.start_sources()

    def on_ready(self) -> None:
        """The first frame is on screen (the benchmark reads this)."""
        path = os.environ.get(FIRST_PAINT_ENV)
        if path and not self._painted:
            with open(path, "w", encoding="utf-8") as f:
                f.write(f"{time.time():.6f}\n")
        self._painted = True
        self.focus_active()

    def _topbar(self) -> Text:
        t = Text()
        t.append(" wsltui ", style="bold reverse")
        where = f"demo {self.demo or ''}".strip() if self.demo is not None else (self.label or "live")
        t.append(f" {where} ", style="bold")
        a = self.analysis
        if a is not None:
            t.append(f" mode {a.world.mode} ", style="bold")
        for name, state in self.states.items():
            mark = "…" if state == "loading" else ("✓" if state.startswith("ok") else "✗")
            t.append(f" {name} {mark}", style=state_style(state))  # (seconds: in the loading lines)
        return t

    def _refresh_states(self) -> None:
        self.query_one("#topbar", Static).update(self._topbar())
        for panel in self.query(Panel):
            panel.show_loading(self.states)

    # --- sources and analysis (thread workers that only post messages) --------------------

    def start_sources(self) -> None:
        self._generation += 1
        self._loaded = {}
        self.states = {name: "loading" for name in self.sources}
        self._refresh_states()
        for name, fn in self.sources.items():
            self._run_source(name, fn, self._generation)
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

        self.run_worker(job, name=f"source:{name}", group=f"source:{name}", thread=True, exclusive=True,
                        exit_on_error=False)

    @on(SourceLoaded)
    def _source_loaded(self, msg: SourceLoaded) -> None:
        if msg.generation != self._generation:
            return
        if msg.error is not None:
            self.states[msg.name] = f"error: {msg.error}"
            self.notify(f"{msg.name}: {msg.error}", title="Could not load", severity="error", markup=False)
        else:
            self.states[msg.name] = f"ok {msg.seconds:.2f}s"
            self._loaded[msg.name] = msg.snapshot
        self._refresh_states()
        if self._loaded:
            self._analyze(dict(self._loaded), msg.generation, dict(self.states))
        self.refresh_bindings()

    def _analyze(self, loaded: dict, generation: int, states: dict[str, str]) -> None:
        ports = self.ports

        def job() -> None:
            from wsltui.snapshot import Snapshot
            from wsltui.tui.analysis import analyze

            merged = Snapshot()
            for snap in loaded.values():  # source order: the first source's meta wins
                merged.records.update(snap.records)
                for k, v in snap.meta.items():
                    merged.meta.setdefault(k, v)
            try:
                result = analyze(merged, ports, states)
            except Exception as e:  # a core bug: say so, keep running
                if not get_current_worker().is_cancelled:
                    self.post_message(Analyzed(generation, None, f"{type(e).__name__}: {e}"))
                return
            if not get_current_worker().is_cancelled:
                self.post_message(Analyzed(generation, result))

        self.run_worker(job, name="analyze", group="analyze", thread=True, exclusive=True, exit_on_error=False)

    @on(Analyzed)
    def _analyzed(self, msg: Analyzed) -> None:
        if msg.generation != self._generation:
            return
        if msg.error is not None:
            self.notify(f"wsltui could not analyse this snapshot ({msg.error}); please report it",
                        title="Analysis failed", severity="error", markup=False)
            return
        self.analysis = msg.analysis
        self._shown = msg.generation
        for err in msg.analysis.errors:
            self.notify(err, title="Parser problem", severity="warning", markup=False)
        with self.batch_update():
            for panel in self.query(Panel):
                try:
                    panel.set_analysis(msg.analysis)
                except Exception as e:  # a rendering bug in one panel must not take the others down
                    self.notify(f"{panel.TITLE}: {type(e).__name__}: {e}", title="Display problem",
                                severity="error", markup=False)
        self._refresh_states()
        if self.focused is None:
            self.focus_active()
        self.refresh_bindings()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.notify(f"{event.worker.name}: {event.worker.error}", title="Worker failed", severity="error",
                        markup=False)

    # --- panels --------------------------------------------------------------------------

    @property
    def settled(self) -> bool:
        """Every source finished and the panels show the latest analysis (tests and reports wait for it)."""
        if any(s == "loading" for s in self.states.values()):
            return False
        if self._loaded and (self.analysis is None or self._shown != self._generation):
            return False
        return not any(w.is_running for w in self.workers)

    @property
    def active_key(self) -> str:
        return (self.query_one("#panels", TabbedContent).active or "tab-status").removeprefix("tab-")

    def panel(self, key: str) -> Panel | None:
        """The panel, or None while it has not been shown yet (panels mount lazily)."""
        return next((w for w in self.query(f"#{key}") if isinstance(w, Panel)), None)

    def focus_active(self) -> None:
        panel = self.panel(self.active_key)
        if panel is not None:
            panel.focus_main()

    def action_panel(self, key: str) -> None:
        self.query_one("#panels", TabbedContent).active = f"tab-{key}"
        self.call_after_refresh(self.focus_active)
        self.refresh_bindings()

    def action_next_panel(self, delta: int) -> None:
        keys = [p.KEY for p in PANELS]
        i = (keys.index(self.active_key) + delta) % len(keys)
        self.action_panel(keys[i])

    @on(TabbedContent.TabActivated)
    def _tab_activated(self) -> None:
        self.refresh_bindings()

    def open_flow(self, scenario: str | None, port: int, proto: str) -> None:
        flow = self.panel("flow")
        if flow is None:  # not mounted yet: it picks the request up when it mounts
            self.flow_request = (scenario, port, proto)
        else:
            flow.select(scenario=scenario, port=port, proto=proto)  # type: ignore[attr-defined]
        self.action_panel("flow")

    @on(SocketsPanel.OpenFlow)
    def _open_flow_for_socket(self, msg: SocketsPanel.OpenFlow) -> None:
        a = self.analysis
        row = a.row(msg.key) if a is not None else None
        if row is None:
            return
        # Start where it hurts: the first scenario that is blocked, else the first.
        blocked = [sc for sc, t in row.traces.items() if t.reachable is False]
        self.open_flow(blocked[0] if blocked else FLOW_SCENARIOS[0], row.target.port, row.target.proto)

    # --- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "filter":
            return True if self._active_panel_class().HAS_FILTER else None
        if action == "next_demo":
            return self.demo is not None
        if action == "refresh":
            return None if any(s == "loading" for s in self.states.values()) else True
        return True

    def _active_panel_class(self) -> type[Panel]:
        return next(p for p in PANELS if p.KEY == self.active_key)

    def action_filter(self) -> None:
        panel = self.panel(self.active_key)
        if panel is not None and panel.HAS_FILTER:
            panel.start_filter()

    def action_refresh(self) -> None:
        self.start_sources()
        self.notify("Refreshing: " + ", ".join(self.sources), timeout=2)

    def action_help(self) -> None:
        from wsltui.tui.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_save_screenshot(self) -> str:
        where = os.environ.get(SCREENSHOT_DIR_ENV) or os.getcwd()
        name = f"wsltui-{self.active_key}-{datetime.now().strftime('%Y%m%d-%H%M%S')}.svg"
        try:
            path = self.save_screenshot(filename=name, path=where)
        except OSError as e:
            self.notify(f"Could not save the screenshot in {where}: {e.strerror}", severity="error", markup=False)
            return ""
        self.notify(f"Screenshot saved to {path}", title="Screenshot", markup=False)
        return path

    def action_next_demo(self) -> None:
        from wsltui import demos

        names = demos.names()
        current = self.demo or demos.DEFAULT
        i = (names.index(current) + 1) % len(names) if current in names else 0
        self.switch_demo(names[i])

    def switch_demo(self, name: str) -> None:
        self.demo = name
        self.sources = demo_source(name)
        self.analysis = None
        for panel in self.query(Panel):
            panel.analysis = None
        flow = self.panel("flow")
        if flow is not None:
            flow.port = None  # type: ignore[attr-defined]
        self.start_sources()
        self.notify(f"Demo: {name}", timeout=2)
