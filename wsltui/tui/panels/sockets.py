"""Sockets: every listener with its process, bind class, family and which scenarios reach it.
``enter`` opens the flow view for the row; ``/`` filters. Refresh diffs rows by key, so the
cursor and scroll position stay where they were."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.widgets import DataTable, Static

from wsltui.tui.messages import OpenFlow
from wsltui.tui.safe_static import SafeStatic
from wsltui.tui.scenarios import SHORT, STATUS_SCENARIOS
from wsltui.tui.panels.base import Panel, SearchBox
from wsltui.tui.panels.tables import VimTable
from wsltui.tui.render import cell, unknown_text
from wsltui.vocabulary import plural

COLUMNS = (("proto", "proto"), ("address", "address"), ("port", "port"), ("process", "process"),
           ("bind", "bind"), ("v4/v6", "family")) + tuple((SHORT[s], s) for s in STATUS_SCENARIOS)


class SocketsPanel(Panel):
    HAS_FILTER = True

    def compose_body(self):
        yield SearchBox(placeholder="filter: address, port, process, bind… (esc clears)", id="sockets-filter")
        yield SafeStatic(id="sockets-note")
        table = VimTable(id="sockets-table", cursor_type="row", zebra_stripes=True)
        for label, key in COLUMNS:
            table.add_column(label, key=key)
        yield table

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
            cells += [cell(row.traces.get(sc)) for sc in STATUS_SCENARIOS]
            if text and text not in " ".join(str(c) for c in cells).lower():
                continue
            out.append((t.key, cells))
        return out

    def _fill(self) -> None:
        """Diff the table by row key: update changed cells, drop stale rows, add new ones."""
        table = self.query_one("#sockets-table", VimTable)
        wanted = self._rows()
        keys = {k for k, _ in wanted}
        with self.app.batch_update():
            for rk in list(table.rows):
                if rk.value not in keys:
                    table.remove_row(rk)
            present = {rk.value for rk in table.rows}
            for key, cells in wanted:
                if key in present:
                    old = table.get_row(key)
                    for (_, col), new, prev in zip(COLUMNS, cells, old):
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
