"""A LiveTable cell updated narrower does not make DataTable re-measure its whole column."""

from __future__ import annotations

from textual.app import App, ComposeResult

from ledger_tui.widgets.live_table import LiveTable
from tests.tui.conftest import after_refresh, wait_for


class TableApp(App[None]):
    CSS = "LiveTable { height: 8; }"

    def compose(self) -> ComposeResult:
        yield LiveTable([("name", "A"), ("value", "B")])


async def test_cells_widen_their_column_and_a_narrower_cell_measures_nothing() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(LiveTable)
        await wait_for(pilot, lambda: len(table.columns) == 2)
        rows = [(f"k{n}", (f"run {n}", "1m00s")) for n in range(2000)]
        table.sync(rows)
        value = table.columns[next(iter(reversed(table.columns)))]
        await wait_for(pilot, lambda: value.content_width == len("1m00s"))
        table.sync([*rows[:-1], ("k1999", ("run 1999", "a wider value"))])
        await wait_for(pilot, lambda: value.content_width == len("a wider value"))
        measured: list[int] = []
        remeasure = table._update_column_widths

        def counting(cells: set[object]) -> None:
            measured.append(len(cells))
            remeasure(cells)  # type: ignore[arg-type]

        table._update_column_widths = counting  # type: ignore[method-assign]
        table.sync([*rows[:-1], ("k1999", ("run 1999", "9s"))])
        await after_refresh(pilot)
        await after_refresh(pilot)
        # Updated with update_width, a narrower cell made DataTable measure all 2,000 cells of
        # its column (each tick, each page of the Runs view); the column now keeps its width.
        assert measured == []
        assert value.content_width == len("a wider value")
        assert table.get_row("k1999")[1] == "9s"
