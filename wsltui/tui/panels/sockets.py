"""Sockets: every listener with its process, bind class, family and which scenarios reach it.
``enter`` opens the flow view for the row; ``/`` filters. Refresh diffs rows by key, so the
cursor and scroll position stay where they were."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.widgets import DataTable, Static

from wsltui.tui.messages import OpenFlow
from wsltui.tui.safe_static import SafeStatic
from wsltui.views.scenarios import SHORT, STATUS_SCENARIOS
from wsltui.tui.panels.base import Panel, SearchBox
from wsltui.tui.panels.tables import VimTable
from wsltui.tui.render import cell, columns_width, fit_widths, shorter, unknown_text
from wsltui.vocabulary import plural

COLUMNS = (
    ("proto", "proto"),
    ("address", "address"),
    ("port", "port"),
    ("process", "process"),
    ("bind", "bind"),
    ("v4/v6", "family"),
) + tuple((SHORT[s], s) for s in STATUS_SCENARIOS)
# Which columns give way when the table is narrow (lowest first); the verdicts go last.
PRIORITY = {"bind": 1, "family": 2, "proto": 3, "address": 4, "process": 5, "port": 6}
VERDICT_PRIORITY = 10
MAX_WIDTH = 40  # a column's preferred width: beyond it only when the terminal has room to spare


class SocketsPanel(Panel):
    HAS_FILTER = True

    def compose_body(self):
        yield SearchBox(placeholder="filter: address, port, process, bind… (esc clears)", id="sockets-filter")
        yield SafeStatic(id="sockets-note")
        yield VimTable(id="sockets-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self._layout: tuple | None = None  # (column key, width) of the columns shown

    def on_resize(self) -> None:
        if self.analysis is not None:
            self._fill()

    def main_widget(self):
        return self.query_one("#sockets-table")

    def show(self, a) -> None:
        note = self.query_one("#sockets-note", Static)
        if a.listeners_unknown is not None:
            note.update(unknown_text(a.listeners_unknown, "listeners: "))
        else:
            note.update(Text(f"{plural(len(a.rows), 'listener')}. enter: trace it in Flow  /: filter", style="dim"))
        self._fill()

    def _rows(self):
        a = self.analysis
        if a is None:
            return []
        text = self.search_text().lower()
        out = []
        for row in a.rows:
            t = row.target
            fam = "v4+v6" if t.dual_stack else ("v6" if t.family == "ipv6" else "v4" if t.family else "-")
            cells = [t.proto, t.address or "*", str(t.port), t.process or "-", t.bind or "-", fam]
            cells += [row.traces.get(sc) for sc in STATUS_SCENARIOS]
            if text and text not in " ".join(str(c) if isinstance(c, str) else cell(c).plain for c in cells).lower():
                continue
            out.append((t.key, cells))
        return out

    def _widths(self, table: VimTable, rows) -> tuple[tuple[str, int], ...]:
        """(column key, width) of the columns that fit the table's width, by ``PRIORITY``."""
        natural, preferred, minimum, priority = [], [], [], []
        for i, (label, key) in enumerate(COLUMNS):
            texts = [c if isinstance(c, str) else cell(c).plain for c in (r[i] for _, r in rows)]
            longest = max(map(cell_len, [label, *texts]))
            natural.append(longest)
            preferred.append(min(longest, MAX_WIDTH))
            if key in STATUS_SCENARIOS:  # never cut mid-word: the shorter words must fit
                minimum.append(max(map(cell_len, [label, *map(shorter, texts)])))
                priority.append(VERDICT_PRIORITY)
            else:
                minimum.append(min(longest, max(4, cell_len(label))))
                priority.append(PRIORITY[key])
        widths = fit_widths(natural, preferred, minimum, priority, columns_width(table), gap=2 * table.cell_padding)
        return tuple((key, w) for (_, key), w in zip(COLUMNS, widths) if w)

    @staticmethod
    def _cells(cells, layout) -> list:
        index = {key: i for i, (_, key) in enumerate(COLUMNS)}
        out = []
        for key, width in layout:
            value = cells[index[key]]
            out.append(value if isinstance(value, str) else cell(value, width))
        return out

    def _fill(self) -> None:
        """Diff the table by row key: update changed cells, drop stale rows, add new ones."""
        table = self.query_one("#sockets-table", VimTable)
        wanted = self._rows()
        layout = self._widths(table, wanted)
        wanted = [(key, self._cells(cells, layout)) for key, cells in wanted]
        keys = {k for k, _ in wanted}
        with self.app.batch_update():
            if layout != self._layout:  # another width: the columns again, the cursor on the same row
                selected = self.selected_key()
                table.clear(columns=True)
                labels = dict((key, label) for label, key in COLUMNS)
                for key, width in layout:
                    table.add_column(labels[key], key=key, width=width)
                for key, cells in wanted:
                    table.add_row(*cells, key=key)
                self._layout = layout
                if selected in keys:
                    table.move_cursor(row=table.get_row_index(selected), animate=False)
                return
            for rk in list(table.rows):
                if rk.value not in keys:
                    table.remove_row(rk)
            present = {rk.value for rk in table.rows}
            for key, cells in wanted:
                if key in present:
                    old = table.get_row(key)
                    for (col, _), new, prev in zip(layout, cells, old):
                        if str(new) != str(prev):
                            table.update_cell(key, col, new)
                else:
                    table.add_row(*cells, key=key)

    def search_changed(self, text: str) -> None:
        self._fill()

    @on(DataTable.RowSelected, "#sockets-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.post_message(OpenFlow(event.row_key.value))

    def selected_key(self) -> str | None:
        table = self.query_one("#sockets-table", VimTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
