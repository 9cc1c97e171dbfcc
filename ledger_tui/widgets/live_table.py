"""A DataTable synced to fresh rows by key: cells change in place, the cursor follows its row."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowDoesNotExist

Cells = tuple[str | Text, ...]


class LiveTable(DataTable[str | Text]):
    """A row-cursor table whose rows have string keys (run ids, step ids, event ids)."""

    # Rows matter here, not columns: home/end go to the first/last row. `enter` is shown where
    # a row opens something (the focused table's binding hides the screen's for the same key).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", id="table.open"),
        Binding("home", "scroll_top", "First row", show=False, id="table.first_row"),
        Binding("end", "scroll_bottom", "Last row", show=False, id="table.last_row"),
        # vi keys, as k9s and lazygit bind them by default.
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g", "scroll_top", "First row", show=False, id="table.first_row_vi"),
        Binding("G", "scroll_bottom", "Last row", show=False, id="table.last_row_vi"),
    ]

    def __init__(
        self, columns: Sequence[tuple[str, str]], *, id: str | None = None, opens: bool = False
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.opens = opens  # whether enter on a row opens something
        self._column_spec = tuple(columns)
        self._cells: dict[str, Cells] = {}
        self._order: list[str] = []
        self._widths: tuple[int, ...] = ()

    def on_mount(self) -> None:
        for key, label in self._column_spec:
            self.add_column(label, key=key)
        self.watch(self, "virtual_size", self._measured, init=False)

    def _measured(self) -> None:
        """Redraw with the new column widths DataTable measures when idle: it keeps the lines it
        drew before (the header, drawn while the new rows were unmeasured) in its caches."""
        widths = tuple(column.content_width for column in self.columns.values())
        if widths != self._widths:
            self._widths = widths
            self.notify_style_update()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "select_cursor" and not self.opens:
            return False
        return super().check_action(action, parameters)

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        if not self._order or not 0 <= self.cursor_row < len(self._order):
            return None
        return self._order[self.cursor_row]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self._order)

    def visible_keys(self) -> list[str]:
        """The keys of the rows on screen now (one line per row)."""
        top = int(self.scroll_y)
        return self._order[top : top + self.scrollable_content_region.height + 1]

    def update_rows(self, rows: Sequence[tuple[str, Cells]]) -> None:
        """Change the cells of these existing rows in place (others and the order stay)."""
        self._update_changed([(key, cells) for key, cells in rows if key in self._cells])

    def select_key(self, key: str) -> bool:
        """Move the cursor to the row with `key`; False if there is none."""
        try:
            index = self._order.index(key)
        except ValueError:
            return False
        self.move_cursor(row=index, animate=False)
        return True

    def sync(self, rows: Sequence[tuple[str, Cells]]) -> None:
        """Show exactly `rows`, in order, touching as little as possible.

        Same keys in the same order: only changed cells are updated. Otherwise the rows are
        rebuilt and the cursor stays on its key, at the same height on screen.
        """
        order = [key for key, _ in rows]
        if order == self._order:
            self._update_changed(rows)
            return
        kept = len(self._order)
        if kept and order[:kept] == self._order:  # rows added below (an older page): no rebuild
            self._update_changed(rows[:kept])
            for key, cells in rows[kept:]:
                self._cells[key] = cells
                self._order.append(key)
                self.add_row(*cells, key=key)
            return
        selected = self.selected_key
        old_index = self.cursor_row
        old_scroll = self.scroll_y
        self.clear()
        self._order = order
        self._cells = dict(rows)
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if not order:
            return
        index = order.index(selected) if selected in self._cells else min(old_index, len(order) - 1)
        self.move_cursor(row=index, animate=False, scroll=False)
        self.scroll_to(y=max(0.0, old_scroll + index - old_index), animate=False, immediate=True)

    def _update_changed(self, rows: Sequence[tuple[str, Cells]]) -> None:
        for key, cells in rows:
            old = self._cells.get(key)
            if old == cells:
                continue
            self._cells[key] = cells
            for (column, _), value, previous in zip(
                self._column_spec, cells, old or (None,) * len(cells), strict=False
            ):
                if value != previous:
                    with contextlib.suppress(CellDoesNotExist, RowDoesNotExist):
                        self.update_cell(
                            key, column, value, update_width=self._widens(column, value)
                        )

    def _widens(self, column: str, value: str | Text) -> bool:
        """Whether `value` is wider than its column. Only then is the width updated: asked to
        update it for a narrower cell, DataTable re-measures every cell of the column, which
        with thousands of rows stalled each page load and each tick. Columns never narrow."""
        width = value.cell_len if isinstance(value, Text) else cell_len(value)
        spec = self.columns.get(ColumnKey(column))
        return spec is None or width > spec.content_width

    def append(self, rows: Sequence[tuple[str, Cells]], *, cap: int) -> None:
        """Add rows at the bottom, dropping the oldest beyond `cap`; the cursor follows the
        newest row only if it was on the last row."""
        if not rows:
            return
        following = not self._order or self.cursor_row >= len(self._order) - 1
        for key, cells in rows:
            if key in self._cells:
                continue
            self._cells[key] = cells
            self._order.append(key)
            self.add_row(*cells, key=key)
        excess = len(self._order) - cap
        if excess > 0:
            for key in self._order[:excess]:
                self.remove_row(key)
                del self._cells[key]
            del self._order[:excess]
            if not following:
                self.move_cursor(row=max(0, self.cursor_row - excess), animate=False)
        if following:
            self.move_cursor(row=len(self._order) - 1, animate=False)

    def invalidate(self) -> None:
        """Forget the shown cells, so the next `sync` rewrites every one (after a theme change)."""
        self._cells = {}

    def reset(self) -> None:
        self.clear()
        self._order = []
        self._cells = {}
