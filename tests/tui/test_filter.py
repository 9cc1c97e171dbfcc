"""`/` filters: runs by plan, status or id; events by run, step and type."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, Static

from ledger_tui.screens.events import EventFilter
from ledger_tui.widgets.live_table import LiveTable
from tests.tui.conftest import make_app, until_loaded, wait_for
from tests.tui.ledger_builder import FAILED_RUN


async def type_filter(pilot: Pilot[None], box_id: str, text: str) -> None:
    """Open the filter with `/`, put `text` in it (typing each key is slow) and apply it."""
    await pilot.press("slash")
    box = pilot.app.screen.query_one(box_id, Input)
    assert box.has_focus
    box.value = text
    await pilot.press("enter")


async def test_runs_filter_by_status_plan_and_id(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(120, 40)) as pilot:
        await until_loaded(pilot)
        table = app.screen.query_one(LiveTable)
        await pilot.press("slash", *"failed", "enter")  # typed once, for real
        await wait_for(pilot, lambda: table.keys == (FAILED_RUN,))
        await type_filter(pilot, "#runs-filter", "nightly")
        await wait_for(pilot, lambda: len(table.keys) == 2)
        assert all(k in ("1m00nightly01", "1m00canceledd") for k in table.keys)
        await type_filter(pilot, "#runs-filter", "retryc")
        await wait_for(pilot, lambda: table.keys == ("1m00retryccc3",))
        await type_filter(pilot, "#runs-filter", "zzz")
        empty = app.screen.query_one("#runs-empty", Static)
        await wait_for(pilot, lambda: bool(empty.display))
        assert "No run matches" in str(empty.render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(table.keys) == 7)
        assert table.has_focus


async def test_events_filter_by_type_and_run(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        await until_loaded(pilot)
        table = app.screen.query_one(LiveTable)
        await type_filter(pilot, "#events-filter", "type:step_failed")
        await wait_for(pilot, lambda: table.row_count == 1)
        assert str(table.get_row_at(0)[1]) == FAILED_RUN
        await type_filter(pilot, "#events-filter", "run:1m00fail step:test")
        await wait_for(pilot, lambda: table.row_count == 3)
        assert {str(table.get_row_at(i)[2]) for i in range(3)} == {"test"}


def test_event_filter_parsing() -> None:
    assert EventFilter.parse("run:abc step:x type:step_f") == EventFilter("abc", "x", "step_f")
    assert EventFilter.parse("step_failed") == EventFilter(None, None, "step_failed")
    assert EventFilter.parse("1m00") == EventFilter("1m00", None, None)
    assert EventFilter.parse("type:run_c").types() == [
        "run_created",
        "run_completed",
        "run_canceled",
        "run_crashed",
    ]
