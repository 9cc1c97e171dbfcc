"""Run detail: the log follows its tail, pauses when scrolled up; cancel asks first."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Log, Static

from ledger_tui.screens.confirm import ConfirmScreen
from ledger_tui.screens.run_detail import RunDetailScreen
from ledger_tui.widgets.live_table import LiveTable
from ledger_tui.widgets.log_pane import LogPane
from tests.tui.conftest import make_app, until_loaded, wait_for
from tests.tui.ledger_builder import ACTIVE_RUN


def cancel_rows(path: Path) -> list[tuple[str, str | None, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT run_id, step_id, requested_by FROM cancel_requests").fetchall()


async def open_active(pilot: object) -> RunDetailScreen:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    await until_loaded(pilot)
    await pilot.press("enter")
    await until_loaded(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, RunDetailScreen)
    assert screen.run_id == ACTIVE_RUN
    return screen


async def test_log_follows_then_pauses_and_counts_new_lines(ledger: Path) -> None:
    log_file = ledger.parent / "logs" / ACTIVE_RUN / "test.1.log"
    app = make_app(ledger)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_active(pilot)
        log = screen.query_one(Log)
        pane = screen.query_one(LogPane)
        status = screen.query_one("#log-status", Static)

        def at_end() -> bool:
            # The first scroll to the end waits for a layout: until then the log is not there.
            return log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y

        await wait_for(pilot, lambda: log.line_count == 40 and at_end())
        assert pane.following
        with log_file.open("a") as file:
            file.write("fresh line 1\nfresh line 2\n")
        await wait_for(pilot, lambda: log.lines[-1] == "fresh line 2" and at_end())
        assert pane.following and pane.new_lines == 0
        log.scroll_home(animate=False, immediate=True)
        await wait_for(pilot, lambda: not pane.following)
        with log_file.open("a") as file:
            file.write("".join(f"more {i}\n" for i in range(5)))
        await wait_for(pilot, lambda: pane.new_lines == 5)
        assert log.scroll_y == 0
        assert "5 new lines" in str(status.render())
        await pilot.press("f")
        await wait_for(pilot, lambda: at_end() and "following" in str(status.render()))
        assert pane.following and pane.new_lines == 0


async def test_cancel_run_asks_first_and_writes_the_request(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_active(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        assert cancel_rows(ledger) == []
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: len(cancel_rows(ledger)) == 1)
        run_id, step_id, by = cancel_rows(ledger)[0]
        assert (run_id, step_id) == (ACTIVE_RUN, None)
        assert by.startswith("ledger-tui@")


async def test_cancel_step_names_the_selected_step(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_active(pilot)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "step test" in app.screen.question
        await pilot.press("y")
        await wait_for(pilot, lambda: len(cancel_rows(ledger)) == 1)
        assert cancel_rows(ledger)[0][:2] == (ACTIVE_RUN, "test")


async def test_cancel_of_a_finished_run_is_refused_without_writing(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(ledger)
    notes: list[str] = []
    notify = app.notify

    def noting(message: str, **options: Any) -> None:
        notes.append(message)
        notify(message, **options)

    monkeypatch.setattr(app, "notify", noting)
    async with app.run_test(size=(100, 30)) as pilot:
        await until_loaded(pilot)
        await pilot.press("down", "enter")
        await until_loaded(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: any("already finished" in note for note in notes))
        assert isinstance(app.screen, RunDetailScreen)
        assert cancel_rows(ledger) == []


async def test_tabs_show_plan_vars_and_error(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(100, 30)) as pilot:
        await until_loaded(pilot)
        await pilot.press("down", "down", "enter")  # the failed run
        await until_loaded(pilot)
        screen = app.screen
        texts = {
            tab: str(screen.query_one(f"#{tab}-text", Static).render())
            for tab in ("tab-plan", "tab-vars", "tab-error")
        }
        assert "plans/release.json" in texts["tab-plan"]
        assert "BRANCH = main" in texts["tab-vars"]
        assert "step test failed" in texts["tab-error"]
        await pilot.press("t")
        assert screen.query_one("TabbedContent").active == "tab-events"


async def test_steps_show_the_last_attempts_cpu_time_and_peak_memory(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(140, 30)) as pilot:
        screen = await open_active(pilot)
        table = screen.query_one("#steps-table", LiveTable)

        def row(step: str) -> list[str]:
            return [str(cell) for cell in table.get_row(step)]

        await wait_for(pilot, lambda: table.row_count == 3)
        columns = [str(column.label) for column in table.columns.values()]
        cpu, rss = columns.index("CPU"), columns.index("Max RSS")
        assert (row("setup")[cpu], row("setup")[rss]) == ("300ms", "20.0M")
        assert (row("test")[cpu], row("test")[rss]) == ("-", "-")  # still running: not measured
