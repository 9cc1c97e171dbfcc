"""The step the run detail's cursor starts on depends on the run, never on timing: the first
running step in plan order, else the first failed one, else the first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.ledger.writer import LedgerWriter
from engine.states import RunStatus
from ledger_tui.screens.run_detail import RunDetailScreen
from ledger_tui.widgets.live_table import LiveTable
from ledger_tui.widgets.log_pane import LogPane
from tests.ledger_factory import T0, LedgerFactory, chain_plan
from tests.tui.conftest import make_app, until_loaded, wait_for, whole_polls

STEPS = ["a", "b", "c", "d"]
RUN = "1m00firststep"
Build = Callable[[LedgerFactory], None]


def retrying_before_running(b: LedgerFactory) -> None:
    """`a` waits out a retry delay; `c` started later and runs; `d` started last and runs."""
    b.attempt(RUN, "a", T0, 1, ok=False, final=False)
    b.attempt(RUN, "b", T0, 1)
    b.start(RUN, "c", T0 + 2)
    b.start(RUN, "d", T0 + 3)


def running_after_failed(b: LedgerFactory) -> None:
    b.attempt(RUN, "a", T0, 1)
    b.attempt(RUN, "b", T0 + 1, 1, ok=False)
    b.start(RUN, "d", T0 + 2)
    b.start(RUN, "c", T0 + 3)  # started last: still not the first running in plan order


def failed_after_succeeded(b: LedgerFactory) -> None:
    b.attempt(RUN, "a", T0, 1)
    b.attempt(RUN, "b", T0 + 1, 1)
    b.attempt(RUN, "c", T0 + 2, 1, ok=False)
    b.attempt(RUN, "d", T0 + 3, 1, ok=False)
    b.end(RUN, RunStatus.FAILED, T0 + 4)


def all_succeeded(b: LedgerFactory) -> None:
    t = T0
    for step in STEPS:
        t = b.attempt(RUN, step, t, 1)
    b.end(RUN, RunStatus.SUCCEEDED, t)


async def write(path: Path, build: Build) -> None:
    async with await LedgerWriter.open(path) as writer:
        b = LedgerFactory(writer, logs=path.parent / "logs")
        b.create(RUN, "four", STEPS, T0, document=chain_plan("four", STEPS))
        build(b)


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (retrying_before_running, "a"),
        (running_after_failed, "c"),
        (failed_after_succeeded, "c"),
        (all_succeeded, "a"),
    ],
    ids=["retrying-counts-as-running", "running-before-failed", "first-failed", "first"],
)
async def test_the_cursor_starts_on_the_first_step_worth_a_look(
    tmp_path: Path, build: Build, expected: str
) -> None:
    path = tmp_path / ".ledger" / "framework.db"
    path.parent.mkdir()
    await asyncio.to_thread(lambda: asyncio.run(write(path, build)))
    app = make_app(path)
    async with app.run_test(size=(120, 30)) as pilot:
        await until_loaded(pilot)
        app.open_run(RUN)
        await until_loaded(pilot)
        screen = app.screen
        assert isinstance(screen, RunDetailScreen)
        table = screen.query_one("#steps-table", LiveTable)
        await wait_for(pilot, lambda: table.row_count == len(STEPS))
        await whole_polls(pilot, 2)
        assert table.selected_key == expected
        assert screen.selected_step == expected
        pane = screen.query_one(LogPane)
        await wait_for(pilot, lambda: pane.title.split(" ")[0] == expected)
