"""The table and tree widgets of the panels: j/k and g/G alongside the arrows, a table that
stays fast with thousands of rows, and every cell and label shown as literal text with control
characters escaped (``views.safe_text``; a DataTable or Tree would parse a ``str`` as markup).
(Apart from ``base`` so that the first frame, which shows the Status panel only, does not import
DataTable.)"""

from __future__ import annotations

from itertools import zip_longest

from textual.binding import Binding
from textual.geometry import Size
from textual.widgets import DataTable, Tree
from textual.widgets._data_table import DuplicateKey, Row, RowKey

from wsltui.views.safe_rich import safe_renderable


def _cell(value):
    """A one-line cell or label as it may be shown."""
    return safe_renderable(value, multiline=False)


class VimTable(DataTable):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
    ]

    def add_column(self, label, **kwargs):
        return super().add_column(_cell(label), **kwargs)

    def add_row(self, *cells, label=None, **kwargs):
        return super().add_row(*map(_cell, cells), label=_cell(label), **kwargs)

    def update_cell(self, row_key, column_key, value, **kwargs) -> None:
        super().update_cell(row_key, column_key, _cell(value), **kwargs)

    def update_cell_at(self, coordinate, value, **kwargs) -> None:
        super().update_cell_at(coordinate, _cell(value), **kwargs)


class FastTable(VimTable):
    """A DataTable for thousands of rows: fixed-width columns, rows replaced all at once.

    Two costs of DataTable that decide nothing here are skipped (measured with 5,000 Windows
    rules on this machine):

    - it measures every cell of every new row to size auto-width columns, even when no column
      is auto-width (1.2-2.3 s before the table painted). With fixed widths only the scrollable
      size is set, as DataTable does after measuring;
    - ``add_row`` recomputes the column order and re-validates the cursor for each row (0.75 s
      for every sort or filter). ``replace_rows`` fills the same structures in one pass.

    Both lean on DataTable internals (Textual 8.2); ``tests/tui/test_windows.py`` checks the
    result against a stock DataTable filled row by row, so a Textual upgrade that changes them
    fails there. Rows have no label and a height of 1."""

    def replace_rows(self, rows: list[tuple[str, tuple]]) -> None:
        """Make ``rows`` ((key, cells), in order) the table's rows. The columns stay."""
        self.clear()
        columns = self.ordered_columns
        for index, (key, cells) in enumerate(rows):
            row_key = RowKey(key)
            if row_key in self.rows:
                raise DuplicateKey(f"The row key {row_key!r} already exists.")
            self._row_locations[row_key] = index
            self._data[row_key] = {column.key: _cell(cell) for column, cell in zip_longest(columns, cells)}
            self.rows[row_key] = Row(row_key, 1)
            self._new_rows.add(row_key)
        self._require_update_dimensions = True
        self._update_count += 1
        self.cursor_coordinate = self.cursor_coordinate  # re-validated against the new rows
        if self.row_count and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self.check_idle()

    def _update_dimensions(self, new_rows) -> None:
        columns = self.columns.values()
        if any(c.auto_width for c in columns):
            super()._update_dimensions(new_rows)
            return
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(
            sum(c.get_render_width(self) for c in columns) + self._row_label_column_width,
            self._total_row_height + header,
        )


class VimTree(Tree):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
    ]

    def process_label(self, label):
        return super().process_label(_cell(label))

    def reveal(self, node) -> None:
        """Open ``node``'s ancestors and put the cursor on it."""
        parent = node.parent
        while parent is not None:
            if not parent.is_expanded:
                parent.expand()
            parent = parent.parent
        self._tree_lines  # noqa: B018  the lines are built lazily (on idle): now, so that node.line is known
        self.move_cursor(node, animate=False)
        # Scrolling needs the new height, which the next layout gives.
        self.call_after_refresh(self.scroll_to_node, node, animate=False)


class TreeFinder:
    """``/`` in a tree: the nodes whose label holds the text (any case), in the tree's order,
    folded ones included; the cursor goes to the first one from where it is, then to the next or
    previous. The labels are read once per tree content (``forget`` after a rebuild): a search in
    10,000 rules is a scan of 10,000 short strings."""

    def __init__(self, tree: VimTree) -> None:
        self.tree = tree
        self.matches: list = []
        self.at = 0
        self._index: list | None = None  # (node, its label in lower case), in tree order

    def forget(self) -> None:
        self._index, self.matches = None, []

    def find(self, text: str) -> None:
        if self._index is None:
            self._index = [(n, n.label.plain.lower()) for n in _walk(self.tree.root)]
        needle = text.lower()
        found = [(i, n) for i, (n, label) in enumerate(self._index) if needle in label] if needle else []
        cursor = self.tree.cursor_node
        here = next((i for i, (n, _) in enumerate(self._index) if n is cursor), 0) if found else 0
        self.matches = [n for _, n in found]
        self.at = next((k for k, (i, _) in enumerate(found) if i >= here), 0)
        self._show()

    def step(self, delta: int) -> None:
        if self.matches:
            self.at = (self.at + delta) % len(self.matches)
            self._show()

    def summary(self, text: str) -> str:
        if not text:
            return ""
        if not self.matches:
            return "no match"
        return f"{self.at + 1}/{len(self.matches)}  ↑↓ previous/next"

    def _show(self) -> None:
        if self.matches:
            self.tree.reveal(self.matches[self.at])


class TreeSearch:
    """For a panel whose list is a tree: ``/`` through its ``finder`` (the count of matches in the
    search box's border), and the cursor put on a node (``go_to``)."""

    finder: TreeFinder

    def go_to(self, node) -> bool:
        if node is None:
            return False
        self.finder.tree.reveal(node)
        self.finder.tree.focus()
        return True

    def search_changed(self, text: str) -> None:
        self.finder.find(text)
        self._count(text)

    def search_step(self, delta: int) -> None:
        self.finder.step(delta)
        self._count(self.search_text())

    def _count(self, text: str) -> None:
        self.search_box().border_subtitle = self.finder.summary(text)


def _walk(node):
    """The nodes under ``node`` in the order the tree shows them."""
    stack = list(reversed(node.children))
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))
