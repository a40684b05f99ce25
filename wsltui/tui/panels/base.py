"""What every panel shares: a loading state until the first analysis arrives, then ``show``."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Input, Static

from wsltui.tui.panels import PANEL_INFO
from wsltui.tui.render import state_style, tone
from wsltui.tui.safe_static import SafeStatic


class VimScroll(VerticalScroll, can_focus=True):
    """A scrollable area that also answers j/k and g/G."""

    BINDINGS = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
    ]


class SearchBox(Input):
    """``/`` in a panel that lists things: what is typed is text, never a key of the app.

    The Input takes printable keys before the app's bindings see them; the panel's own keys,
    some of them priority bindings (space), step aside while it has focus (``Panel.check_action``).
    enter goes back to the list (the cursor stays on the match), escape clears, up/down go to the
    previous/next match."""

    DEFAULT_CSS = """
    SearchBox {
        height: 3;
        display: none;
    }
    """
    BINDINGS = [
        Binding("down", "step(1)", "Next match", show=False),
        Binding("up", "step(-1)", "Previous match", show=False),
    ]

    def action_step(self, delta: int) -> None:
        panel = next((a for a in self.ancestors if isinstance(a, Panel)), None)
        if panel is not None:
            panel.search_step(delta)


def blocker_binding(key: str) -> Binding:
    """``b`` in a panel that lists rules: to the one deciding the Flow packet."""
    return Binding(
        "b",
        "jump_blocker",
        "Flow blocker",
        id=f"{key}-blocker",
        tooltip="Jump to what decides the Flow panel's packet here: the blocker, else what lets it through",
    )


def decision_mark(d, hop: bool = True) -> Text:
    """How a row says it decided the Flow packet (a ``decided.Decision``; ``hop``: name the hop):
    the blocker styled as Flow styles it, a rule that lets the packet through quietly."""
    it = f"Flow hop {d.hop}" if hop else "it"
    if d.blocks:
        return Text(f"  ◀ blocks {it}", style=tone("blocked", bold=True))
    if d.key.blocks:
        return Text(f"  ◀ may block {it} (undecided)", style=tone("unknown"))
    if d.key.verdict == "unknown" or d.hop_verdict == "unknown":
        return Text(f"  ◀ undecided: {it}", style=tone("unknown"))
    if d.hop_verdict == "assumed":
        return Text(f"  ✓ lets {it} through (assumed)", style=tone("assumed"))
    return Text(f"  ✓ lets {it} through", style=tone("ok"))


class Panel(Vertical, can_focus=True):
    """A panel: shows "loading" for each source until data arrives. Its ``KEY`` (also its id)
    and ``TITLE`` come from its entry in ``PANEL_INFO``."""

    BINDINGS = [Binding("escape", "clear_search", "Clear search", show=False)]
    TITLE = ""
    KEY = ""
    HAS_FILTER = False  # composes a SearchBox (``search_box``): `/` searches
    FIREWALL = ""  # whose rules the panel lists (decided.RuleKey.firewall): it marks what decides the Flow packet
    # The change keys: where nothing can be changed (a demo, a snapshot, --read-only) they show
    # the plan marked read-only (app.propose); help marks them.
    CHANGE_ACTIONS: frozenset[str] = frozenset()

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        info = next((i for i in PANEL_INFO if i.cls == cls.__name__), None)
        if info is not None:
            cls.KEY, cls.TITLE = info.key, info.title

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "clear_search":
            return self.HAS_FILTER or False
        focused = self.app.focused
        if isinstance(focused, SearchBox) and self in focused.ancestors:
            return False  # typing a search: a letter is a letter (the key goes on to the box)
        return True

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.analysis = None
        self._marked_for: tuple | None = None  # (analysis, Flow target) the marks show

    def compose(self):
        yield SafeStatic(Text("loading…", style=tone("unknown")), classes="loading")
        yield from self.compose_body()

    def compose_body(self):
        return iter(())

    def on_mount(self) -> None:
        """Panels mount lazily: catch up with what the app already has."""
        app = self.app
        self.show_loading(getattr(app, "states", {}))
        if getattr(app, "analysis", None) is not None and self.analysis is None:
            self.call_after_refresh(self._catch_up)

    def _catch_up(self) -> None:
        if self.analysis is None and self.app.analysis is not None:
            self.set_analysis(self.app.analysis)
        if getattr(self.app, "active_key", None) == self.id:
            self.focus_main()

    def show_loading(self, states: dict[str, str]) -> None:
        """Per-source state while no analysis is shown yet (and while refreshing)."""
        found = self.query(".loading")
        if not found:  # not composed yet
            return
        loading = found.first()
        if self.analysis is not None:
            loading.display = False
            return
        text = Text()
        for name, state in states.items():
            mark = "…" if state == "loading" else ("✓" if state.startswith("ok") else "✗")
            text.append(f"{mark} {name} probes: {state}\n", style=state_style(state))
        loading.update(text)
        loading.display = True

    def set_analysis(self, analysis) -> None:
        if not self.query(".loading"):  # a lazily mounted panel not composed yet: try after the next refresh
            self.call_after_refresh(self.set_analysis, analysis)
            return
        previous, self.analysis = self.analysis, analysis
        try:
            self.show(analysis)
        except NoMatches:  # its children are still being mounted: the same, after the next refresh
            self.analysis = previous
            self.call_after_refresh(self.set_analysis, analysis)
            return
        self.query_one(".loading", Static).display = False
        self.refresh_marks()
        focused = self.screen.focused
        if focused is None or self not in focused.ancestors_with_self:  # the first data on screen
            self.focus_main()

    def show(self, analysis) -> None:
        raise NotImplementedError

    @property
    def busy(self) -> bool:
        """Still placing what ``show`` drew (the app is not settled meanwhile)."""
        return False

    def main_widget(self) -> Widget | None:
        return None

    @property
    def on_screen(self) -> bool:
        """This panel's tab is the one shown."""
        return getattr(self.app, "active_key", None) == self.id

    def focus_widget(self, widget: Widget, scroll_visible: bool = True) -> None:
        """Focus ``widget`` now, if this panel is still the one shown. A panel focuses late (after
        a refresh, once it has drawn), and by then the user may have left it: a widget focused in
        a hidden tab makes TabbedContent show that tab again, so on a loaded machine a number key
        seemed to do nothing now and then. (``Widget.focus`` would defer the focus once more, past
        this check: hence the screen's ``set_focus``.)"""
        if self.on_screen and widget.is_attached:
            self.screen.set_focus(widget, scroll_visible=scroll_visible)

    def focus_main(self, retry: bool = True) -> None:
        if not self.on_screen or self.analysis is None:  # (without data, what to focus is not known yet:
            return  # set_analysis focuses it once shown)
        try:
            w = self.main_widget()
        except NoMatches:  # shown before its children are mounted (a loaded machine): once more after a refresh
            if retry:
                self.call_after_refresh(self.focus_main, False)
            return
        # Where nothing in it can take the focus (ufw not installed: no table), the panel itself
        # takes it, so its keys (b, /) still answer.
        self.focus_widget(w if w is not None and w.display else self)

    # --- `/`: the panels with HAS_FILTER compose a SearchBox and answer search_changed -------

    def search_box(self) -> SearchBox | None:
        found = self.query(SearchBox)
        return found.first() if found else None

    def start_filter(self) -> None:
        box = self.search_box()
        if box is not None:
            box.display = True
            box.focus()

    def action_clear_search(self) -> None:
        box = self.search_box()
        if box is not None and (box.value or box.display):
            box.value = ""
            box.display = False
            self.search_changed("")
            self.focus_main()

    def on_input_changed(self, event: Input.Changed) -> None:
        if isinstance(event.input, SearchBox):
            event.stop()
            self.search_changed(event.value.strip())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if isinstance(event.input, SearchBox):
            event.stop()
            self.search_submitted()

    def search_text(self) -> str:
        box = self.search_box()
        return box.value.strip() if box is not None else ""

    def search_changed(self, text: str) -> None:
        """The search text changed: filter or go to the first match."""

    def search_submitted(self) -> None:
        self.focus_main()

    def search_step(self, delta: int) -> None:
        """up/down in the search box: the previous/next match (a list: the previous/next row)."""
        w = self.main_widget()
        action = getattr(w, "action_cursor_down" if delta > 0 else "action_cursor_up", None)
        if action is not None:
            action()

    # --- the Flow packet's deciding rule (FIREWALL panels) ----------------------------------

    def flow_decisions(self) -> list:
        """What decides the Flow panel's packet in this panel's firewall (decided.Decision)."""
        trace = self.flow_trace()
        if trace is None or not self.FIREWALL:
            return []
        from wsltui.simulation.decided import decisions

        return decisions(trace, self.FIREWALL)

    def flow_trace(self):
        target = self.app.flow_target() if self.analysis is not None else None
        if target is None:
            return None
        scenario, port, proto = target
        return self.analysis.trace(scenario, port, proto)

    def on_show(self) -> None:
        """The Flow packet may have changed while another panel was shown."""
        if self.FIREWALL and self.analysis is not None and self._marked_for != self._mark_state():
            self.refresh_marks()

    def _mark_state(self) -> tuple:
        return (self.analysis, self.app.flow_target())

    def refresh_marks(self) -> None:
        if not self.FIREWALL or self.analysis is None:
            return
        self._marked_for = self._mark_state()
        self.show_marks(self.flow_decisions())

    def show_marks(self, decisions: list) -> None:
        """Mark the rows ``decisions`` name (and unmark the others)."""

    def jump_to(self, decision) -> bool:
        """Put the cursor on the row of ``decision``; False when this panel has none."""
        return False

    def action_jump_blocker(self) -> None:
        self.refresh_marks()
        found = self.flow_decisions()
        ranked = [d for d in found if d.blocks] + [d for d in found if not d.blocks]
        for d in ranked:
            if self.jump_to(d):
                if d.blocks:
                    return
                if d.key.blocks or d.key.verdict == "unknown" or d.hop_verdict == "unknown":
                    self.notify(
                        f"{self._flow_words()}: wsltui cannot tell whether this stops it (hop {d.hop})", timeout=4
                    )
                else:
                    self.notify(
                        f"{self._flow_words()}: nothing here blocks it; this lets it through (hop {d.hop})", timeout=4
                    )
                return
        self.notify(self._not_here(found), timeout=6)

    def _flow_words(self) -> str:
        from wsltui.views.scenarios import SHORT

        target = self.app.flow_target()
        if target is None:
            return "Flow"
        scenario, port, proto = target
        return f"Flow {SHORT.get(scenario, scenario)} {proto}/{port}"

    def _not_here(self, found: list) -> str:
        what = self._flow_words()
        trace = self.flow_trace()
        if trace is None:
            return f"{what}: nothing to trace yet"
        if found:
            hop = trace.hops[found[0].hop - 1]
            return f"{what}: hop {found[0].hop} is decided by {hop.edit or hop.layer}, which is not a row here"
        first = trace.first_blocker
        number = next((n for n, h in enumerate(trace.hops, 1) if h is first), None)
        if first is None:
            return f"{what}: nothing in {self.TITLE} decides it"
        where = f"hop {number}, {first.layer}" if number else first.layer
        return f"{what} is not decided in {self.TITLE}: the first blocker is {where}"
