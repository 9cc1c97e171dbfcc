"""History is keyset-paged: scrolling to the end loads the next page, keeping the cursor."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.ledger.writer import LedgerWriter
from engine.states import RunStatus
from ledger_tui.screens.runs import PAGE
from ledger_tui.widgets.live_table import LiveTable
from tests.ledger_factory import T0, LedgerFactory
from tests.tui.conftest import make_app, until_loaded, wait_for

RUNS = 2 * PAGE + 30


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


async def test_scrolling_to_the_end_loads_older_pages(big_ledger: Path) -> None:
    app = make_app(big_ledger)
    async with app.run_test(size=(100, 30)) as pilot:
        await until_loaded(pilot)
        table = app.screen.query_one(LiveTable)
        assert table.row_count == PAGE
        assert table.keys[0] == f"1m{RUNS - 1:011d}"
        await pilot.press("end")
        await wait_for(pilot, lambda: table.row_count == 2 * PAGE)
        await pilot.press("end")
        await wait_for(pilot, lambda: table.row_count == RUNS)
        assert table.keys[-1] == f"1m{0:011d}"
        assert len(set(table.keys)) == RUNS
        assert table.selected_key == f"1m{RUNS - 2 * PAGE:011d}"  # stayed on its run
        await pilot.press("end", "up")
        assert table.selected_key == f"1m{1:011d}"
