"""Log tools in the run detail: search with highlight, pager/editor, copying, event details."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Log, Static

from ledger_tui.app import LedgerApp
from ledger_tui.screens.event_detail import EventDetailScreen
from ledger_tui.screens.events import EventsScreen
from ledger_tui.screens.log_tools import external_command
from ledger_tui.screens.run_detail import RunDetailScreen
from ledger_tui.widgets.live_table import LiveTable
from ledger_tui.widgets.log_pane import LogPane
from tests.tui.conftest import make_app, until_loaded, wait_for
from tests.tui.ledger_builder import ACTIVE_RUN


async def open_active(pilot: Pilot[None]) -> RunDetailScreen:
    await until_loaded(pilot)
    await pilot.press("enter")
    await until_loaded(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, RunDetailScreen) and screen.run_id == ACTIVE_RUN
    await wait_for(pilot, lambda: screen.query_one(Log).line_count == 40)
    return screen


def status(screen: RunDetailScreen) -> str:
    return str(screen.query_one("#log-status", Static).render())


def noting(app: LedgerApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    notes: list[str] = []
    notify = app.notify

    def note(message: str, **options: Any) -> None:
        notes.append(message)
        notify(message, **options)

    monkeypatch.setattr(app, "notify", note)
    return notes


async def test_search_finds_steps_through_and_highlights_matches(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_active(pilot)
        log = screen.query_one(Log)
        pane = screen.query_one(LogPane)
        await pilot.press("slash")
        await pilot.press(*"LINE 1", "enter")  # case-insensitive
        matches = [n for n, line in enumerate(log.lines) if "line 1" in line]
        assert len(matches) == 11  # test line 1, 10..19
        await wait_for(pilot, lambda: "match 1 of 11" in status(screen))
        assert pane.search.lines == matches
        await pilot.press("n", "n")
        assert "match 3 of 11" in status(screen)
        await pilot.press("N", "N", "N")  # wraps around to the last
        assert "match 11 of 11" in status(screen)
        line = matches[-1]
        await wait_for(pilot, lambda: log.scroll_y <= line < log.scroll_y + log.size.height)
        strip = log.render_line(line - int(log.scroll_y))
        marked = [s.text for s in strip if s.style and s.style.reverse]
        assert marked == ["line 1"]
        assert screen.focused is screen.query_one("#steps-table")  # back where it was
        await pilot.press("slash", *"nowhere", "enter")
        await wait_for(pilot, lambda: "/nowhere: no match" in status(screen))


async def test_copy_ids_and_log_path_with_a_message(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(ledger)
    notes = noting(app, monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_active(pilot)
        await pilot.press("y")
        assert app.clipboard == ACTIVE_RUN
        assert any(f"Copied the run id {ACTIVE_RUN}" in note for note in notes)
        await pilot.press("Y")
        assert app.clipboard == screen.log_path
        assert app.clipboard.endswith(f"{ACTIVE_RUN}/test.1.log")
        screen.action_copy("step")
        assert app.clipboard == "test"


async def test_pager_without_a_terminal_to_hand_over_names_the_file(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(ledger)
    notes = noting(app, monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_active(pilot)
        await pilot.press("p")  # the headless driver cannot suspend
        await wait_for(pilot, lambda: any("cannot be handed over" in note for note in notes))
        assert str(screen.log_path) in notes[-1]


def test_external_command_follows_pager_and_editor_conventions() -> None:
    assert external_command("pager", "/x.log", {}) == ["less", "/x.log"]
    assert external_command("pager", "/x.log", {"PAGER": "less -R +G"}) == [
        "less", "-R", "+G", "/x.log",
    ]  # fmt: skip
    assert external_command("editor", "/x.log", {"EDITOR": "nano"}) == ["nano", "/x.log"]
    assert external_command("editor", "/x.log", {"VISUAL": "code -w", "EDITOR": "nano"}) == [
        "code", "-w", "/x.log",
    ]  # fmt: skip
    assert external_command("editor", "/x.log", {}) == ["vi", "/x.log"]


async def test_event_details_show_the_whole_event(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_active(pilot)
        await pilot.press("t")  # the Events tab
        events = screen.query_one("#run-events", LiveTable)
        await wait_for(pilot, lambda: events.row_count > 0)
        events.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EventDetailScreen))
        shown = json.loads(str(app.screen.query_one("#event-json", Static).render()))
        assert shown["run_id"] == ACTIVE_RUN and shown["id"] == int(events.selected_key or 0)
        assert set(shown) == {"id", "run_id", "step_id", "attempt", "type", "ts", "data"}
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)

        await pilot.press("3")
        await until_loaded(pilot)
        assert isinstance(app.screen, EventsScreen)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, EventDetailScreen))
        assert '"type"' in str(app.screen.query_one("#event-json", Static).render())


def type_at_once(app: LedgerApp, text: str) -> None:
    """Queue keys as a terminal delivers a fast typist's (or tmux's) keys: all before any runs."""
    for char in text:
        app.post_message(events.Key("slash" if char == "/" else char, char))


async def test_keys_typed_right_after_slash_reach_the_field(ledger: Path) -> None:
    """`/` opens its field before the app hands the next keys on: as a plain binding it ran only
    once the focused table had the key, by when the keys behind it were the table's too (tmux's
    '/QUICK' searched 'ICK'). In the field, `/` is text."""
    app = make_app(ledger)
    async with app.run_test(size=(100, 30)) as pilot:
        await until_loaded(pilot)
        type_at_once(app, "/failed")
        await wait_for(pilot, lambda: app.screen.query_one("#runs-filter", Input).value == "failed")
    app = make_app(ledger)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_active(pilot)
        type_at_once(app, "/LINE 1")
        field = screen.query_one("#log-search", Input)
        await wait_for(pilot, lambda: field.value == "LINE 1")
        type_at_once(app, "/x")  # in the field: text
        await wait_for(pilot, lambda: field.value == "LINE 1/x")
