"""firewalld: state, default and active zones, and per zone its target, interfaces, sources,
services, ports, protocols, forward ports and rich rules (active and default zones first). The
zone that decides the Flow packet is marked with the part of it that did (its target, a rich rule,
its allowed ports and services), ``b`` goes to it; ``/`` finds entries by their text."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from wsltui.simulation.attribution import ZONE_PARTS
from wsltui.tui.changes import allow_binding, propose_allow, propose_removal
from wsltui.tui.panels.base import Panel, SearchBox, blocker_binding, decision_mark
from wsltui.tui.panels.tables import TreeFinder, TreeSearch, VimTree
from wsltui.tui.render import bool_word, tone, unknown_text
from wsltui.tui.safe_static import SafeStatic
from wsltui.vocabulary import zone_target


# The zone entries a person can select, as FirewalldItem kinds (wsltui/actions/rules/shared.py).
ENTRIES = (
    ("service", "services"),
    ("port", "ports"),
    ("protocol", "protocols"),
    ("source-port", "source_ports"),
    ("forward-port", "forward_ports"),
    ("icmp-block", "icmp_blocks"),
    ("rich-rule", "rich_rules"),
)


class FirewalldPanel(TreeSearch, Panel):
    HAS_FILTER = True
    FIREWALL = "netfilter"  # the decisions in chains firewalld owns name their zone
    CHANGE_ACTIONS = frozenset({"add_allow", "delete_entry"})  # space still folds a zone
    BINDINGS = [
        Binding(
            "space",
            "disable_entry",
            "Disable",
            id="firewalld-disable",
            priority=True,
            tooltip="Remove the selected zone entry (runtime and permanent), remembered to enable again "
            "from the Netfilter panel's list; on a zone, space folds it",
        ),
        allow_binding("firewalld", "firewalld"),
        Binding("d", "delete_entry", "Delete", id="firewalld-delete"),
        blocker_binding("firewalld"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.items: dict = {}  # tree node id -> FirewalldItem
        self.zones: dict = {}  # zone name -> (its tree node, its title)
        self._marked: dict[str, bool] = {}  # the zones whose title shows a mark

    def compose_body(self):
        yield SafeStatic(id="firewalld-body")
        yield SearchBox(
            placeholder="find: zone, service, port, rich rule… (↑↓ previous/next, enter: go, esc clears)",
            id="firewalld-search",
        )
        tree = VimTree("zones", id="firewalld-tree")
        tree.show_root = False
        self.finder = TreeFinder(tree)
        yield tree

    def main_widget(self):
        return self.query_one("#firewalld-tree")

    def show(self, a) -> None:
        fw = a.facts.firewalld
        self.query_one("#firewalld-body", Static).update(render_firewalld(fw))
        tree = self.query_one("#firewalld-tree", VimTree)
        line = tree.cursor_line
        tree.clear()
        self.zones, self._marked = {}, {}
        self._marked_for = None
        self.finder.forget()
        self.items = build_zone_tree(tree.root, fw, self.zones)
        tree.display = bool(tree.root.children)
        tree.cursor_line = max(0, line)

    # --- the Flow packet's deciding zone, and `/` -----------------------------------------------

    def flow_decisions(self) -> list:
        return [d for d in super().flow_decisions() if d.key.zone is not None]

    def show_marks(self, decisions: list) -> None:
        marks: dict[str, Text] = {}
        for d in decisions:
            part = ZONE_PARTS.get(d.key.part or "", "the zone's target")
            marks[d.key.zone] = Text.assemble(marks.get(d.key.zone, ""), decision_mark(d), (f" ({part})", "dim"))
        for zone, (node, title) in self.zones.items():
            if zone in marks or self._marked.pop(zone, False):
                node.set_label(Text.assemble(title, marks.get(zone, "")))
        self._marked = dict.fromkeys(marks, True)

    def jump_to(self, decision) -> bool:
        node, _ = self.zones.get(decision.key.zone, (None, None))
        return self.go_to(node)

    def action_add_allow(self) -> None:
        propose_allow(self, "firewalld")

    def _selected(self):
        node = self.query_one("#firewalld-tree", VimTree).cursor_node
        return self.items.get(node.id) if node is not None else None

    def action_disable_entry(self) -> None:
        item = self._selected()
        if item is None:
            self.query_one("#firewalld-tree", VimTree).action_toggle_node()
            return
        # firewalld keeps runtime and permanent apart: the change goes to both, as `a` does.
        propose_removal(self, "disable", item, f"firewalld {item.kind}", persist=True)

    def action_delete_entry(self) -> None:
        item = self._selected()
        if item is None:
            self.notify("select a zone entry first", timeout=3)
            return
        propose_removal(self, "delete", item, f"firewalld {item.kind}", persist=True)


def build_zone_tree(root, fw, titles: dict) -> dict:
    """Zones (active and default first) with their entries; returns node id -> FirewalldItem, and
    fills ``titles`` (zone name -> (node, title))."""
    from wsltui.actions import FirewalldItem

    items: dict = {}
    if fw is None or fw.zones_unknown or not fw.zones:
        return items
    active_names = {z.name for z in fw.active_zones}
    zones = sorted(
        fw.zones,
        key=lambda z: (not (z.active or z.name in active_names or z.default or z.name == fw.default_zone), z.name),
    )
    quiet = []
    for z in zones:
        important = z.active or z.default or z.name in active_names or z.name == fw.default_zone
        if not important and not (z.ports or z.rich_rules or z.interfaces or z.sources):
            quiet.append(f"{z.name} ({zone_target(z.target)})")
            continue
        title = _zone_title(z, fw.default_zone)
        node = root.add(title, expand=important)
        titles[z.name] = (node, title)
        node.add_leaf(Text.assemble(("interfaces ", "bold"), " ".join(z.interfaces) or "-"))
        node.add_leaf(Text.assemble(("sources    ", "bold"), " ".join(z.sources) or "-"))
        if z.masquerade:
            node.add_leaf(Text.assemble(("masquerade ", "bold"), "yes"))
        for kind, attr in ENTRIES:
            for entry in getattr(z, attr, None) or ():
                value = entry if isinstance(entry, str) else entry.text
                leaf = node.add_leaf(Text.assemble((f"{kind:<11}", "bold"), value))
                items[leaf.id] = FirewalldItem(z.name, kind, value)
    if quiet:
        root.add_leaf(
            Text("other zones (no interfaces, sources, ports or rich rules): " + ", ".join(quiet), style="dim")
        )
    return items


def _zone_title(z, default_zone) -> Text:
    title = Text(f"zone {z.name}", style=tone("note", bold=True))
    flags = [f for f in ("default" if (z.default or z.name == default_zone) else "", "active" if z.active else "") if f]
    if flags:
        title.append(f"  ({', '.join(flags)})", style="bold")
    title.append(f"  target {zone_target(z.target)}")
    if z.target in ("default", "%%REJECT%%", ""):
        title.append("  (anything not allowed below is rejected)", style="dim")
    return title


def render_firewalld(fw) -> Group:
    if fw is None:
        return Group(Text("unknown: the firewalld facts could not be parsed", style=tone("unknown")))
    parts: list = []
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold", no_wrap=True)
    head.add_column()
    state = unknown_text(fw.unknown) if fw.unknown else bool_word(fw.running, "running", "not running")
    if fw.reason:
        state.append(f"  ({fw.reason})", style="dim")
    head.add_row("state", state)
    head.add_row(
        "default zone",
        unknown_text(fw.default_zone_unknown) if fw.default_zone_unknown else Text(fw.default_zone or "-"),
    )
    if fw.active_unknown:
        head.add_row("active zones", unknown_text(fw.active_unknown))
    else:
        head.add_row(
            "active zones",
            Text(
                "; ".join(
                    f"{z.name}: "
                    + ", ".join([*(f"interface {i}" for i in z.interfaces), *(f"source {s}" for s in z.sources)])
                    for z in fw.active_zones
                )
                or "none"
            ),
        )
    parts.append(head)
    for p in fw.problems:
        parts.append(Text(f"problem: {p}", style=tone("unknown")))
    if fw.zones_unknown:
        parts.append(unknown_text(fw.zones_unknown, "zones: "))
    return Group(*parts)
