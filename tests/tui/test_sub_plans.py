"""Sub-plans in the dashboard, with a real engine: a plan step shows its child run, enter opens
it, `u` goes back up to the parent; the Runs list marks child runs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from textual.widgets import Static

from engine.ledger.reader import LedgerReader
from ledger_tui.screens.run_detail import RunDetailScreen
from ledger_tui.screens.runs import RunsScreen
from ledger_tui.widgets.live_table import LiveTable
from tests.support import wait_for as wait_until
from tests.tui.conftest import make_app, until_loaded, wait_for
from tests.tui.test_live import ENGINE

pytestmark = pytest.mark.slow


def write_plans(tmp_path: Path, gate: Path) -> Path:
    wait = f"for i in $(seq 600); do [ -e {gate} ] && exit 0; sleep 0.05; done; exit 1"
    child = {"name": "child", "steps": [{"id": "work", "command": "sh", "args": ["-c", wait]}]}
    parent = {
        "name": "parent",
        "steps": [
            {"id": "prepare", "command": "true"},
            {"id": "deploy", "plan": "child.json", "depends_on": ["prepare"]},
        ],
    }
    (tmp_path / "child.json").write_text(json.dumps(child), encoding="utf-8")
    path = tmp_path / "parent.json"
    path.write_text(json.dumps(parent), encoding="utf-8")
    return path


def run_ids(ledger: Path) -> dict[str, str]:
    """Plan name -> run id, once both runs exist."""
    if not ledger.exists():
        return {}
    try:
        with LedgerReader.open(ledger) as reader:
            return {run.plan_name: run.id for run in reader.list_runs(limit=10)}
    except Exception:  # not initialised yet
        return {}


def header_text(screen: object) -> str:
    assert isinstance(screen, RunDetailScreen)
    return str(screen.query_one("#run-header", Static).render())


async def test_a_plan_step_opens_its_child_run_and_u_goes_back_up(tmp_path: Path) -> None:
    ledger = tmp_path / ".ledger" / "framework.db"
    gate = tmp_path / "gate"
    engine = subprocess.Popen(
        [str(ENGINE), "run", str(write_plans(tmp_path, gate)), "--ledger", str(ledger), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "LEDGER_DB": ""},
        cwd=tmp_path,
    )
    try:
        ids = wait_until(
            lambda: (found := run_ids(ledger)).keys() >= {"parent", "child"} and found, timeout=60
        )
        parent, child = ids["parent"], ids["child"]
        app = make_app(ledger, clock=None)
        async with app.run_test(size=(160, 30)) as pilot:
            await until_loaded(pilot)
            runs = app.screen.query_one(LiveTable)
            await wait_for(pilot, lambda: child in runs.keys)
            assert str(runs.get_cell(child, "plan")) == "↳ child"  # a sub-plan's run is marked
            assert str(runs.get_cell(parent, "plan")) == "parent"
            app.open_run(parent)
            await until_loaded(pilot)
            screen = app.screen
            assert isinstance(screen, RunDetailScreen)
            steps = screen.query_one("#steps-table", LiveTable)
            # The running plan step is where the cursor starts; its reason names the child run.
            await wait_for(pilot, lambda: steps.selected_key == "deploy")
            await wait_for(
                pilot,
                lambda: (
                    str(steps.get_cell("deploy", "reason")) == f"run {child} running (⏎ opens it)"
                ),
            )
            await pilot.press("enter")
            await wait_for(pilot, lambda: getattr(app.screen, "run_id", None) == child)
            child_screen = app.screen
            await until_loaded(pilot)
            note = f"sub-plan of run {parent}, step deploy (u opens it)"
            await wait_for(pilot, lambda: note in header_text(child_screen))
            await pilot.press("u")  # back to the parent, underneath
            await wait_for(pilot, lambda: app.screen is screen)
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
            app.open_run(child)  # from the Runs list: u opens the parent in its place
            await wait_for(pilot, lambda: getattr(app.screen, "run_id", None) == child)
            await until_loaded(pilot)
            await wait_for(pilot, lambda: note in header_text(app.screen))
            await pilot.press("u")
            await wait_for(pilot, lambda: getattr(app.screen, "run_id", None) == parent)
            assert len(app.screen_stack) == 2  # Runs, then the parent: not stacked on the child
            await pilot.press("u")  # a top-level run has no parent: one clear sentence
            await wait_for(pilot, lambda: getattr(app.screen, "run_id", None) == parent)
    finally:
        gate.touch()
        assert engine.wait(timeout=60) == 0
