"""Extend a live run's timeout from the run detail (`T`), with a real engine: a duration, a
confirmation, the ledger request `engine extend` writes, and what the engine answered."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Static

from engine.ledger.reader import LedgerReader
from ledger_tui.screens.confirm import ConfirmScreen
from ledger_tui.screens.extend import ExtendScreen, parse_duration
from ledger_tui.screens.run_detail import RunDetailScreen
from ledger_tui.widgets.live_table import LiveTable
from tests.support import wait_for as wait_until
from tests.tui.conftest import make_app, until_loaded, wait_for
from tests.tui.test_live import ENGINE

pytestmark = pytest.mark.slow


def write_plan(tmp_path: Path, gate: Path) -> Path:
    wait = f"for i in $(seq 1200); do [ -e {gate} ] && exit 0; sleep 0.05; done; exit 1"
    plan = {
        "name": "slow",
        "globals": {"timeout_sec": 600},
        "steps": [
            {"id": "quick", "command": "true"},
            {"id": "work", "command": "sh", "args": ["-c", wait], "timeout_sec": 300},
        ],
    }
    path = tmp_path / "slow.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    return path


def running_run(ledger: Path) -> str | None:
    if not ledger.exists():
        return None
    try:
        with LedgerReader.open(ledger) as reader:
            runs = reader.list_runs(limit=1)
            if runs and any(s.status == "running" for s in reader.run_steps(runs[0].id)):
                return runs[0].id
    except Exception:  # not initialised yet
        return None
    return None


def test_durations() -> None:
    assert parse_duration("10m") == 600 and parse_duration(" 1h30m ") == 5400
    assert parse_duration("90") is None and parse_duration("abc") is None
    assert parse_duration("0s") is None and parse_duration("") is None


async def test_t_extends_a_running_step_and_the_run_and_says_what_the_engine_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = tmp_path / ".ledger" / "framework.db"
    gate = tmp_path / "gate"
    engine = subprocess.Popen(
        [str(ENGINE), "run", str(write_plan(tmp_path, gate)), "--ledger", str(ledger), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "LEDGER_DB": ""},
    )
    try:
        run_id = wait_until(lambda: running_run(ledger), timeout=60)
        app = make_app(ledger, clock=None)
        notes: list[str] = []
        notify = app.notify

        def noting(message: str, **options: Any) -> None:
            notes.append(message)
            notify(message, **options)

        monkeypatch.setattr(app, "notify", noting)
        async with app.run_test(size=(140, 30)) as pilot:
            await until_loaded(pilot)
            app.open_run(run_id)
            await until_loaded(pilot)
            screen = app.screen
            assert isinstance(screen, RunDetailScreen)
            steps = screen.query_one("#steps-table", LiveTable)
            await wait_for(pilot, lambda: screen.selected_step == "work")
            await pilot.press("T")
            await wait_for(pilot, lambda: isinstance(app.screen, ExtendScreen))
            dialog = app.screen
            await pilot.press("a", "b", "c", "enter")  # not a duration: said, and it stays open
            problem = dialog.query_one("#extend-problem", Static)
            await wait_for(pilot, lambda: "'abc' is not a duration" in str(problem.render()))
            assert app.screen is dialog
            dialog.query_one(Input).value = "10m"
            await pilot.click("#extend-step")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            question = str(app.screen.query_one("#confirm-question", Static).render())
            assert question == "Extend the timeout of step work by 10m?"
            await pilot.press("y")
            await wait_for(pilot, lambda: any("step work now ends at" in n for n in notes))
            # The run's own timeout: enter in the box picks the run.
            await pilot.press("T")
            await wait_for(pilot, lambda: isinstance(app.screen, ExtendScreen))
            await pilot.press("5", "m", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_for(pilot, lambda: any(f"run {run_id} now ends at" in n for n in notes))
            with LedgerReader.open(ledger) as reader:
                events = reader.events(run_id=run_id, types=["timeout_extended"])
            assert [e.step_id for e in events] == ["work", None]
            # A finished step is not offered: the dialog says why, only the run's is.
            steps.select_key("quick")
            await wait_for(pilot, lambda: screen.selected_step == "quick")
            await pilot.press("T")
            await wait_for(pilot, lambda: isinstance(app.screen, ExtendScreen))
            note = str(app.screen.query_one("#extend-problem", Static).render())
            assert note == "Step quick is succeeded: only a running step's can be extended."
            assert not app.screen.query("#extend-step")
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen)
            gate.touch()
            assert await_exit(engine)
            await wait_for(pilot, lambda: "succeeded" in str(steps.get_cell("work", "status")))
            await wait_for(pilot, lambda: finished_run(screen))
            await pilot.press("T")
            finished = f"Run {run_id} already finished (succeeded): only a live run's timeout"
            await wait_for(pilot, lambda: any(n.startswith(finished) for n in notes))
            assert not isinstance(app.screen, ExtendScreen)
    finally:
        gate.touch()
        engine.wait(timeout=60)


def finished_run(screen: RunDetailScreen) -> bool:
    detail, _ = screen.extend_context()
    return detail is not None and detail.status.is_final


def await_exit(engine: subprocess.Popen[bytes]) -> bool:
    return engine.wait(timeout=60) == 0
