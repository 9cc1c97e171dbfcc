"""Circuit breakers in the dashboard, with real engine runs: the run detail says which step
failed fast on an open circuit (its key and until when), and the Stats view lists the circuits
open or half-open now, derived from the ledger."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from textual.widgets import Static

from engine.ledger.reader import LedgerReader
from ledger_tui.screens.run_detail import RunDetailScreen
from ledger_tui.widgets.circuits import CircuitsPanel
from ledger_tui.widgets.live_table import LiveTable
from tests.support import wait_for as wait_until
from tests.tui.conftest import make_app, until_loaded, wait_for
from tests.tui.test_live import ENGINE

pytestmark = pytest.mark.slow


def run_twice(tmp_path: Path, open_for: str) -> tuple[Path, list[str]]:
    """Two runs of a failing step whose circuit opens on its first failure."""
    circuit = {"failures": 1, "within": "10m", "open_for": open_for, "key": "payments-api"}
    plan = {"name": "cb", "steps": [{"id": "charge", "command": "false", "circuit": circuit}]}
    path = tmp_path / "cb.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    ledger = tmp_path / ".ledger" / "framework.db"
    env = {**os.environ, "LEDGER_DB": ""}
    for _ in range(2):
        command = [str(ENGINE), "run", str(path), "--ledger", str(ledger), "-q"]
        done = subprocess.run(command, capture_output=True, env=env, timeout=60, check=False)
        assert done.returncode == 1, done.stderr
    with LedgerReader.open(ledger) as reader:
        return ledger, [run.id for run in reader.list_runs(limit=2)]  # newest first


def panel_text(app: object) -> str:
    from ledger_tui.app import LedgerApp

    assert isinstance(app, LedgerApp)
    return str(app.screen.query_one(CircuitsPanel).render())


async def test_an_open_circuit_in_the_run_detail_and_the_stats_view(tmp_path: Path) -> None:
    ledger, (fast_failed, _) = run_twice(tmp_path, "10m")
    app = make_app(ledger, clock=None)
    async with app.run_test(size=(160, 40)) as pilot:
        await until_loaded(pilot)
        app.open_run(fast_failed)
        await until_loaded(pilot)
        screen = app.screen
        assert isinstance(screen, RunDetailScreen)
        header = screen.query_one("#run-header", Static)
        await wait_for(pilot, lambda: "circuit open: step charge:" in str(header.render()))
        text = str(header.render())
        assert 'circuit "payments-api" is open (1 failure within 10m' in text
        assert "next trial after" in text
        steps = screen.query_one("#steps-table", LiveTable)
        assert str(steps.get_cell("charge", "exit")) == "circuit_open"
        await pilot.press("4")
        await until_loaded(pilot)
        await wait_for(pilot, lambda: '"payments-api"' in panel_text(app))
        shown = panel_text(app)
        assert shown.startswith("open")
        assert "1 of 1 failures within 10m" in shown and "next trial after" in shown


async def test_a_circuit_past_open_for_is_half_open(tmp_path: Path) -> None:
    ledger, _ = run_twice(tmp_path, "1s")
    with LedgerReader.open(ledger) as reader:
        (report,) = reader.circuits()
    reopens_at = report.state.reopens_at
    assert reopens_at is not None and report.describe(reopens_at - 0.5) == "open"
    wait_until(lambda: time.time() > reopens_at + 0.1, timeout=30)
    app = make_app(ledger, clock=None)
    async with app.run_test(size=(160, 40)) as pilot:
        await until_loaded(pilot)
        await pilot.press("4")
        await until_loaded(pilot)
        await wait_for(pilot, lambda: '"payments-api"' in panel_text(app))
        assert panel_text(app).startswith("half-open")
