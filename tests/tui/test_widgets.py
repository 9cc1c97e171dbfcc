"""Table and log widgets keep a right layout whatever order Textual runs its deferred work in."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Log, Static

from ledger_tui.widgets.live_table import LiveTable
from ledger_tui.widgets.log_pane import LogPane
from tests.tui.conftest import after_refresh, wait_for


class TableApp(App[None]):
    CSS = "LiveTable { height: 8; }"  # no resize when rows come: it would redraw everything

    def compose(self) -> ComposeResult:
        yield LiveTable([("name", "A"), ("value", "B")])


async def test_header_is_redrawn_with_the_measured_column_widths() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(LiveTable)
        await wait_for(pilot, lambda: len(table.columns) == 2)
        table.sync([("k1", ("a rather wide value", "x"))])
        # A frame drawn before the table measures the new row (it does so when idle) caches the
        # header with the labels' widths; the real app does this whenever a refresh comes first.
        table.render_line(0)
        column = table.columns[next(iter(table.columns))]
        await wait_for(pilot, lambda: column.content_width == len("a rather wide value"))
        header, row = table.render_line(0).text, table.render_line(1).text
        assert header.index("B") == row.index("x"), f"{header!r} over {row!r}"


class LogApp(App[None]):
    CSS = "#above { height: auto; } LogPane { height: 1fr; }"

    def compose(self) -> ComposeResult:
        yield Static("one line", id="above")
        yield LogPane()


async def test_log_stays_at_its_end_when_the_layout_shrinks_it() -> None:
    app = LogApp()
    async with app.run_test(size=(40, 20)) as pilot:
        pane = app.query_one(LogPane)
        log = pane.query_one(Log)
        pane.reset("title", [f"line {i}" for i in range(1, 41)])
        await after_refresh(pilot)  # reset scrolls to the end once laid out

        def at_end() -> bool:
            return log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y

        assert at_end()
        before = log.max_scroll_y
        # What the steps table above the log does once its rows are measured.
        app.query_one("#above", Static).update("\n".join(["taller"] * 6))
        await wait_for(pilot, lambda: log.max_scroll_y == before + 5)
        await after_refresh(pilot)
        assert at_end(), f"scroll_y {log.scroll_y} of {log.max_scroll_y}"
        assert pane.following
