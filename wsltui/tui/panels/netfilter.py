"""Netfilter: source → table → chain (policy, owner) → rule, verbatim, for iptables-nft and
iptables-legacy in both families and the native nft ruleset. A warning when legacy and nft
both hold rules (both filter every packet). The rule (or chain policy) that decides the Flow
packet is marked, ``b`` goes to it; ``/`` finds rules and chains by their text."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from wsltui.tui.changes import allow_binding, propose_allow, propose_removal
from wsltui.tui.panels.base import Panel, SearchBox, blocker_binding, decision_mark
from wsltui.tui.panels.tables import TreeFinder, TreeSearch, VimTree
from wsltui.tui.render import record_outputs, tone, unknown_text
from wsltui.tui.safe_static import SafeStatic
from wsltui.vocabulary import plural


FRONT_END = {
    "nf.iptables-nft": "iptables-nft",
    "nf.ip6tables-nft": "ip6tables-nft",
    "nf.iptables-legacy": "iptables-legacy",
    "nf.ip6tables-legacy": "ip6tables-legacy",
    "nf.nft": "nft",
}


class NetfilterPanel(TreeSearch, Panel):
    HAS_FILTER = True
    FIREWALL = "netfilter"
    CHANGE_ACTIONS = frozenset({"add_allow", "delete_rule"})  # space still folds a chain
    BINDINGS = [
        # priority: the tree binds space to folding; on a chain or table it still folds.
        Binding("space", "toggle_rule", "On/off", id="rule-toggle", priority=True),
        allow_binding("netfilter", "the selected ruleset, ahead of the selected rule"),
        Binding("d", "delete_rule", "Delete", id="rule-delete"),
        blocker_binding("netfilter"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._inputs: dict | None = None  # the nf.* records the tree was built from
        self.rules: dict = {}  # tree node id -> facts rule, or a DisabledRule
        self.nodes: dict = {}  # rule_id() of a rule or chain -> its tree node
        self._marked: dict = {}  # node id -> (node, its label before the mark)

    DEFAULT_CSS = """
    #netfilter-flow {
        height: auto;
        padding: 0 1;
    }
    """

    def compose_body(self):
        yield SafeStatic(id="netfilter-warnings")
        yield SafeStatic(id="netfilter-flow")
        yield SearchBox(
            placeholder="find: rule text, chain, table… (↑↓ previous/next, enter: go, esc clears)",
            id="netfilter-search",
        )
        tree = VimTree("netfilter", id="netfilter-tree")
        tree.show_root = False
        tree.guide_depth = 3
        self.finder = TreeFinder(tree)
        yield tree

    def main_widget(self):
        return self.query_one("#netfilter-tree")

    def show(self, a) -> None:
        warnings = render_warnings(a)
        box = self.query_one("#netfilter-warnings", Static)
        box.update(warnings)
        box.display = bool(warnings.plain.strip())
        inputs = (record_outputs(a.snapshot, "nf."), [d.id for d in a.disabled])
        if inputs == self._inputs:  # a refresh that read the same rules: leave the tree as it is
            return
        self._inputs = inputs
        tree = self.query_one("#netfilter-tree", VimTree)
        expanded = _expanded_paths(tree.root)
        line = tree.cursor_line
        tree.clear()  # (the scroll position survives a rebuild: tests/tui/test_refresh.py)
        self.rules, self.nodes, self._marked = {}, {}, {}
        self._marked_for = None
        self.finder.forget()
        self._add_disabled(tree.root, a.disabled)
        build_tree(tree.root, a, expanded or None, self.rules, self.nodes)
        tree.cursor_line = max(0, line)

    # --- the Flow packet's deciding rule, and `/` ---------------------------------------------

    def show_marks(self, decisions: list) -> None:
        self.query_one("#netfilter-flow", Static).update(self._flow_line(decisions))
        for node, label in self._marked.values():
            node.set_label(label)
        self._marked = {}
        for d in decisions:
            node = self.nodes.get(rule_id(d.key.source, d.key.family, d.key.table, d.key.chain, d.key.position))
            if node is None:
                continue
            label = self._marked.get(node.id, (node, node.label))[1]
            self._marked[node.id] = (node, label)
            node.set_label(Text.assemble(label, decision_mark(d)))

    def _flow_line(self, decisions: list) -> Text:
        """One line on top: where the Flow packet is decided in these rules, and the key to go there."""
        blocker = next((d for d in decisions if d.blocks or d.key.blocks), None)
        if blocker is not None:
            hop = self.flow_trace().hops[blocker.hop - 1]
            return Text.assemble(
                (f"{self._flow_words()}: hop {blocker.hop} ", "bold"),
                (f"{'blocked' if blocker.blocks else 'maybe blocked'} by {hop.location}", tone("blocked", bold=True)),
                ("  b: go to it", "dim"),
            )
        if not decisions:
            return Text(f"{self._flow_words()}: not decided in these rules", style="dim")
        hops = sorted({d.hop for d in decisions})
        return Text(
            f"{self._flow_words()}: hop {', '.join(map(str, hops))} let through (rules and policies marked ✓)"
            "  b: go to the first",
            style="dim",
        )

    def jump_to(self, decision) -> bool:
        k = decision.key
        node = self.nodes.get(rule_id(k.source, k.family, k.table, k.chain, k.position))
        return self.go_to(node)

    def _add_disabled(self, root, gone) -> None:
        """Rules disabled with wsltui are gone from the rules; space puts one back where it was.
        (ufw and firewalld ones too: this is the one list of them.)"""
        if not gone:
            return
        node = root.add(
            Text("disabled by wsltui (space: enable again)", style=tone("unknown", bold=True)),
            data="disabled",
            expand=True,
        )
        for d in gone:
            leaf = node.add_leaf(Text.assemble((f"{d.time}  ", "dim"), d.ref.label), data=f"disabled {d.id}")
            self.rules[leaf.id] = d

    # --- keys: each builds a plan in a worker and shows it (wsltui/tui/changes.py) -----------

    def _selected(self):
        tree = self.query_one("#netfilter-tree", VimTree)
        node = tree.cursor_node
        if node is None:
            return None, None
        rule = self.rules.get(node.id)
        while node is not None and node.data not in FRONT_END:
            node = node.parent
        return rule, (FRONT_END.get(node.data) if node is not None else None)

    def action_toggle_rule(self) -> None:
        from wsltui import actions

        rule, _ = self._selected()
        if rule is None:
            self.query_one("#netfilter-tree", VimTree).action_toggle_node()
        elif isinstance(rule, actions.DisabledRule):
            self.app.propose(lambda: actions.enable_plan(rule), "enable rule")
        else:
            propose_removal(self, "disable", rule, "rule")

    def action_delete_rule(self) -> None:
        from wsltui import actions

        rule, _ = self._selected()
        if rule is None or isinstance(rule, actions.DisabledRule):
            self.notify("select a rule first", timeout=3)
            return
        propose_removal(self, "delete", rule, "rule")

    def action_add_allow(self) -> None:
        from wsltui.actions import DisabledRule

        rule, source = self._selected()
        if source is None:
            self.notify("select a ruleset (iptables or nft) first", timeout=3)
            return
        propose_allow(self, source, at=None if isinstance(rule, DisabledRule) else rule)


def _path(node) -> tuple[str, ...]:
    out = []
    while node is not None and node.parent is not None:
        out.append(str(node.data or node.label))
        node = node.parent
    return tuple(reversed(out))


def _expanded_paths(root) -> set[tuple[str, ...]]:
    out = set()
    stack = list(root.children)
    while stack:
        n = stack.pop()
        if n.is_expanded:
            out.add(_path(n))
        stack.extend(n.children)
    return out


def render_warnings(a) -> Text:
    f = a.facts
    t = Text()
    ipt = f.iptables
    nft = f.nft
    if ipt is None:
        t.append("iptables: unknown (parser failure)\n", style=tone("unknown"))
        return t
    for w in ipt.warnings:
        t.append(f"⚠ {w}\n", style=tone("unknown", bold=True))
    legacy = [rs.record for rs in (ipt.iptables_legacy, ipt.ip6tables_legacy) if rs.unknown is None and rs.is_active()]
    nft_rules = [rs.record for rs in (ipt.iptables_nft, ipt.ip6tables_nft) if rs.unknown is None and rs.is_active()]
    if nft is not None and nft.unknown is None and any(c.rules for tb in nft.tables for c in tb.chains):
        nft_rules.append("nf.nft")
    if legacy and nft_rules:
        t.append(
            f"⚠ legacy and nft both hold rules ({', '.join(legacy)} and {', '.join(nft_rules)}): "
            "a packet must pass both\n",
            style=tone("unknown", bold=True),
        )
    return t


def _owner(tag: str) -> Text:
    style = {"firewalld": tone("note"), "ufw": tone("key"), "docker": tone("tag"), "wsl": tone("ok")}.get(tag, "dim")
    return Text(f" [{tag}]", style=style)


def rule_id(source: str, family: str, table: str, chain: str, position: int | None) -> tuple:
    """A rule (or, position None, a chain) as the simulator names it (decided.RuleKey)."""
    return source, family, table, chain, position


def build_tree(root, a, expanded, rules: dict, nodes: dict) -> None:
    """Fill ``root``; ``rules`` gets node id -> rule for every rule leaf, ``nodes`` rule_id() ->
    node for every rule and chain."""
    f = a.facts
    # Chains a blocker names are opened; the rest stay folded.
    hot = " ".join(h.location or "" for _, _, t in a.blockers for h in t.blockers)
    ipt = f.iptables
    if ipt is not None:
        for rs in ipt.rulesets():
            label = Text.assemble((f"iptables-{rs.backend} {rs.family}", "bold"), (f"  ({rs.record})", "dim"))
            if rs.unknown is not None:
                root.add_leaf(label.append_text(Text("  ")).append_text(unknown_text(rs.unknown)), data=rs.record)
                continue
            if not rs.tables:
                root.add_leaf(label.append("  no tables", style="dim"), data=rs.record)
                continue
            src = root.add(label, data=rs.record, expand=_want(expanded, (rs.record,), rs.is_active()))
            for w in rs.problems:
                src.add_leaf(Text(f"problem: {w}", style=tone("unknown")))
            for table in rs.tables:
                tn = src.add(
                    Text(f"table {table.name}", style="bold"),
                    data=f"table {table.name}",
                    expand=_want(expanded, (rs.record, f"table {table.name}"), True),
                )
                for chain in table.chains:
                    lab = Text(chain.name, style="bold")
                    if chain.policy:
                        lab.append(
                            f"  policy {chain.policy}", style=tone("blocked") if chain.policy != "ACCEPT" else "dim"
                        )
                    lab.append_text(_owner(chain.owner))
                    lab.append(f"  {plural(len(chain.rules), 'rule')}", style="dim")
                    path = (rs.record, f"table {table.name}", chain.name)
                    source = f"iptables-{rs.backend}"
                    if not chain.rules:
                        nodes[rule_id(source, rs.family, table.name, chain.name, None)] = tn.add_leaf(
                            lab, data=chain.name
                        )
                        continue
                    cn = tn.add(
                        lab,
                        data=chain.name,
                        expand=_want(
                            expanded,
                            path,
                            f"chain {chain.name}," in hot or (chain.builtin and chain.policy not in (None, "ACCEPT")),
                        ),
                    )
                    nodes[rule_id(source, rs.family, table.name, chain.name, None)] = cn
                    for r in chain.rules:
                        leaf = cn.add_leaf(
                            Text.assemble((f"{r.position:>3} ", "dim"), r.verbatim), data=f"rule {r.position}"
                        )
                        rules[leaf.id] = r
                        nodes[rule_id(source, rs.family, table.name, chain.name, r.position)] = leaf
    nft = f.nft
    label = Text.assemble(("nft", "bold"), ("  (nf.nft: nft -j list ruleset)", "dim"))
    if nft is None:
        root.add_leaf(label.append("  unknown: parser failure", style=tone("unknown")), data="nf.nft")
        return
    if nft.unknown is not None:
        root.add_leaf(label.append_text(Text("  ")).append_text(unknown_text(nft.unknown)), data="nf.nft")
        return
    if not nft.tables:
        root.add_leaf(label.append("  empty ruleset", style="dim"), data="nf.nft")
        return
    src = root.add(label, data="nf.nft", expand=_want(expanded, ("nf.nft",), True))
    for tb in nft.tables:
        tl = Text(f"table {tb.family} {tb.name}", style="bold")
        if tb.managed_by_iptables:
            tl.append(f"  (iptables-nft: {tb.managed_reason or 'shown above'})", style="dim")
        tkey = f"table {tb.family} {tb.name}"
        tn = src.add(tl, data=tkey, expand=_want(expanded, ("nf.nft", tkey), not tb.managed_by_iptables))
        for ch in tb.chains:
            lab = Text(ch.name, style="bold")
            if ch.base:
                lab.append(f"  {ch.type} hook {ch.hook} priority {ch.priority_text or ch.priority}", style="dim")
                if ch.policy:
                    lab.append(f" policy {ch.policy}", style=tone("blocked") if ch.policy != "accept" else "dim")
            lab.append(f"  {plural(len(ch.rules), 'rule')}", style="dim")
            if not ch.rules:
                nodes[rule_id("nft", tb.family, tb.name, ch.name, None)] = tn.add_leaf(lab, data=ch.name)
                continue
            cn = tn.add(
                lab, data=ch.name, expand=_want(expanded, ("nf.nft", tkey, ch.name), f"chain {ch.name}," in hot)
            )
            nodes[rule_id("nft", tb.family, tb.name, ch.name, None)] = cn
            for r in ch.rules:
                leaf = cn.add_leaf(
                    Text.assemble(
                        (f"{r.position:>3} ", "dim"),
                        r.text or "(rule)",
                        (f"  # handle {r.handle}" if r.handle is not None else "", "dim"),
                    ),
                    data=f"rule {r.position}",
                )
                rules[leaf.id] = r
                nodes[rule_id("nft", tb.family, tb.name, ch.name, r.position)] = leaf
        for s in tb.sets:
            tn.add_leaf(
                Text.assemble(("set ", "dim"), s.name, (f"  {s.type}  {plural(len(s.elements), 'element')}", "dim")),
                data=f"set {s.name}",
            )


def _want(expanded, path, default: bool) -> bool:
    if expanded is None:
        return default
    return path in expanded
