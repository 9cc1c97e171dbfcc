"""A real `engine run` appends while the dashboard runs: rows appear, the selection stays put."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledger_tui.widgets.live_table import LiveTable
from tests.tui.conftest import make_app, until_loaded, wait_for
from tests.tui.ledger_builder import FAILED_RUN

ENGINE = Path(sys.executable).parent / "engine"

pytestmark = pytest.mark.slow


def gated_plan(tmp_path: Path, gate: Path) -> Path:
    """A run that stays active until the test creates `gate` (a bound on it if the test fails)."""
    wait = f"for i in $(seq 600); do [ -e {gate} ] && exit 0; sleep 0.05; done; exit 1"
    plan = {
        "name": "gated",
        "steps": [
            {"id": "one", "command": "sh", "args": ["-c", wait]},
            {"id": "two", "command": "true", "depends_on": ["one"]},
        ],
    }
    path = tmp_path / "gated.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    return path


async def test_new_run_appears_while_selection_stays(ledger: Path, tmp_path: Path) -> None:
    app = make_app(ledger, clock=None)
    async with app.run_test(size=(120, 30)) as pilot:
        await until_loaded(pilot)
        table = app.screen.query_one(LiveTable)
        await pilot.press("down", "down")
        assert table.selected_key == FAILED_RUN
        selected_row = table.cursor_row
        gate = tmp_path / "gate"
        engine = subprocess.Popen(
            [str(ENGINE), "run", str(gated_plan(tmp_path, gate)), "--ledger", str(ledger), "-q"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "LEDGER_DB": ""},
        )
        try:
            original = set(table.keys)
            await wait_for(pilot, lambda: len(set(table.keys) - original) == 1)
            (new_id,) = set(table.keys) - original
            assert table.keys[0] == new_id  # an active run goes on top
            assert table.selected_key == FAILED_RUN
            assert table.cursor_row == selected_row + 1  # moved down with its row
            gate.touch()
            await wait_for(pilot, lambda: engine.poll() is not None)
            assert engine.returncode == 0, engine.stderr.read() if engine.stderr else ""
            app.screen.refetch()
            await wait_for(pilot, lambda: "succeeded" in str(table.get_row(new_id)[0]))
            assert table.selected_key == FAILED_RUN
        finally:
            if engine.poll() is None:
                engine.kill()
            engine.wait()
