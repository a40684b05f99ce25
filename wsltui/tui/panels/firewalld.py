"""firewalld: state, default and active zones, and per zone its target, interfaces, sources,
services, ports, protocols, forward ports and rich rules (active and default zones first)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from wsltui.tui.changes import allow_binding, propose_allow, propose_removal
from wsltui.tui.panels.base import Panel
from wsltui.tui.panels.tables import VimTree
from wsltui.tui.render import bool_word, unknown_text
from wsltui.tui.safe_static import SafeStatic


# The zone entries a person can select, as FirewalldItem kinds (wsltui/actions/rules.py).
ENTRIES = (("service", "services"), ("port", "ports"), ("protocol", "protocols"), ("source-port", "source_ports"),
           ("forward-port", "forward_ports"), ("icmp-block", "icmp_blocks"), ("rich-rule", "rich_rules"))


class FirewalldPanel(Panel):
    CHANGE_ACTIONS = frozenset({"add_allow", "delete_entry"})  # space still folds a zone
    BINDINGS = [
        Binding("space", "disable_entry", "Disable", id="firewalld-disable", priority=True,
                tooltip="Remove the selected zone entry (runtime and permanent), remembered to enable again "
                        "from the Netfilter panel's list; on a zone, space folds it"),
        allow_binding("firewalld", "firewalld"),
        Binding("d", "delete_entry", "Delete", id="firewalld-delete"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.items: dict = {}  # tree node id -> FirewalldItem

    def compose_body(self):
        yield SafeStatic(id="firewalld-body")
        tree = VimTree("zones", id="firewalld-tree")
        tree.show_root = False
        yield tree

    def main_widget(self):
        return self.query_one("#firewalld-tree")

    def show(self, a) -> None:
        fw = a.facts.firewalld
        self.query_one("#firewalld-body", Static).update(render_firewalld(fw))
        tree = self.query_one("#firewalld-tree", VimTree)
        line = tree.cursor_line
        tree.clear()
        self.items = build_zone_tree(tree.root, fw)
        tree.display = bool(tree.root.children)
        tree.cursor_line = max(0, line)

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


def build_zone_tree(root, fw) -> dict:
    """Zones (active and default first) with their entries; returns node id -> FirewalldItem."""
    from wsltui.actions import FirewalldItem

    items: dict = {}
    if fw is None or fw.zones_unknown or not fw.zones:
        return items
    active_names = {z.name for z in fw.active_zones}
    zones = sorted(fw.zones, key=lambda z: (not (z.active or z.name in active_names or z.default
                                                 or z.name == fw.default_zone), z.name))
    quiet = []
    for z in zones:
        important = z.active or z.default or z.name in active_names or z.name == fw.default_zone
        if not important and not (z.ports or z.rich_rules or z.interfaces or z.sources):
            quiet.append(f"{z.name} ({z.target or 'default'})")
            continue
        node = root.add(_zone_title(z, fw.default_zone), expand=important)
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
        root.add_leaf(Text("other zones (no interfaces, sources, ports or rich rules): " + ", ".join(quiet), style="dim"))
    return items


def _zone_title(z, default_zone) -> Text:
    title = Text(f"zone {z.name}", style="bold magenta")
    flags = [f for f in ("default" if (z.default or z.name == default_zone) else "", "active" if z.active else "") if f]
    if flags:
        title.append(f"  ({', '.join(flags)})", style="bold")
    title.append(f"  target {z.target or 'default'}")
    if z.target in ("default", "%%REJECT%%", ""):
        title.append("  (anything not allowed below is rejected)", style="dim")
    return title


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
