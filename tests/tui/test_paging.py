"""History is keyset-paged: scrolling to the end loads the next page, keeping the cursor."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.ledger.writer import LedgerWriter
from engine.states import RunStatus
from ledger_tui.screens.runs import PAGE
from ledger_tui.widgets.live_table import LiveTable
from tests.tui.conftest import make_app, until_loaded, wait_for
from tests.tui.ledger_builder import OWNER, T0

RUNS = 2 * PAGE + 30


async def many_runs(path: Path) -> None:
    async with await LedgerWriter.open(path) as w:
        for i in range(RUNS):
            run_id = f"1m{i:011d}"
            w.create_run(
                run_id=run_id, plan_hash="h", plan_name=f"plan{i % 3}", plan_version=None,
                plan_json="{}", plan_path=None, vars={}, step_ids=["only"], hook_ids=[],
                owner=OWNER, resumed_from=None, created_at=T0 + i,
            )  # fmt: skip
            w.run_finished(
                run_id=run_id, status=RunStatus.SUCCEEDED, at=T0 + i + 1, error=None, exit_code=0
            )


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
