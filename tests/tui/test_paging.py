"""History is keyset-paged: scrolling to the end loads the next page, keeping the cursor."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from textual.widgets import Static

from engine.ledger.writer import LedgerWriter
from engine.states import RunStatus
from ledger_tui.history_window import jump_time
from ledger_tui.screens.runs import PAGE, PREFETCH
from ledger_tui.widgets.live_table import LiveTable
from tests.ledger_factory import T0, LedgerFactory
from tests.tui.conftest import make_app, until_loaded, wait_for, whole_polls

RUNS = 6 * PAGE + 30


async def many_runs(path: Path) -> None:
    async with await LedgerWriter.open(path) as w:
        b = LedgerFactory(w)
        for i in range(RUNS):
            run_id = f"1m{i:011d}"
            b.create(run_id, f"plan{i % 3}", ["only"], T0 + i)
            b.end(run_id, RunStatus.SUCCEEDED, T0 + i + 1)


@pytest.fixture
def big_ledger(tmp_path: Path) -> Path:
    path = tmp_path / "framework.db"
    asyncio.run(many_runs(path))
    return path


def run_id(i: int) -> str:
    return f"1m{i:011d}"


async def test_history_is_loaded_ahead_of_the_cursor(big_ledger: Path) -> None:
    app = make_app(big_ledger)
    async with app.run_test(size=(100, 30)) as pilot:
        await until_loaded(pilot)
        table = app.screen.query_one(LiveTable)
        assert table.keys[0] == run_id(RUNS - 1)
        # The pages below the cursor are loaded before it gets there (holding PageDown never
        # waits for one): PREFETCH rows beyond the cursor, not just the first page.
        await wait_for(pilot, lambda: table.row_count >= PREFETCH)
        for _ in range(8):
            await pilot.press("pagedown")
            await wait_for(pilot, lambda: table.row_count - table.cursor_row >= PREFETCH)
        assert list(table.keys) == [run_id(RUNS - 1 - n) for n in range(table.row_count)]
        selected = table.selected_key
        await whole_polls(pilot)
        assert table.selected_key == selected  # rows added below never move the cursor


async def test_end_reaches_the_oldest_run_and_home_the_newest(big_ledger: Path) -> None:
    app = make_app(big_ledger)
    async with app.run_test(size=(100, 30)) as pilot:
        await until_loaded(pilot)
        table = app.screen.query_one(LiveTable)
        count = app.screen.query_one("#runs-count", Static)
        await wait_for(pilot, lambda: str(count.render()) == f"1 of {RUNS} runs")
        await pilot.press("end")
        await wait_for(pilot, lambda: table.selected_key == run_id(0))
        assert table.row_count < RUNS  # only the oldest pages were read, not everything above
        await wait_for(pilot, lambda: str(count.render()) == f"{RUNS} of {RUNS} runs")
        await pilot.press("k")
        assert table.selected_key == run_id(1)
        await wait_for(pilot, lambda: str(count.render()) == f"{RUNS - 1} of {RUNS} runs")
        for _ in range(6):  # scrolling up loads the newer runs above, without a gap
            await pilot.press("pageup")
            await wait_for(
                pilot, lambda: table.cursor_row >= PREFETCH or table.keys[0] == run_id(RUNS - 1)
            )
        keys = list(table.keys)
        first = int(keys[0][2:])
        assert keys == [run_id(first - n) for n in range(len(keys))]
        await pilot.press("g")
        await wait_for(pilot, lambda: table.selected_key == run_id(RUNS - 1))
        await wait_for(pilot, lambda: str(count.render()) == f"1 of {RUNS} runs")


async def test_g_in_a_short_list_goes_to_its_last_row(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(100, 30)) as pilot:
        await until_loaded(pilot)
        table = app.screen.query_one(LiveTable)
        await pilot.press("G")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("g")
        assert table.cursor_row == 0


async def test_d_jumps_to_the_first_run_at_or_before_a_date(big_ledger: Path) -> None:
    app = make_app(big_ledger, clock=lambda: T0 + 400 + 3600)
    async with app.run_test(size=(100, 30)) as pilot:
        await until_loaded(pilot)
        table = app.screen.query_one(LiveTable)
        count = app.screen.query_one("#runs-count", Static)
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(T0 + 300))
        await pilot.press("d", *when, "enter")
        await wait_for(pilot, lambda: table.selected_key == run_id(300))
        await wait_for(pilot, lambda: str(count.render()) == f"{RUNS - 300} of {RUNS} runs")
        await pilot.press("d", "1", "h", "enter")  # an hour before the (frozen) clock
        await wait_for(pilot, lambda: table.selected_key == run_id(400))
        await pilot.press("d", *"someday", "enter")
        await wait_for(pilot, lambda: any("Not a date" in n.message for n in app._notifications))
        assert table.selected_key == run_id(400)
        await pilot.press("escape")
        assert not app.screen.query_one("#runs-date").display
        date = time.strftime("%Y-%m-%d", time.gmtime(T0 - 86400))
        await pilot.press("d", *date, "enter")  # the day before the first run
        await wait_for(pilot, lambda: any("No run" in n.message for n in app._notifications))


def test_jump_time_reads_dates_times_and_ages() -> None:
    from datetime import UTC, datetime

    now = T0
    day = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    assert jump_time("2026-12-01", now) == day + 86400 - 0.001  # its whole day
    assert jump_time("2026-12-01 14:00", now) == day + 14 * 3600
    assert jump_time("2026-12-01T14:00:30", now) == day + 14 * 3600 + 30
    assert jump_time("3d", now) == now - 3 * 86400
    assert jump_time("90m", now) == now - 90 * 60
    assert jump_time("2w", now) == now - 14 * 86400
    assert jump_time("yesterday", now) is None


async def test_end_with_a_text_filter_reaches_its_oldest_match(big_ledger: Path) -> None:
    app = make_app(big_ledger)
    async with app.run_test(size=(100, 30)) as pilot:
        await until_loaded(pilot)
        table = app.screen.query_one(LiveTable)
        count = app.screen.query_one("#runs-count", Static)
        await pilot.press("slash", *"plan1", "enter")
        await wait_for(pilot, lambda: table.row_count > 0 and table.keys[0] == run_id(RUNS - 2))
        await pilot.press("end")
        await wait_for(pilot, lambda: table.selected_key == run_id(1))  # plan{i % 3}
        assert all(int(key[2:]) % 3 == 1 for key in table.keys)
        await wait_for(pilot, lambda: "loaded" in str(count.render()))  # a scan cannot count


async def test_a_page_read_before_a_jump_is_not_added_to_the_jumped_rows(
    big_ledger: Path,
) -> None:
    app = make_app(big_ledger)
    async with app.run_test(size=(100, 30)) as pilot:
        await until_loaded(pilot)
        table = app.screen.query_one(LiveTable)
        for _ in range(3):  # pages are being read below the cursor when `end` comes
            await pilot.press("pagedown", "pagedown", "pagedown", "end")
            await wait_for(pilot, lambda: table.selected_key == run_id(0))
            await whole_polls(pilot, 2)
            keys = list(table.keys)
            first = int(keys[0][2:])
            assert keys == [run_id(first - n) for n in range(len(keys))]
            await pilot.press("g")
            await wait_for(pilot, lambda: table.selected_key == run_id(RUNS - 1))
            await whole_polls(pilot, 2)
            keys = list(table.keys)
            assert keys == [run_id(RUNS - 1 - n) for n in range(len(keys))]
