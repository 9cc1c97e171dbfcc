"""The run detail says what a run waits for: its concurrency group, or a pool, and who holds it."""

from __future__ import annotations

import functools
import time
from pathlib import Path

from textual.widgets import Static

from engine.ledger import leases
from engine.ledger.owner import Owner
from engine.ledger.writer import LedgerWriter
from ledger_tui.screens.run_detail import RunDetailScreen
from tests.tui.conftest import make_app, until_loaded, wait_for

HOLDER, WAITER = "h000000000000", "w000000000000"


async def write_contending_runs(path: Path, at: float) -> None:
    async with await LedgerWriter.open(path) as writer:
        for run_id in (HOLDER, WAITER):
            writer.create_run(
                run_id=run_id, plan_hash="h", plan_name="deploy", plan_version=None,
                plan_json="{}", plan_path=None, vars={}, step_ids=["a"], hook_ids=[],
                owner=Owner.current(), resumed_from=None, created_at=at,
            )  # fmt: skip
            for kind, name, step in ((leases.GROUP, "deploy", None), (leases.POOL, "db", "a")):
                await writer.transact(
                    functools.partial(
                        leases.request, kind=kind, name=name, capacity=1, run_id=run_id,
                        step_id=step, at=at,
                    )
                )  # fmt: skip


async def test_a_waiting_run_names_what_it_waits_for_and_who_holds_it(tmp_path: Path) -> None:
    path = tmp_path / ".ledger" / "framework.db"
    path.parent.mkdir()
    await write_contending_runs(path, at=time.time() - 5)
    app = make_app(path, clock=None)
    async with app.run_test(size=(160, 30)) as pilot:
        await until_loaded(pilot)
        app.open_run(WAITER)
        await until_loaded(pilot)
        screen = app.screen
        assert isinstance(screen, RunDetailScreen)
        header = screen.query_one("#run-header", Static)
        expected = (
            f'waiting: concurrency group "deploy" (held by run {HOLDER}); '
            f'a for pool "db" (held by run {HOLDER})'
        )
        await wait_for(pilot, lambda: expected in str(header.render()))
        app.open_run(HOLDER)
        await until_loaded(pilot)
        holder_header = app.screen.query_one("#run-header", Static)
        await wait_for(pilot, lambda: HOLDER in str(holder_header.render()))
        assert "waiting" not in str(holder_header.render())
