"""What every panel shares: a loading state until the first analysis arrives, then ``show``."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Static

from wsltui.tui.panels import PANEL_INFO
from wsltui.tui.render import state_style
from wsltui.tui.safe_static import SafeStatic


class VimScroll(VerticalScroll, can_focus=True):
    """A scrollable area that also answers j/k and g/G."""

    BINDINGS = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
    ]


class Panel(Vertical):
    """A panel: shows "loading" for each source until data arrives. Its ``KEY`` (also its id)
    and ``TITLE`` come from its entry in ``PANEL_INFO``."""

    TITLE = ""
    KEY = ""
    HAS_FILTER = False
    CHANGE_ACTIONS: frozenset[str] = frozenset()  # dimmed where nothing can be changed (app.change_refusal)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        info = next((i for i in PANEL_INFO if i.cls == cls.__name__), None)
        if info is not None:
            cls.KEY, cls.TITLE = info.key, info.title

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in self.CHANGE_ACTIONS:
            return None if self.app.change_refusal() else True
        return True

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.analysis = None

    def compose(self):
        yield SafeStatic(Text("loading…", style="yellow"), classes="loading")
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
        if w is not None and w.display:
            self.focus_widget(w)

    def start_filter(self) -> None:
        pass
