"""At 160 columns and more, the run under the Runs cursor shows beside the list, following it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Log

from ledger_tui.widgets.live_table import LiveTable
from ledger_tui.widgets.run_preview import RunPreview
from tests.tui.conftest import make_app, until_loaded, wait_for
from tests.tui.ledger_builder import ACTIVE_RUN, FAILED_RUN


async def test_the_preview_follows_the_cursor_from_160_columns(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(160, 40)) as pilot:
        await until_loaded(pilot)
        preview = app.screen.query_one(RunPreview)
        assert preview.display
        await wait_for(pilot, lambda: preview.run_id == ACTIVE_RUN)
        await pilot.press("down", "down")  # the failed run
        await wait_for(pilot, lambda: preview.run_id == FAILED_RUN)
        steps = preview.query_one("#preview-steps", LiveTable)
        await wait_for(pilot, lambda: steps.keys == ("setup", "test", "merge"))
        await pilot.press("enter")  # enter still opens the full run detail
        await wait_for(pilot, lambda: getattr(app.screen, "run_id", None) == FAILED_RUN)


async def test_below_160_columns_the_list_is_alone(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(159, 40)) as pilot:
        await until_loaded(pilot)
        preview = app.screen.query_one(RunPreview)
        assert not preview.display
        await pilot.press("down")
        await pilot.pause()
        assert preview.run_id is None  # nothing is read for a pane not shown
        await pilot.resize_terminal(170, 40)
        await wait_for(pilot, lambda: preview.display)
        await wait_for(pilot, lambda: preview.run_id is not None)


def test_side_by_side_snapshot(snap_compare: Any, ledger: Path) -> None:
    app = make_app(ledger)

    async def run_before(pilot: Pilot[None]) -> None:
        await until_loaded(pilot)
        await pilot.press("down", "down")
        preview = app.screen.query_one(RunPreview)
        await wait_for(pilot, lambda: preview.run_id == FAILED_RUN)
        log = preview.query_one("#preview-log", Log)
        await wait_for(pilot, lambda: log.line_count > 0)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(160, 30), run_before=run_before)
