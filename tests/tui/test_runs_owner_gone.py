"""The Runs view tells within seconds that an active run's engine was killed (kill -9), though
nothing more reaches the ledger; like the run detail, it only reads and marks nothing."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from engine.ledger.reader import LedgerReader
from engine.states import RunStatus
from ledger_tui.widgets.live_table import LiveTable
from tests.tui.conftest import make_app, until_loaded, wait_for, whole_polls
from tests.tui.test_run_detail_trust import LiveRun, live

__all__ = ["live"]  # the fixture, used by name below

pytestmark = pytest.mark.slow


async def test_a_run_whose_engine_was_killed_shows_gone_in_runs(
    ledger: Path, live: LiveRun
) -> None:
    app = make_app(ledger, clock=None)
    async with app.run_test(size=(140, 30)) as pilot:
        await until_loaded(pilot)
        table = app.screen.query_one("#runs-table", LiveTable)

        def status() -> str:
            return str(table.get_row(live.run_id)[0]) if live.run_id in table.keys else ""

        await wait_for(pilot, lambda: "running" in status())
        await whole_polls(pilot, 2)
        assert "gone" not in status()
        live.process.send_signal(signal.SIGKILL)
        live.process.wait(timeout=30)
        await wait_for(pilot, lambda: "gone" in status(), timeout=15)
        with LedgerReader.open(ledger) as reader:
            run = reader.get_run(live.run_id)
        assert run is not None and run.status is RunStatus.RUNNING  # read-only: nothing marked
