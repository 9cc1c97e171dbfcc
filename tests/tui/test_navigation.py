"""Moving between the four views, drilling down and back, help and the command palette."""

from __future__ import annotations

from pathlib import Path

from textual.command import CommandList, CommandPalette
from textual.widgets import HelpPanel

from ledger_tui.screens.events import EventsScreen
from ledger_tui.screens.run_detail import RunDetailScreen
from ledger_tui.screens.runs import RunsScreen
from ledger_tui.screens.stats import StatsScreen
from ledger_tui.widgets.live_table import LiveTable
from tests.tui.conftest import make_app, until_loaded, wait_for, whole_polls
from tests.tui.ledger_builder import ACTIVE_RUN, FAILED_RUN


async def test_runs_view_lists_active_first_then_history(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(120, 40)) as pilot:
        await until_loaded(pilot)
        keys = app.screen.query_one(LiveTable).keys
        assert keys == (  # active first, then history newest first
            ACTIVE_RUN,
            "1m00canceledd",
            FAILED_RUN,
            "1m00retryccc3",
            "1m00nightly01",
            "1m00okaaaaaa2",
            "1m00okaaaaaa1",
        )


async def test_number_keys_switch_views_and_enter_drills_down(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(120, 40)) as pilot:
        await until_loaded(pilot)
        await pilot.press("3")
        await until_loaded(pilot)
        assert isinstance(app.screen, EventsScreen)
        assert app.screen.query_one(LiveTable).row_count > 0
        await pilot.press("4")
        await until_loaded(pilot)
        assert isinstance(app.screen, StatsScreen)
        await pilot.press("1")
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("down", "down", "enter")  # the failed run
        await until_loaded(pilot)
        assert isinstance(app.screen, RunDetailScreen)
        assert app.screen.run_id == FAILED_RUN
        steps = app.screen.query_one("#steps-table", LiveTable)
        assert steps.keys == ("setup", "test", "merge")
        assert steps.selected_key == "test"  # the failed step is shown first
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("3", "2")  # view 2 reopens the last run
        await until_loaded(pilot)
        assert isinstance(app.screen, RunDetailScreen)
        assert app.screen.run_id == FAILED_RUN
        await pilot.press("1")  # view 1 is the list, from the run detail too
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("2", "3", "1")  # and from another view, the run left open
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("2")
        await until_loaded(pilot)
        assert app.screen.run_id == FAILED_RUN


async def test_events_enter_opens_the_run(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        await until_loaded(pilot)
        await pilot.press("enter")  # the newest event: the active run's
        await until_loaded(pilot)
        assert isinstance(app.screen, RunDetailScreen)
        assert app.screen.run_id == ACTIVE_RUN


async def test_help_lists_bindings_and_palette_opens(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(120, 40)) as pilot:
        await until_loaded(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: bool(app.screen.query(HelpPanel)))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: not app.screen.query(HelpPanel))
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"failedb")
        results = app.screen.query_one(CommandList)

        def failed_run_offered() -> bool:
            index = results.highlighted
            return index is not None and FAILED_RUN in str(
                results.get_option_at_index(index).prompt
            )

        await wait_for(pilot, failed_run_offered)
        await pilot.press("enter")
        await until_loaded(pilot)
        assert isinstance(app.screen, RunDetailScreen)
        assert app.screen.run_id == FAILED_RUN


async def test_q_quits(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test() as pilot:
        await until_loaded(pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: app._exit)
    assert app.return_code == 0


async def test_view_2_from_runs_opens_the_run_under_the_cursor(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(120, 40)) as pilot:
        await until_loaded(pilot)
        await whole_polls(pilot)  # the Runs view has told the app where its cursor is
        await pilot.press("2")  # the cursor has not moved: the first row
        await until_loaded(pilot)
        assert isinstance(app.screen, RunDetailScreen)
        assert app.screen.run_id == ACTIVE_RUN
        await pilot.press("escape", "down", "down")
        table = app.screen.query_one(LiveTable)
        await wait_for(pilot, lambda: table.selected_key == FAILED_RUN)
        await whole_polls(pilot)
        await pilot.press("2")
        await until_loaded(pilot)
        assert isinstance(app.screen, RunDetailScreen)
        assert app.screen.run_id == FAILED_RUN


async def test_the_palette_offers_only_the_current_screens_commands(ledger: Path) -> None:
    app = make_app(ledger)

    def titles() -> set[str]:
        return {command.title for command in app.get_system_commands(app.screen)}

    views = {"Runs view", "Events view", "Stats view"}
    async with app.run_test(size=(120, 40)) as pilot:
        await until_loaded(pilot)
        assert {"Filter", "Clear filter"} | views <= titles()
        assert not {"Cancel run", "Window 1h"} & titles()
        await pilot.press("enter")
        await until_loaded(pilot)
        assert {"Cancel run", "Cancel step", "Follow log"} | views <= titles()
        assert not {"Filter", "Window 1h"} & titles()
        await pilot.press("4")
        await until_loaded(pilot)
        assert {"Window 1h", "Window 24h", "Window 7d"} | views <= titles()
        assert not {"Filter", "Cancel run"} & titles()


async def test_vi_keys_move_the_cursor(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(120, 30)) as pilot:
        await until_loaded(pilot)
        table = app.screen.query_one(LiveTable)
        last = table.row_count - 1
        assert table.cursor_row == 0 and last > 2
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == last
        await pilot.press("g")
        assert table.cursor_row == 0
