"""Resume a finished run from the run detail: refused for a live run, asked first, then started."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.ledger.reader import LedgerReader
from ledger_tui.screens.confirm import ConfirmScreen
from ledger_tui.screens.run_detail import RunDetailScreen
from tests.tui.conftest import make_app, until_loaded, wait_for

ENGINE = Path(sys.executable).parent / "engine"


def noting(app: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    notes: list[str] = []
    notify = app.notify

    def note(message: str, **options: Any) -> None:
        notes.append(message)
        notify(message, **options)

    monkeypatch.setattr(app, "notify", note)
    return notes


async def test_a_live_run_is_not_resumed(ledger: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(ledger)
    notes = noting(app, monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        await until_loaded(pilot)
        await pilot.press("enter")  # the active run
        await until_loaded(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: "Only a finished run can be resumed." in notes)
        assert isinstance(app.screen, RunDetailScreen)


@pytest.mark.slow
async def test_resume_a_failed_run_after_confirmation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = tmp_path / ".ledger" / "framework.db"
    marker = tmp_path / "failed-once"
    flaky = f"if [ -e {marker} ]; then exit 0; fi; touch {marker}; exit 1"
    plan = {"name": "flaky", "steps": [{"id": "a", "command": "sh", "args": ["-c", flaky]}]}
    plan_file = tmp_path / "flaky.json"
    plan_file.write_text(json.dumps(plan), encoding="utf-8")
    env = {**os.environ, "LEDGER_DB": ""}
    first = subprocess.run(
        [str(ENGINE), "run", str(plan_file), "-q", "--ledger", str(ledger)],
        env=env, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert first.returncode == 1
    with LedgerReader.open(ledger) as reader:
        [failed] = reader.list_runs()

    def resumed() -> list[Any]:
        with LedgerReader.open(ledger) as reader:
            return [r for r in reader.list_runs() if r.resumed_from == failed.id]

    app = make_app(ledger, clock=None)
    notes = noting(app, monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        await until_loaded(pilot)
        app.open_run(failed.id)
        await until_loaded(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        assert resumed() == []
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: any("Started engine resume" in n for n in notes))
        await wait_for(pilot, lambda: bool(resumed()) and resumed()[0].status.is_final, 60)
    assert str(resumed()[0].status) == "succeeded"
