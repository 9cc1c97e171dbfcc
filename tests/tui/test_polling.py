"""Idle means no work: fetch only when the ledger changed, and only for the visible screen."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engine.ledger.reader import LedgerReader
from ledger_tui.queries import EventsQuery, RunsQuery
from tests.tui.conftest import make_app, until_loaded, wait_for, whole_polls
from tests.tui.ledger_builder import ACTIVE_RUN


class Counting:
    """Counts the reads of a query class."""

    def __init__(self, cls: type[Any]) -> None:
        self.calls = 0
        original = cls.read

        def read(query: Any, reader: LedgerReader, params: Any) -> Any:
            self.calls += 1
            return original(query, reader, params)

        self.patch = read


def commit_an_event(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO events (run_id, type, ts) VALUES (?, 'step_ready', "
            "'2026-11-18T08:46:40.000Z')",
            (ACTIVE_RUN,),
        )


async def test_fetches_only_on_change_and_only_when_visible(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs, events = Counting(RunsQuery), Counting(EventsQuery)
    monkeypatch.setattr(RunsQuery, "read", runs.patch)
    monkeypatch.setattr(EventsQuery, "read", events.patch)
    app = make_app(ledger, poll_interval=0.02)
    async with app.run_test() as pilot:
        await until_loaded(pilot)
        assert runs.calls == 1
        await whole_polls(pilot, 15)  # of an idle ledger
        assert runs.calls == 1
        commit_an_event(ledger)
        await wait_for(pilot, lambda: runs.calls == 2)
        await pilot.press("3")
        await until_loaded(pilot)
        commit_an_event(ledger)
        await wait_for(pilot, lambda: events.calls == 2)
        await whole_polls(pilot, 5)
        assert runs.calls == 2  # hidden: not fetched
        await pilot.press("1")
        await wait_for(pilot, lambda: runs.calls == 3)  # catches up when shown
