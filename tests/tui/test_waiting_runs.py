"""Two real engines contend for a concurrency group: the dashboard shows the second `waiting`,
with the run it waits for, in the Runs list and in its run detail's header."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from textual.widgets import Static

from engine.ledger.reader import LedgerReader
from ledger_tui.screens.run_detail import RunDetailScreen
from ledger_tui.screens.runs import SHORT_ID
from ledger_tui.widgets.live_table import LiveTable
from tests.support import wait_for as wait_until
from tests.tui.conftest import make_app, until_loaded, wait_for
from tests.tui.test_live import ENGINE

pytestmark = pytest.mark.slow


def group_plan(tmp_path: Path, gate: Path) -> Path:
    wait = f"for i in $(seq 600); do [ -e {gate} ] && exit 0; sleep 0.05; done; exit 1"
    plan = {
        "name": "deploy",
        "concurrency_group": "deploy",
        "steps": [{"id": "ship", "command": "sh", "args": ["-c", wait]}],
    }
    path = tmp_path / "deploy.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    return path


def start(plan: Path, ledger: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(ENGINE), "run", str(plan), "--ledger", str(ledger), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "LEDGER_DB": ""},
    )


def lease_states(ledger: Path) -> list[str]:
    if not ledger.exists():
        return []
    try:
        with LedgerReader.open(ledger) as reader:
            return sorted(lease.state for lease in reader.leases())
    except Exception:  # not initialised yet
        return []


def cell(table: LiveTable, key: str, column: str) -> str:
    return str(table.get_cell(key, column))


async def test_a_run_waiting_for_its_group_shows_waiting_and_for_whom(tmp_path: Path) -> None:
    ledger = tmp_path / ".ledger" / "framework.db"
    gate = tmp_path / "gate"
    plan = group_plan(tmp_path, gate)
    first = start(plan, ledger)
    engines = [first]
    try:
        wait_until(lambda: lease_states(ledger) == ["held"], timeout=60)
        engines.append(start(plan, ledger))
        wait_until(lambda: lease_states(ledger) == ["held", "waiting"], timeout=60)
        with LedgerReader.open(ledger) as reader:
            waiter, holder = (run.id for run in reader.list_runs(limit=2))
        app = make_app(ledger, clock=None)
        async with app.run_test(size=(160, 30)) as pilot:
            await until_loaded(pilot)
            table = app.screen.query_one(LiveTable)
            await wait_for(pilot, lambda: waiter in table.keys and holder in table.keys)
            assert "waiting" in cell(table, waiter, "status")
            note = f'waiting for run {holder[:SHORT_ID]} (concurrency group "deploy")'
            assert cell(table, waiter, "current") == note
            assert "running" in cell(table, holder, "status")
            app.open_run(waiter)
            await until_loaded(pilot)
            screen = app.screen
            assert isinstance(screen, RunDetailScreen)
            header = screen.query_one("#run-header", Static)
            await wait_for(pilot, lambda: str(header.render()).startswith("⧗ waiting"))
            assert f'concurrency group "deploy" (held by run {holder})' in str(header.render())
            gate.touch()
            # Once the holder ends, the waiter holds the group: it runs, then it ends.
            await wait_for(pilot, lambda: not str(header.render()).startswith("⧗ waiting"))
            assert "waiting" not in str(header.render()).splitlines()[0]
    finally:
        gate.touch()
        for proc in engines:
            assert proc.wait(timeout=60) == 0
