"""A query's cursor belongs to the poll thread: the UI only asks, never writes it."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from ledger_tui.queries import Query
from ledger_tui.screens.run_detail import RunDetailScreen
from ledger_tui.widgets.live_table import LiveTable
from tests.tui.conftest import make_app, until_loaded, wait_for, whole_polls

# What the UI thread may write: the parameters it asks for, replaced whole.
ASKED = {"_params"}


class Writes:
    """Records which thread writes which attribute of a query after its construction."""

    def __init__(self) -> None:
        self.by_thread: dict[int, set[str]] = {}
        original = Query.__setattr__

        def setattr_(query: Any, name: str, value: Any) -> None:
            if sys._getframe(1).f_code.co_name != "__init__":
                self.by_thread.setdefault(threading.get_ident(), set()).add(name)
            original(query, name, value)

        self.patch = setattr_


async def test_theme_change_restarts_queries_without_writing_their_cursors(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = Writes()
    monkeypatch.setattr(Query, "__setattr__", writes.patch)
    app = make_app(ledger)
    async with app.run_test() as pilot:
        ui_thread = threading.get_ident()
        await until_loaded(pilot)
        await pilot.press("enter")  # the active run
        await until_loaded(pilot)
        assert isinstance(app.screen, RunDetailScreen)
        events = app.screen.query_one("#run-events", LiveTable)
        await wait_for(pilot, lambda: events.row_count > 0)
        shown = events.row_count
        app.theme = "gruvbox"
        await whole_polls(pilot, 2)
        await wait_for(pilot, lambda: events.row_count == shown)  # reloaded after the reset
        await pilot.press("3")
        await until_loaded(pilot)
        app.theme = "nord"
        await whole_polls(pilot, 2)
    assert writes.by_thread.get(ui_thread, set()) <= ASKED
    assert any("_events_after" in names for names in writes.by_thread.values())
